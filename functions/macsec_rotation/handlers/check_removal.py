"""Poll until the old keys are gone and encryption held across the settle period, watching every port."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.cleanup import check_removal
from ..logic.router import announce_removal
from ..models import TargetRotation
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    checked = check_removal(item, clients.directconnect(), RuntimeSettings.from_env())
    if checked.status == "removed" and item.router_confirmation == "callback":
        announce_removal(checked, clients.events())  # the router may delete the old keys now
    return checked.dump()
