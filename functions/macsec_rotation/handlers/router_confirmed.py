"""`MACsec Router Key Installed` on the stack's router bus: the router holds the CKN now."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.router import confirm_router_key
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = confirm_router_key(event.get("detail"), clients.waits(os.environ["WAITS_TABLE_NAME"]), clients.tasks())
    return {"outcome": outcome}
