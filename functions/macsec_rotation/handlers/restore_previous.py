"""Re-associate the secret's AWSPREVIOUS pair after encryption went down."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.cleanup import restore_previous_key
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return restore_previous_key(item, clients.secrets(), clients.directconnect()).dump()
