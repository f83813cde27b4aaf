"""One round of the router wait: a `.waitForTaskToken` task, answered here when the outcome is already known
and otherwise by the router automation's confirmation (router_confirmed)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.router import park_for_router
from ..models import TargetRotation
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event["item"])
    locks = clients.locks(os.environ["LOCK_TABLE_NAME"])
    outcome = park_for_router(
        item,
        str(event["taskToken"]),
        clients.waits(os.environ["WAITS_TABLE_NAME"]),
        clients.tasks(),
        locks,
        RuntimeSettings.from_env(),
        abort_requested=locks.abort_requested(item.lock_owner),
    )
    return {"outcome": outcome}  # the task's result is the answer sent with its token, not this
