"""Accept a console input or a Secrets Manager event and plan the rotation of each target."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.prepare import plan_rotation
from ..logic.requests import request_from_event
from ..observability import logger
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = request_from_event(event)
    logger.append_keys(secret_id=request.secret_id)
    plan = plan_rotation(request, clients.secrets(), clients.directconnect(), RuntimeSettings.from_env())
    return plan.dump()
