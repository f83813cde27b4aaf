"""Starting executions of the rotation state machine."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .aws_errors import error_code, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient


class ExecutionsGateway:
    def __init__(self, client: BaseClient, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def start(self, name: str, execution_input: dict[str, Any]) -> bool:
        """Start `name`; False when an execution of that name already exists (running or closed in the
        last 90 days), which is how a duplicate delivery of the same event is recognised."""
        with transient_errors_typed():
            try:
                self._client.start_execution(
                    stateMachineArn=self._state_machine_arn, name=name, input=json.dumps(execution_input)
                )
            except ClientError as error:
                if error_code(error) == "ExecutionAlreadyExists":
                    return False
                raise
        return True
