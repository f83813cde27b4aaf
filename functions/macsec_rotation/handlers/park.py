"""Park the execution on a condition the watcher evaluates (a `.waitForTaskToken` task): the watcher answers
with the state data once the condition resolved."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients, clock
from ..logic.watcher import FIRST_TICK, park
from ..models import TargetRotation
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event["item"])
    watcher = clients.executions(os.environ["WATCHER_STATE_MACHINE_ARN"])
    park(
        str(event["condition"]),
        item,
        str(event["taskToken"]),
        int(event["timeoutSeconds"]),
        clients.waits(os.environ["WAITS_TABLE_NAME"]),
        clients.locks(os.environ["LOCK_TABLE_NAME"]),
        lambda name: watcher.start(name, FIRST_TICK | {"startedAt": clock.now()}),
        RuntimeSettings.from_env(),
    )
    return {"parked": True}  # the task's result is the watcher's answer, not this
