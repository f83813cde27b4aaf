"""Turns a console input or a Secrets Manager EventBridge event into one ConsoleInput."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import InvalidInput, VersionNotCurrent
from ..gateways.secrets import CURRENT
from ..keys import redacted, shown
from ..models import ConsoleInput

SECRETS_MANAGER_SOURCE = "aws.secretsmanager"
SERVICE_EVENTS = frozenset({"RotationSucceeded"})
API_CALL_EVENTS = frozenset({"PutSecretValue", "UpdateSecretVersionStage", "UpdateSecret"})


def _describe_validation_error(error: ValidationError) -> str:
    # Only field locations and pydantic's message; the offending value may be key material.
    problems = []
    for issue in error.errors(include_input=False, include_url=False):
        # A rejected extra key is its own location: someone may have pasted a CAK as a field name.
        where = redacted(".".join(str(part) for part in issue["loc"])) or "input"
        problems.append(f"{where}: {issue['msg']}")
    return "; ".join(problems)


def _first(*candidates: Any) -> str | None:
    return next((c for c in candidates if isinstance(c, str) and c), None)


def request_from_event(event: Any) -> ConsoleInput:
    if not isinstance(event, dict):
        raise InvalidInput('input must be a JSON object such as {"secretId": "macsec/dxcon-abcd1234"}.')
    if event.get("source") == SECRETS_MANAGER_SOURCE:
        return _request_from_secrets_manager_event(event)
    try:
        return ConsoleInput.model_validate(event)
    except ValidationError as error:
        raise InvalidInput(
            f"input not understood ({_describe_validation_error(error)}). Expected "
            '{"secretId": "...", "target": "dxcon-...|dxlag-...", "encryptionMode": "must_encrypt", '
            '"versionId": "..."} with only secretId required.'
        ) from None


def _request_from_secrets_manager_event(event: dict[str, Any]) -> ConsoleInput:
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    assert isinstance(detail, dict)
    name = detail.get("eventName")
    extra = detail.get("additionalEventData") or {}
    params = detail.get("requestParameters") or {}
    response = detail.get("responseElements") or {}
    secret_id = _first(
        extra.get("SecretId") if isinstance(extra, dict) else None,
        params.get("secretId") if isinstance(params, dict) else None,
        response.get("arn") if isinstance(response, dict) else None,
        response.get("aRN") if isinstance(response, dict) else None,
    )
    if secret_id is None:
        raise InvalidInput(
            f"Secrets Manager event {name!s} names no secret (detail.additionalEventData.SecretId, "
            "detail.requestParameters.secretId or detail.responseElements.arn)."
        )
    if name in SERVICE_EVENTS:
        return ConsoleInput(secret_id=secret_id)
    if name not in API_CALL_EVENTS:
        raise InvalidInput(
            f"Secrets Manager event {name!s} does not start a rotation; only "
            f"{', '.join(sorted(SERVICE_EVENTS | API_CALL_EVENTS))} do."
        )
    params = params if isinstance(params, dict) else {}
    response = response if isinstance(response, dict) else {}
    if name == "UpdateSecretVersionStage":
        if params.get("versionStage") != CURRENT:
            raise VersionNotCurrent(
                f"stage {params.get('versionStage')!s} moved on {shown(secret_id)}; "
                "only AWSCURRENT starts a key change."
            )
        return ConsoleInput(secret_id=secret_id, version_id=_first(params.get("moveToVersionId")))
    stages = params.get("versionStages") or response.get("versionStages")
    if isinstance(stages, list) and stages and CURRENT not in stages:
        raise VersionNotCurrent(
            f"{name} wrote {shown(secret_id)} with stages {stages}; "
            "a pending or staged version must not start a key change."
        )
    return ConsoleInput(
        secret_id=secret_id,
        version_id=_first(response.get("versionId"), params.get("clientRequestToken")),
    )
