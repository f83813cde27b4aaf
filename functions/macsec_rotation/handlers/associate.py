"""Associate the new CKN/CAK with the target; the CAK is read here and goes nowhere else."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.association import associate_new_key
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return associate_new_key(item, clients.secrets(), clients.directconnect()).dump()
