"""The handler as it was when the naive design was frozen (the workflow has merged or changed it since):
Raise encryptionMode to the wanted one when every port is encrypted."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.encryption import tighten_encryption
from macsec_rotation.models import TargetRotation


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return tighten_encryption(item, clients.directconnect()).dump()
