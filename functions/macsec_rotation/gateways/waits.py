"""Parked executions, the watcher's lease and the router confirmations, in one DynamoDB table (encrypted with
the stack's key: a task token lets whoever holds it answer the waiting task)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .aws_errors import conditionally, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

CONFIRMATION_TTL_SECONDS = 7 * 24 * 3600
WATCHED = "watch#"
LEASE_KEY = {"id": {"S": "lease#watcher"}}


@dataclass(frozen=True)
class Watched:
    """A task parked on a condition the watcher evaluates: its item (the state data, identifiers only) as JSON."""

    wait_id: str
    condition: str
    task_token: str
    item: str
    parked_at: float
    deadline: float

    @property
    def target(self) -> str:
        """The target waited on (the last part of the wait's id)."""
        return self.wait_id.rsplit("#", 1)[-1]


def watched_id(execution_id: str, target: str) -> str:
    return f"{WATCHED}{execution_id}#{target}"


def _confirmation_key(target: str, ckn: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"confirmed#{target}#{ckn.lower()}"}}


class WaitsGateway:
    def __init__(self, client: BaseClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record_confirmation(self, target: str, ckn: str, now: float) -> None:
        """Kept whether or not a task waits yet: a confirmation may arrive before the workflow asks for it."""
        with transient_errors_typed():
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_confirmation_key(target, ckn),
                    "confirmedAt": {"N": str(int(now))},
                    "expiresAt": {"N": str(int(now + CONFIRMATION_TTL_SECONDS))},
                },
            )

    def forget_confirmation(self, target: str, ckn: str) -> None:
        with transient_errors_typed():
            self._client.delete_item(TableName=self._table, Key=_confirmation_key(target, ckn))

    def confirmed(self, target: str, ckn: str) -> bool:
        with transient_errors_typed():
            answer = self._client.get_item(
                TableName=self._table, Key=_confirmation_key(target, ckn), ConsistentRead=True
            )
        return "Item" in answer

    # ---- what the watcher watches ----

    def watch(self, watched: Watched) -> None:
        """Park the task; parking again for the same wait (a retry, or after a watcher stopped answering) takes
        the new token and keeps when the wait began and its deadline."""
        with transient_errors_typed():
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": watched.wait_id}},
                UpdateExpression=(
                    "SET #condition = :condition, taskToken = :token, #item = :item, "
                    "parkedAt = if_not_exists(parkedAt, :now), deadline = if_not_exists(deadline, :deadline), "
                    "expiresAt = if_not_exists(expiresAt, :expires)"
                ),
                ExpressionAttributeNames={"#condition": "condition", "#item": "item"},
                ExpressionAttributeValues={
                    ":condition": {"S": watched.condition},
                    ":token": {"S": watched.task_token},
                    ":item": {"S": watched.item},
                    ":now": {"N": repr(watched.parked_at)},
                    ":deadline": {"N": repr(watched.deadline)},
                    ":expires": {"N": str(int(watched.deadline + CONFIRMATION_TTL_SECONDS))},
                },
            )

    def watched(self) -> list[Watched]:
        """Every parked task (a strongly consistent scan: the table holds the waits of one account and Region)."""
        found: list[Watched] = []
        start: dict[str, Any] | None = None
        with transient_errors_typed():
            while True:
                page = self._client.scan(
                    TableName=self._table,
                    ConsistentRead=True,
                    FilterExpression="begins_with(id, :watched)",
                    ExpressionAttributeValues={":watched": {"S": WATCHED}},
                    **({"ExclusiveStartKey": start} if start else {}),
                )
                found += [
                    Watched(
                        i["id"]["S"],
                        i["condition"]["S"],
                        i["taskToken"]["S"],
                        i["item"]["S"],
                        float(i["parkedAt"]["N"]),
                        float(i["deadline"]["N"]),
                    )
                    for i in page.get("Items", [])
                ]
                start = page.get("LastEvaluatedKey")
                if not start:
                    return found

    def settle(self, watched: Watched) -> bool:
        """Take the parked task out, if it is still the one parked (not re-parked with a new token meanwhile):
        exactly one party answers a token."""
        written = self._conditionally(
            "delete_item",
            Key={"id": {"S": watched.wait_id}},
            ConditionExpression="taskToken = :token",
            ExpressionAttributeValues={":token": {"S": watched.task_token}},
        )
        return written is not None

    def keep(self, watched: Watched, item: str) -> None:
        """Record the state data the watcher carries between ticks (a settle period's start), if the task is still
        the one parked."""
        self._conditionally(
            "update_item",
            Key={"id": {"S": watched.wait_id}},
            UpdateExpression="SET #item = :item",
            ConditionExpression="taskToken = :token",
            ExpressionAttributeNames={"#item": "item"},
            ExpressionAttributeValues={":item": {"S": item}, ":token": {"S": watched.task_token}},
        )

    # ---- the watcher's lease: one watcher at a time ----

    def take_lease(self, holder: str, now: float, expires_at: float, take_over_after: float | None = None) -> bool:
        """Free, expired (a crashed watcher), already this holder's, or (with `take_over_after`) held by a watcher
        whose next tick comes later than that: True when it is this holder's now."""
        condition = "attribute_not_exists(id) OR expiresAt < :now OR holder = :me"
        values: dict[str, Any] = {":now": {"N": repr(now)}}
        if take_over_after is not None:
            condition += " OR nextTickAt > :soon"
            values[":soon"] = {"N": repr(take_over_after)}
        return self._put_lease(holder, expires_at, now, condition, values)

    def renew_lease(self, holder: str, now: float, expires_at: float, next_tick_at: float) -> bool:
        return self._put_lease(holder, expires_at, next_tick_at, "holder = :me", {})

    def hand_over_lease(self, holder: str, successor: str, now: float, expires_at: float) -> bool:
        written = self._conditionally(
            "put_item",
            Item={**LEASE_KEY, "holder": {"S": successor}, "expiresAt": {"N": repr(expires_at)}},
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": holder}},
        )
        return written is not None

    def release_lease(self, holder: str) -> None:
        self._conditionally(
            "delete_item",
            Key=LEASE_KEY,
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": holder}},
        )

    def _put_lease(
        self, holder: str, expires_at: float, next_tick_at: float, condition: str, values: dict[str, Any]
    ) -> bool:
        """The lease item: who holds it, until when, and when its watcher looks next."""
        written = self._conditionally(
            "put_item",
            Item={
                **LEASE_KEY,
                "holder": {"S": holder},
                "expiresAt": {"N": repr(expires_at)},
                "nextTickAt": {"N": repr(next_tick_at)},
            },
            ConditionExpression=condition,
            ExpressionAttributeValues={":me": {"S": holder}, **values},
        )
        return written is not None

    def _conditionally(self, operation: str, **request: Any) -> dict[str, Any] | None:
        """A conditional write to the table; None when its condition did not hold."""
        return conditionally(getattr(self._client, operation), TableName=self._table, **request)
