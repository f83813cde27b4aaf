"""One tick of the watcher (the Express workflow's Lambda): read the fleet once, answer what resolved."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients, clock
from ..logic.watcher import FIRST_TICK, tick
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    watcher = clients.executions(os.environ["WATCHER_STATE_MACHINE_ARN"])
    dx = clients.directconnect(paced=False)  # the watcher's reads are set aside from the budget
    result = tick(
        str(event["watcher"]),
        float(event["startedAt"]),
        float(event.get("leaseUntil") or 0),
        float(event.get("beatenAt") or 0),
        clients.waits(os.environ["WAITS_TABLE_NAME"]),
        lambda lags: dx.describe_all(lags=lags),
        clients.tasks(),
        clients.locks(os.environ["LOCK_TABLE_NAME"]),
        clients.events(),
        lambda name: watcher.start(name, FIRST_TICK | {"startedAt": clock.now()}),
        RuntimeSettings.from_env(),
    )
    return {
        "next": result.next,
        "waitSeconds": result.wait_seconds,
        "leaseUntil": result.lease_until,
        "parked": result.parked,
        "beatenAt": result.beaten_at,
    }
