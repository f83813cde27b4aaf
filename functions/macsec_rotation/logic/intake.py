"""Intake: one Secrets Manager event -> at most one execution per secret version.

EventBridge delivers at least once, so the execution is named after the secret and the version it
puts on the link: a second delivery of the same event finds the name taken and starts nothing.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidKeyMaterial, VersionNotCurrent
from ..gateways.executions import ExecutionsGateway
from ..gateways.secrets import CURRENT, SecretsGateway
from ..logic.requests import request_from_event
from ..models import StateModel
from ..observability import logger

NAME_LIMIT = 80  # Step Functions execution names: 1-80 characters, no whitespace, ':' or '/'


class IntakeResult(StateModel):
    started: bool
    execution_name: str | None = None
    reason: str


def execution_name(secret_name: str, version_id: str) -> str:
    safe_secret = re.sub(r"[^A-Za-z0-9_-]", "-", secret_name).strip("-")
    safe_version = re.sub(r"[^A-Za-z0-9_-]", "-", version_id)[:64]
    return f"{safe_secret[: NAME_LIMIT - len(safe_version) - 1]}-{safe_version}"


def start_for_event(event: Any, secrets: SecretsGateway, executions: ExecutionsGateway) -> IntakeResult:
    try:
        request = request_from_event(event)
    except VersionNotCurrent as not_current:
        logger.info("event ignored", reason=str(not_current))
        return IntakeResult(started=False, reason=str(not_current))
    secret = secrets.describe(request.secret_id)
    version_id = request.version_id or secret.version_in_stage(CURRENT)
    if version_id is None:
        raise InvalidKeyMaterial(f"secret {secret.name} has no AWSCURRENT version to put on a link.")
    name = execution_name(secret.name, version_id)
    started = executions.start(name, {"secretId": secret.arn, "versionId": version_id})
    reason = "started" if started else "an execution for this secret version already exists"
    logger.info("event handled", execution_name=name, started=started, secret_id=secret.arn, version_id=version_id)
    return IntakeResult(started=started, execution_name=name, reason=reason)
