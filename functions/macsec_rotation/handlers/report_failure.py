"""Turn a caught error into a stable error name and a readable cause for the final Fail state, and notify."""

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.report import describe_failure
from ..observability import logger, metrics
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failure = describe_failure(event.get("failure"))
    metrics.add_metric(name="RotationsFailed", unit=MetricUnit.Count, value=1)
    with single_metric(
        name="RotationErrors",
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions={"error": failure.error},
    ):
        pass
    logger.error("rotation failed", error=failure.error, cause=failure.cause)
    clients.notifications(os.environ["TOPIC_ARN"]).publish("MACsec key rotation failed", failure.dump())
    return failure.dump()
