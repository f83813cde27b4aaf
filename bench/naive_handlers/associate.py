"""The handler as it was when the naive design was frozen (the workflow has merged or changed it since):
Associate the new CKN/CAK with the target; the CAK is read here and goes nowhere else."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.association import associate_new_key
from macsec_rotation.models import TargetRotation


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return associate_new_key(item, clients.secrets(), clients.directconnect()).dump()
