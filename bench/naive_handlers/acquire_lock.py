"""The handler as it was when the naive design was frozen (the workflow has merged or changed it since):
Take the target's lock, or report how long to keep waiting for it."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.lock import acquire_lock
from macsec_rotation.models import TargetRotation
from macsec_rotation.settings import RuntimeSettings


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event["item"])
    locks = clients.locks(os.environ["LOCK_TABLE_NAME"])
    return acquire_lock(item, locks, str(event["executionId"]), RuntimeSettings.from_env()).dump()
