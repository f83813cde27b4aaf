"""Mapping of AWS error codes to the workflow's transient error types."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from ..errors import DirectConnectBusy, DirectConnectServerException, ThrottlingException
from ..keys import redacted

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


# Direct Connect declares one client exception for every refusal. Its texts for a passing condition
# ("Connection dxcon-... is currently being updated. Please try again later.") are told apart from
# permanent ones by wording: an inference from observed messages, not a documented contract.
DX_CLIENT_ERROR = "DirectConnectClientException"
_TRANSIENT_REFUSAL = re.compile(
    r"try again later|currently being (updated|modified|processed)|is being (updated|modified|processed)"
    r"|operation (is )?in progress|retry (the request )?later",
    re.IGNORECASE,
)


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    """The service's text, redacted: it feeds every typed error's message, and so causes, notifications and
    traces, and a service may echo request parameters in it (AssociateMacSecKey's carry the CAK)."""
    return redacted(str(error.response.get("Error", {}).get("Message", "")))


def redact_error_response(parsed: dict[str, Any]) -> None:
    """Redact, in place, the texts of a parsed error response: Error.Message and the modeled fields botocore
    copies beside it (Direct Connect's `message`). A ClientError's own text is built from them."""
    error = parsed.get("Error")
    if not isinstance(error, dict):
        return
    for holder in (parsed, error):
        for name, value in holder.items():
            if isinstance(value, str):
                holder[name] = redacted(value)


def is_transient_refusal(error: ClientError) -> bool:
    return error_code(error) == DX_CLIENT_ERROR and _TRANSIENT_REFUSAL.search(error_message(error)) is not None


def is_refusal(error: ClientError) -> bool:
    """A Direct Connect client error that says no for good (as far as its wording tells)."""
    return error_code(error) == DX_CLIENT_ERROR and not is_transient_refusal(error)


@contextmanager
def transient_errors_typed() -> Iterator[None]:
    """Re-raise throttling and server faults (left over after the SDK's own retries) under the
    names the state machine retries; let everything else through unchanged."""
    try:
        yield
    except ClientError as error:
        code = error_code(error)
        if is_transient_refusal(error):
            raise DirectConnectBusy(
                f"{error.operation_name} was refused for now: {error_message(error)}; retried with backoff."
            ) from None
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


def conditionally(write: Callable[..., dict[str, Any]], **request: Any) -> dict[str, Any] | None:
    """A DynamoDB conditional write (`write`: the client's method); None when its condition did not hold
    (another party got there first)."""
    with transient_errors_typed():
        try:
            return write(**request)
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            return None
