"""The handler as it was when the naive design was frozen (the workflow has merged or changed it since):
Disassociate every key the new current version supersedes."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.cleanup import remove_old_keys
from macsec_rotation.models import TargetRotation
from macsec_rotation.settings import RuntimeSettings


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return remove_old_keys(item, clients.directconnect(), RuntimeSettings.from_env()).dump()
