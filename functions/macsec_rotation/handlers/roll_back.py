"""Remove a new key that never became associated, keeping the old ones."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.association import roll_back_new_key
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return roll_back_new_key(item, clients.directconnect()).dump()
