"""Take the target's lock, or report how long to keep waiting for it."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.lock import acquire_lock
from ..models import TargetRotation
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event["item"])
    locks = clients.locks(os.environ["LOCK_TABLE_NAME"])
    return acquire_lock(item, locks, str(event["executionId"]), RuntimeSettings.from_env()).dump()
