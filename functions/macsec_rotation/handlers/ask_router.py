"""Tell the router automation the new key is on Direct Connect (routerConfirmation callback)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.router import ask_router
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.model_validate(event)
    return ask_router(item, clients.events()).dump()
