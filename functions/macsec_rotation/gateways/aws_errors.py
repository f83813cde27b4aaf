"""Mapping of AWS error codes to the workflow's transient error types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import ClientError

from ..errors import DirectConnectServerException, ThrottlingException

# DynamoDB throttles with ProvisionedThroughputExceededException even in on-demand mode.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
    }
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


@contextmanager
def transient_errors_typed() -> Iterator[None]:
    """Re-raise throttling and server faults (left over after the SDK's own retries) under the
    names the state machine retries; let everything else through unchanged."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if code in THROTTLING_CODES:
            raise ThrottlingException(f"{error.operation_name} was throttled: {error_message(error)}") from None
        if (
            code == "DirectConnectServerException"
            or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
        ):
            raise DirectConnectServerException(
                f"{error.operation_name} failed on the service side: {error_message(error)}"
            ) from None
        raise
