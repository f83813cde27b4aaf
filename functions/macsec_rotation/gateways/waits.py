"""Parked executions and the router confirmations they wait for, in one DynamoDB table (encrypted with the
stack's key: a task token lets whoever holds it answer the waiting task)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from .aws_errors import error_code, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

CONFIRMATION_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Parked:
    execution_id: str
    ckn: str
    task_token: str


def _wait_key(target: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"wait#{target}"}}


def _confirmation_key(target: str, ckn: str) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"confirmed#{target}#{ckn.lower()}"}}


class WaitsGateway:
    def __init__(self, client: BaseClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def park(self, target: str, parked: Parked, expires_at: float) -> None:
        """Record the task waiting on the target (one at a time: its lock); a later round replaces the token."""
        with transient_errors_typed():
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_wait_key(target),
                    "executionId": {"S": parked.execution_id},
                    "ckn": {"S": parked.ckn.lower()},
                    "taskToken": {"S": parked.task_token},
                    "expiresAt": {"N": str(int(expires_at))},
                },
            )

    def claim(self, target: str, ckn: str) -> Parked | None:
        """Take the task waiting on target for ckn, so that exactly one party answers it; None when no task
        waits for that CKN (another was answered, or waits for another key)."""
        with transient_errors_typed():
            try:
                answer = self._client.delete_item(
                    TableName=self._table,
                    Key=_wait_key(target),
                    ConditionExpression="ckn = :ckn",
                    ExpressionAttributeValues={":ckn": {"S": ckn.lower()}},
                    ReturnValues="ALL_OLD",
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                return None
        item = answer.get("Attributes", {})
        return Parked(item["executionId"]["S"], item["ckn"]["S"], item["taskToken"]["S"])

    def waiting(self, target: str) -> Parked | None:
        with transient_errors_typed():
            item = self._client.get_item(TableName=self._table, Key=_wait_key(target), ConsistentRead=True).get("Item")
        return Parked(item["executionId"]["S"], item["ckn"]["S"], item["taskToken"]["S"]) if item else None

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
