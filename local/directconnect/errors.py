"""The errors Direct Connect declares, plus the throttling code botocore's standard mode retries."""

from moto.core.exceptions import JsonRESTError


class DirectConnectClientException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("DirectConnectClientException", message)


class DirectConnectServerException(JsonRESTError):
    code = 500

    def __init__(self, message: str = "An internal error occurred.") -> None:
        super().__init__("DirectConnectServerException", message)


class ThrottlingException(JsonRESTError):
    code = 400

    def __init__(self, message: str = "Rate exceeded") -> None:
        super().__init__("ThrottlingException", message)


def fault(error: str, operation: str) -> JsonRESTError:
    """An injected fault by its error code."""
    if error == "DirectConnectServerException":
        return DirectConnectServerException(f"injected fault on {operation}")
    if error == "DirectConnectClientException":
        return DirectConnectClientException(f"injected fault on {operation}")
    if error in ("ThrottlingException", "TooManyRequestsException", "Throttling"):
        return JsonRESTError(error, "Rate exceeded") if error != "ThrottlingException" else ThrottlingException()
    raise ValueError(f"unknown injected error {error!r}")
