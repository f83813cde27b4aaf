"""Give the target's lock back, on success and on every failure path."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.lock import release_lock
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = dict(event["item"])
    caught = state.pop("caught", None)  # set by the iteration's Catch after an unexpected error
    item = TargetRotation.model_validate(state)
    locks = clients.locks(os.environ["LOCK_TABLE_NAME"])
    return release_lock(item, locks, str(event["executionId"]), caught).dump()
