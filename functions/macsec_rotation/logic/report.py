"""The end of a run: a result per target on success, a clean error and cause on failure."""

from __future__ import annotations

import json
from typing import Any

from ..errors import WorkflowError, reported_error_name
from ..models import Action, Failure, Outcome, RotationResult, TargetResult, TargetRotation


def summarise(secret_arn: str, version_id: str, items: list[TargetRotation]) -> RotationResult:
    return RotationResult(
        secret_arn=secret_arn,
        version_id=version_id,
        results=[
            TargetResult(
                target=item.target,
                outcome=_outcome(item.action),
                new_ckn=item.new_ckn,
                removed_ckns=item.removed_ckns,
                kept_ckns=item.kept_ckns,
                encryption_mode_before=item.mode_before,
                encryption_mode_after=item.mode_after or item.mode_before,
                tightening_skipped=item.tightening_skipped,
            )
            for item in items
        ],
    )


def _outcome(action: Action | None) -> Outcome:
    if action == "AlreadyCurrent":
        return "AlreadyCurrent"
    if action == "Superseded":
        return "Superseded"
    return "Rotated"


def describe_failure(caught: Any) -> Failure:
    """Step Functions hands a caught error as {Error, Cause}; a Lambda error's Cause is the JSON
    error payload, a Fail state's is plain text. Either way the operator gets one readable sentence."""
    if not isinstance(caught, dict):
        return Failure(error=WorkflowError.__name__, cause="the workflow failed without error details")
    error = str(caught.get("Error") or WorkflowError.__name__)
    cause = caught.get("Cause") or ""
    try:
        payload = json.loads(cause)
    except (TypeError, ValueError):
        payload = None
    if isinstance(payload, dict) and "errorMessage" in payload:
        cause = str(payload["errorMessage"])
    cause = str(cause) or error
    if reported_error_name(error) != error:  # Step Functions reserves States.*: keep the name in the cause
        cause = f"{error}: {cause}"
    return Failure(error=reported_error_name(error), cause=cause)
