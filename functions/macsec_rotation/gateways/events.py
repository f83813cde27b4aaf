"""Events the workflow puts on EventBridge for the customer's router automation (identifiers, never a CAK)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import ThrottlingException
from .aws_errors import transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

SOURCE = "macsec.rotation"
KEY_READY = "MACsec Key Ready For Router"
ROUTER_KEY_INSTALLED = "MACsec Router Key Installed"
KEY_ROLLED_BACK = "MACsec Key Rolled Back"
OLD_KEYS_REMOVED = "MACsec Old Keys Removed"


class EventsGateway:
    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def put(self, detail_type: str, detail: dict[str, Any], bus: str = "default") -> None:
        """Put one event; a rejected entry (PutEvents answers 200 with FailedEntryCount) is retried by the state
        machine like throttling, since EventBridge rejects entries mostly for passing reasons."""
        entry = {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}
        with transient_errors_typed():
            answer = self._client.put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            raise ThrottlingException(
                f"EventBridge did not take the {detail_type!r} event: {failed.get('ErrorCode')} "
                f"{failed.get('ErrorMessage', '')}"
            )
