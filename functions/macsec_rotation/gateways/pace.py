"""The stack's Direct Connect request budget (dxRequestsPerSecond), shared by every function that calls Direct
Connect: each call takes the next free slot of one token bucket in DynamoDB and waits for it. A fleet of
rotations started at once then asks Direct Connect for no more than the budget, instead of being throttled and
retried (each retry a billed transition, with a backoff that stretches the fleet). The watcher's own reads (one
paged listing of connections and one of LAGs a tick) are set aside from the budget when the stack is deployed.

Direct Connect's API rate limits are unpublished (DOMAIN.md): the budget is a setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import clock
from ..errors import DirectConnectBusy
from ..observability import logger
from .aws_errors import conditionally, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

PACE_KEY = {"id": {"S": "directconnect"}}
# Longer than this in the queue: the step gives way (DirectConnectBusy, retried by the state machine with backoff)
# rather than sleep in Lambda, which bills the wait.
MAX_WAIT_SECONDS = 20.0
ATTEMPTS = 5


class Pace:
    def __init__(self, client: BaseClient, table_name: str, requests_per_second: float) -> None:
        self._client = client
        self._table = table_name
        self._gap = 1.0 / requests_per_second

    def wait_turn(self, **_: Any) -> None:
        """botocore's before-call hook: take the next slot of the budget and wait until it comes."""
        now = clock.now()
        wait = self.take(now) - now
        if wait > 0:
            logger.debug("waiting for a Direct Connect slot", seconds=round(wait, 3))
            clock.sleep(wait)

    def take(self, now: float) -> float:
        """The slot (epoch seconds) this call may go at: the next free one when the budget is in use, else now. A
        queue longer than MAX_WAIT_SECONDS takes no slot: the step gives way (DirectConnectBusy)."""
        latest = now + MAX_WAIT_SECONDS
        for _ in range(ATTEMPTS):
            taken = self._update(
                "SET nextFree = nextFree + :gap",
                "nextFree BETWEEN :now AND :latest",  # in use: queue behind the last slot given
                {":gap": {"N": repr(self._gap)}, ":now": {"N": repr(now)}, ":latest": {"N": repr(latest)}},
            )
            if taken is not None:
                return float(taken["nextFree"]["N"]) - self._gap  # the slot before the one it left free
            taken = self._update(
                "SET nextFree = :next",
                "attribute_not_exists(nextFree) OR nextFree < :now",  # idle: this call goes now
                {":next": {"N": repr(now + self._gap)}, ":now": {"N": repr(now)}},
            )
            if taken is not None:
                return now
            if self._next_free() > latest:
                break
        raise DirectConnectBusy(
            f"the stack's Direct Connect budget is taken for more than {round(MAX_WAIT_SECONDS)}s by other "
            "rotations; this step is retried later"
        )

    def _next_free(self) -> float:
        with transient_errors_typed():
            item = self._client.get_item(TableName=self._table, Key=PACE_KEY, ConsistentRead=True).get("Item", {})
        return float(item.get("nextFree", {}).get("N", "0"))

    def _update(self, update: str, condition: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """The counter's new value, or None when the condition did not hold."""
        answer = conditionally(
            self._client.update_item,
            TableName=self._table,
            Key=PACE_KEY,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_NEW",
        )
        return None if answer is None else answer.get("Attributes", {})
