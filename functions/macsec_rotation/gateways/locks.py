"""One DynamoDB item per target: who is rotating it, until when (also the item's TTL)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .aws_errors import conditionally, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient


ABORT_PREFIX = "abort#"
ABORT_TTL_SECONDS = 24 * 3600


class LocksGateway:
    def __init__(self, client: BaseClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def acquire(self, target: str, owner: str, now: float, expires_at: float) -> str | None:
        """Take or renew the target's lock; None when it is ours now, else the current holder."""
        taken = conditionally(
            self._client.put_item,
            TableName=self._table,
            Item={"target": {"S": target}, "owner": {"S": owner}, "expiresAt": {"N": str(int(expires_at))}},
            # Free, expired (a crashed holder: TTL deletion can lag by days), or already ours.
            ConditionExpression="attribute_not_exists(#t) OR expiresAt < :now OR #o = :me",
            ExpressionAttributeNames={"#t": "target", "#o": "owner"},
            ExpressionAttributeValues={":now": {"N": str(int(now))}, ":me": {"S": owner}},
        )
        if taken is not None:
            return None
        item = self._item(target)
        return str((item or {}).get("owner", {}).get("S", "another execution"))

    def holder(self, target: str, now: float) -> str | None:
        """Who holds the target's lock now; None when it is free or expired (a read: the watcher looks every tick,
        and writes only when the lock can be taken)."""
        item = self._item(target)
        if item is None or float(item["expiresAt"]["N"]) < int(now):
            return None
        return str(item["owner"]["S"])

    def release(self, target: str, owner: str) -> None:
        """Give the lock back if it is still ours; releasing twice, or after expiry, is harmless."""
        conditionally(
            self._client.delete_item,
            TableName=self._table,
            Key={"target": {"S": target}},
            ConditionExpression="#o = :me",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":me": {"S": owner}},
        )

    def _item(self, target: str) -> dict[str, Any] | None:
        """The target's lock item as it is now (a strongly consistent read)."""
        with transient_errors_typed():
            held = self._client.get_item(TableName=self._table, Key={"target": {"S": target}}, ConsistentRead=True)
        item: dict[str, Any] | None = held.get("Item")
        return item

    def request_abort(self, execution_id: str, now: float) -> None:
        """Record that the operator wants this execution (its ARN) to stop at its next safe point."""
        with transient_errors_typed():
            self._client.put_item(
                TableName=self._table,
                Item={
                    "target": {"S": ABORT_PREFIX + execution_id},
                    "requestedAt": {"N": str(int(now))},
                    "expiresAt": {"N": str(int(now + ABORT_TTL_SECONDS))},
                },
            )

    def abort_requested(self, execution_id: str | None) -> bool:
        """Whether an operator asked this execution to abort (items of the lock table keyed abort#<ARN>)."""
        if not execution_id:
            return False
        with transient_errors_typed():
            held = self._client.get_item(
                TableName=self._table, Key={"target": {"S": ABORT_PREFIX + execution_id}}, ConsistentRead=True
            )
        return "Item" in held
