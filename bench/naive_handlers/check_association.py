"""Poll the new key's state (one bounded round of the wait loop): the handler as it was when the naive design
was frozen."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.association import check_association
from macsec_rotation.models import TargetRotation


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    # An operator's abort (the lock's owner is this execution) rolls the new key back: old keys are all there.
    abort = clients.locks(os.environ["LOCK_TABLE_NAME"]).abort_requested(item.lock_owner)
    return check_association(item, clients.directconnect(), abort).dump()
