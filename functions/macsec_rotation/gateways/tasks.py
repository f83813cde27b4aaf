"""Answering an execution's parked task (`.waitForTaskToken`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from .aws_errors import error_code, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

# The task ended already (answered, timed out, its execution stopped): the answer has nobody to go to.
GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class TasksGateway:
    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def answer(self, task_token: str, status: str) -> bool:
        """The parked task's result: a status string its state writes to $.status. False when it had ended."""
        with transient_errors_typed():
            try:
                self._client.send_task_success(taskToken=task_token, output=json.dumps(status))
            except ClientError as error:
                if error_code(error) not in GONE:
                    raise
                return False
        return True
