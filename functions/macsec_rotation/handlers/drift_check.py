"""Scheduled: compare every managed target with its secret's AWSCURRENT key; a metric per finding."""

import os
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from .. import clients
from ..logic.drift import check_drift
from ..observability import logger, metrics
from ..settings import RuntimeSettings
from ._step import step_handler


@step_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    statuses = check_drift(
        clients.secrets(), clients.directconnect(), os.environ["SECRET_PREFIX"], RuntimeSettings.from_env()
    )
    drifted = [s for s in statuses if not s.in_sync]
    for status in statuses:
        logger.info("target checked", target=status.target, secret=status.secret, findings=status.findings)
    metrics.add_metric(name="TargetsChecked", unit=MetricUnit.Count, value=len(statuses))
    metrics.add_metric(name="DriftedTargets", unit=MetricUnit.Count, value=len(drifted))
    return {"checked": len(statuses), "drifted": [s.dump() for s in drifted]}
