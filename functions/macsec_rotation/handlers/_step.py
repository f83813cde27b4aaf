"""The Powertools decorators every step handler wears, in one place."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from ..errors import RotationError
from ..gateways.aws_errors import redact_error_response
from ..keys import redacted
from ..observability import logger, metrics, quiet_sdk_loggers, tracer

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def step_handler(step: Handler) -> Handler:
    # log_event stays off: events and state data are logged only as the fields the logic picks.
    # capture_error stays off too: it would add the exception object to the trace's metadata with every public
    # attribute (botocore's ParamValidationError keeps its unredacted report in one); the trace still records
    # the error's name and its (redacted) message as the subsegment's cause.
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler(capture_response=False, capture_error=False)
    @functools.wraps(step)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        quiet_sdk_loggers()
        try:
            return step(event, context)
        except Exception as error:
            leaving = _scrubbed(error)
            if leaving is error:
                raise
        raise leaving  # outside the except block, so it does not carry the original as its __context__

    return cast(Handler, handler)  # the Powertools decorators are untyped


def _scrubbed(error: Exception) -> Exception:
    """What leaves the handler in error's place. Its message becomes the Lambda error payload, the execution
    history's Cause, a notification and an X-Ray cause (the Tracer above records it, so this runs inside it);
    its class name is what Retry and Catch match, so that is kept. Our errors keep their messages (they name
    CKNs and ARNs, never a CAK). Any other (a service's text, botocore's "Invalid type for parameter cak,
    value: ...", a KeyError's key) is redacted in place when its text comes from its args, else replaced by
    a same-named stand-in; a chain (cause, context) that cannot be redacted is cut."""
    leaky = [e for e in _chain(error) if not isinstance(e, RotationError) and not _redacted_in_place(e)]
    if any(e is error for e in leaky):
        stand_in = _stand_in_class(type(error))(redacted(_text(error)))
        return stand_in.with_traceback(error.__traceback__)
    if leaky:
        error.__cause__, error.__context__, error.__suppress_context__ = None, None, True
    return error


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is not None and all(current is not e for e in seen):
            seen.append(current)
            pending += [current.__cause__, current.__context__]
    return seen


def _redacted_in_place(error: BaseException) -> bool:
    """Redact error's args (and a ClientError's response) in place; True when its text is clean then."""
    try:
        error.args = tuple(redacted(a) if isinstance(a, str) else a for a in error.args)
        if isinstance(error, ClientError):
            redact_error_response(error.response)
        notes = getattr(error, "__notes__", None)
        if isinstance(notes, list):
            error.__notes__ = [redacted(n) if isinstance(n, str) else n for n in notes]
    except Exception:  # an exception type that will not be changed: replaced instead
        return False
    text = _text(error)
    return redacted(text) == text


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a broken __str__: nothing to show
        return ""


_STAND_INS: dict[type[BaseException], type[Exception]] = {}


def _stand_in_class(original: type[BaseException]) -> type[Exception]:
    """An exception class named like original (the Lambda errorType is the class's __name__)."""
    if original not in _STAND_INS:
        names = {"__module__": original.__module__, "__qualname__": original.__qualname__}
        _STAND_INS[original] = type(original.__name__, (Exception,), names)
    return _STAND_INS[original]
