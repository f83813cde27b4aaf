"""The errors Direct Connect declares, plus the throttling code botocore's standard mode retries."""

from moto.core.exceptions import JsonRESTError


class DirectConnectClientException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("DirectConnectClientException", message)


class DirectConnectServerException(JsonRESTError):
    code = 400  # as AWS's API reference documents it: botocore does not retry it

    def __init__(self, message: str = "An internal error occurred.") -> None:
        super().__init__("DirectConnectServerException", message)


class ThrottlingException(JsonRESTError):
    code = 400

    def __init__(self, message: str = "Rate exceeded") -> None:
        super().__init__("ThrottlingException", message)


def fault(error: str, operation: str, message: str | None = None) -> JsonRESTError:
    """An injected fault by its error code, with `message` or a default text."""
    if error == "DirectConnectServerException":
        return DirectConnectServerException(message or f"injected fault on {operation}")
    if error == "DirectConnectClientException":
        return DirectConnectClientException(message or f"injected fault on {operation}")
    if error == "ThrottlingException":
        return ThrottlingException(message or "Rate exceeded")
    if error in ("TooManyRequestsException", "Throttling"):
        return JsonRESTError(error, message or "Rate exceeded")
    raise ValueError(f"unknown injected error {error!r}")
