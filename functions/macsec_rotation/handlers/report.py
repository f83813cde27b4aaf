"""Summarise a finished rotation: a result per target, a metric per outcome, and the notification."""

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.report import summarise
from ..models import TargetRotation
from ..observability import logger, metrics
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    items = [TargetRotation.model_validate(item) for item in event.get("results", [])]
    result = summarise(str(event["secretArn"]), str(event["versionId"]), items)
    for target in result.results:
        metrics.add_metric(name=f"Targets{target.outcome}", unit=MetricUnit.Count, value=1)
        logger.info("target finished", extra=target.dump())
    metrics.add_metric(name="RotationsSucceeded", unit=MetricUnit.Count, value=1)
    clients.notifications(os.environ["TOPIC_ARN"]).publish("MACsec key rotation finished", result.dump())
    return result.dump()
