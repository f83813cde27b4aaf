"""A dry run: what the rotation Prepare planned would do on each target, changing nothing."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.plan import preview_plan
from ..models import RotationPlan
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = RotationPlan.model_validate(event)
    preview = preview_plan(plan, clients.secrets(), clients.directconnect(), RuntimeSettings.from_env())
    return preview.dump()
