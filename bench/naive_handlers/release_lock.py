"""The handler as it was when the naive design was frozen (the workflow has merged or changed it since):
Give the target's lock back, on success and on every failure path."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.lock import release_lock
from macsec_rotation.models import TargetRotation


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    caught = event.pop("caught", None)  # set by the iteration's Catch after an unexpected error
    item = TargetRotation.model_validate(event)
    return release_lock(item, clients.locks(os.environ["LOCK_TABLE_NAME"]), item.lock_owner or "", caught).dump()
