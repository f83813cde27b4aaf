"""EventBridge target: start one rotation per secret version, however often the event arrives."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.intake import start_for_event
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    executions = clients.executions(os.environ["STATE_MACHINE_ARN"])
    return start_for_event(event, clients.secrets(), executions).dump()
