"""The handler as it was when the naive design was frozen (the workflow has merged or changed it since):
Decide again under the lock: the keys or the secret may have changed while this execution waited."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.abort import aborted
from macsec_rotation.logic.prepare import replan_under_lock
from macsec_rotation.models import TargetRotation
from macsec_rotation.settings import RuntimeSettings


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    if clients.locks(os.environ["LOCK_TABLE_NAME"]).abort_requested(item.lock_owner):  # lock held, nothing changed
        return aborted(item, "before it planned").dump()
    plan = replan_under_lock(item, clients.secrets(), clients.directconnect(), RuntimeSettings.from_env())
    # The lock stays with the item whatever the new plan says.
    return plan.model_copy(update={"lock_owner": item.lock_owner}).dump()
