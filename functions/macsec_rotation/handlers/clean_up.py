"""Tighten encryptionMode if asked, then disassociate every key the new current version supersedes."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.cleanup import clean_up
from ..models import TargetRotation
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return clean_up(item, clients.directconnect(), RuntimeSettings.from_env()).dump()
