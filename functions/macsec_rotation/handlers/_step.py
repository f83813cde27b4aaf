"""The Powertools decorators every step handler wears, in one place."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from aws_lambda_powertools.utilities.typing import LambdaContext

from ..observability import logger, metrics, tracer

Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def step_handler(step: Handler) -> Handler:
    # log_event stays off: events and state data are logged only as the fields the logic picks.
    @logger.inject_lambda_context(log_event=False, clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @functools.wraps(step)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return step(event, context)

    return cast(Handler, handler)  # the Powertools decorators are untyped
