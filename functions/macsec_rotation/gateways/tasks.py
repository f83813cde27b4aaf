"""Answering an execution's parked task (`.waitForTaskToken`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .aws_errors import error_code, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

# The task ended already (answered, timed out, its execution stopped): the answer has nobody to go to.
GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class TasksGateway:
    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def answer(self, task_token: str, result: Any) -> bool:
        """The parked task's result (a status string, or the state data); False when the task had ended."""
        return self._send("send_task_success", taskToken=task_token, output=json.dumps(result))

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        """SendTaskFailure: the task ends with `error` (the workflow's Catch for that name routes it); False when
        the task had ended."""
        return self._send("send_task_failure", taskToken=task_token, error=error, cause=cause)

    def beat(self, task_token: str) -> bool:
        """SendTaskHeartbeat: the watcher still answers for the task. False when the task had ended."""
        return self._send("send_task_heartbeat", taskToken=task_token)

    def _send(self, operation: str, **request: Any) -> bool:
        with transient_errors_typed():
            try:
                getattr(self._client, operation)(**request)
            except ClientError as error:
                if error_code(error) not in GONE:
                    raise
                return False
        return True
