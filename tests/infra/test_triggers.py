"""The synthesized EventBridge patterns against sample Secrets Manager events (moto's matcher)."""

from __future__ import annotations

from typing import Any

import pytest
from moto.events.models import EventPattern

from local.template import Template

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/dxcon-aaaa1111-AbCdEf"
OTHER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/password-AbCdEf"
VERSION = "0f7c6d1e-0000-4000-8000-000000000001"


def service_event(name: str, secret: str = ARN) -> dict[str, Any]:
    return {
        "source": "aws.secretsmanager",
        "detail-type": "AWS Service Event via CloudTrail",
        "detail": {
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "additionalEventData": {"SecretId": secret},
        },
    }


def api_event(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": "aws.secretsmanager",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {"eventSource": "secretsmanager.amazonaws.com", "eventName": name, "requestParameters": parameters},
    }


MATCHING = {
    "rotation succeeded": service_event("RotationSucceeded"),
    "new current value by ARN": api_event("PutSecretValue", {"secretId": ARN, "clientRequestToken": VERSION}),
    "new current value by name": api_event("PutSecretValue", {"secretId": "macsec/dxcon-aaaa1111"}),
    "explicit AWSCURRENT": api_event("PutSecretValue", {"secretId": ARN, "versionStages": ["AWSCURRENT"]}),
    "stage moved to current": api_event(
        "UpdateSecretVersionStage", {"secretId": ARN, "versionStage": "AWSCURRENT", "moveToVersionId": VERSION}
    ),
}
NOT_MATCHING = {
    "another prefix": service_event("RotationSucceeded", OTHER),
    "rotation failed": service_event("RotationFailed"),
    "rotation started": service_event("RotationStarted"),
    "a rotation function's pending write": api_event(
        "PutSecretValue", {"secretId": ARN, "clientRequestToken": VERSION, "versionStages": ["AWSPENDING"]}
    ),
    "pending stage moved": api_event(
        "UpdateSecretVersionStage", {"secretId": ARN, "versionStage": "AWSPENDING", "moveToVersionId": VERSION}
    ),
    "another secret written": api_event("PutSecretValue", {"secretId": OTHER}),
    "another service": {**service_event("RotationSucceeded"), "source": "aws.kms"},
}


def matched(template: Template, event: dict[str, Any]) -> list[str]:
    return [
        r.logical_id
        for r in template.rules("us-east-1", "123456789012")
        if EventPattern(None, r.pattern).matches_event(event)
    ]


@pytest.mark.parametrize("case", MATCHING)
def test_events_that_start_a_rotation(template: Template, case: str) -> None:
    assert len(matched(template, MATCHING[case])) == 1, case


@pytest.mark.parametrize("case", NOT_MATCHING)
def test_events_that_do_not(template: Template, case: str) -> None:
    assert matched(template, NOT_MATCHING[case]) == [], case
