"""Remove a new key that never became associated, keeping the old ones."""

import os
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.association import roll_back_new_key
from ..logic.router import announce_roll_back
from ..models import TargetRotation
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    item = TargetRotation.from_state(event)  # after a diverted wait: the watcher's answer
    rolled_back = roll_back_new_key(item, clients.directconnect())
    if item.router_asked_at is not None:  # the router automation was asked for this key: it may drop it now
        announce_roll_back(rolled_back, clients.events(), clients.waits(os.environ["WAITS_TABLE_NAME"]))
    return rolled_back.dump()
