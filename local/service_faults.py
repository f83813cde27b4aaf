"""Faults for the AWS services moto models as they are (Secrets Manager, DynamoDB, ...): the next `times`
requests of an operation made by the project's functions get the error, as the service would send it.
The scenario's own calls (a customer writing a secret, the report reading it) are not the service's, and
get no fault. Direct Connect's faults live in its emulator, which owns that service."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from moto.core.botocore_stubber import BotocoreStubber

SERVER_ERRORS = {"InternalServiceError", "InternalServerError", "ServiceUnavailable"}


@dataclass
class ServiceFault:
    operation: str  # e.g. "GetSecretValue"
    error: str
    times: int


@contextmanager
def injected(faults: list[ServiceFault], applies: Callable[[], bool]) -> Iterator[None]:
    """`applies` says whether the request at hand is one a fault may hit (made by a function)."""
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        if not applies():
            return original(self, request)
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        for fault in faults:
            if operation and fault.operation == operation and fault.times > 0:
                fault.times -= 1
                status = 500 if fault.error in SERVER_ERRORS else 400
                body = json.dumps({"__type": fault.error, "message": f"injected fault on {operation}"})
                return status, {"Content-Type": "application/x-amz-json-1.1"}, body
        return original(self, request)

    with mock.patch.object(BotocoreStubber, "process_request", process_request):
        yield
