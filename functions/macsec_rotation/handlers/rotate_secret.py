"""Secrets Manager rotation function: generates a fresh CKN/CAK pair in four re-runnable steps."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.rotation import rotate, rotation_request
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step, secret_id, token = rotation_request(event)
    rotate(step, secret_id, token, clients.secrets())
    return {}
