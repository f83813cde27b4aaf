"""Poll until the old keys are gone and encryption held across the settle period, watching every port: the
handler as it was when the naive design was frozen (without the router side, which the naive design has not)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from macsec_rotation import clients
from macsec_rotation.handlers._step import step_handler
from macsec_rotation.logic.cleanup import check_removal
from macsec_rotation.models import TargetRotation
from macsec_rotation.settings import RuntimeSettings


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return check_removal(item, clients.directconnect(), RuntimeSettings.from_env()).dump()
