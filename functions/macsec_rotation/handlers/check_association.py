"""Poll the new key's state (one bounded round of the wait loop)."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.association import check_association
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    # An operator's abort (the lock's owner is this execution) rolls the new key back: old keys are all there.
    abort = clients.locks(os.environ["LOCK_TABLE_NAME"]).abort_requested(item.lock_owner)
    return check_association(item, clients.directconnect(), abort).dump()
