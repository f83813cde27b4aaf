"""Take the target's lock (or wait for it), decide again under it, and associate the new key."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.begin import begin_rotation
from ..models import TargetRotation
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event["item"])
    return begin_rotation(
        item,
        str(event["executionId"]),
        clients.locks(os.environ["LOCK_TABLE_NAME"]),
        clients.secrets(),
        clients.directconnect(),
        RuntimeSettings.from_env(),
    ).dump()
