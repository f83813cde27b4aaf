"""Raise encryptionMode to the wanted one when every port is encrypted."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.encryption import tighten_encryption
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return tighten_encryption(item, clients.directconnect()).dump()
