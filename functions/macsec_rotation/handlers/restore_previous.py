"""Put back the keys that were on the link when the rotation planned, until encryption is up again."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.restore import restore_previous_keys
from ..models import TargetRotation
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.from_state(event)  # after a diverted wait: the watcher's answer
    settings = RuntimeSettings.from_env()
    return restore_previous_keys(item, clients.secrets(), clients.directconnect(), settings).dump()
