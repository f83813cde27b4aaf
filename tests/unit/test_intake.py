"""The intake names executions after the secret version, so duplicate deliveries start nothing."""

from __future__ import annotations

import re
from typing import Any

from macsec_rotation.gateways.secrets import Secret
from macsec_rotation.logic.intake import execution_name, start_for_event

VERSION = "0f7c6d1e-0000-4000-8000-000000000001"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/dxcon-aaaa1111-AbCdEf"


class FakeSecrets:
    def describe(self, secret_id: str) -> Secret:
        return Secret(arn=ARN, name="macsec/dxcon-aaaa1111", tags={}, versions={VERSION: ["AWSCURRENT"]})


class FakeExecutions:
    """Step Functions' naming rule: a name, once used, cannot start another execution."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}

    def start(self, name: str, execution_input: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = execution_input
        return True


def rotation_succeeded() -> dict[str, Any]:
    return {
        "source": "aws.secretsmanager",
        "detail-type": "AWS Service Event via CloudTrail",
        "detail": {"eventName": "RotationSucceeded", "additionalEventData": {"SecretId": ARN}},
    }


def test_the_same_event_three_times_starts_one_execution() -> None:
    executions = FakeExecutions()
    results = [start_for_event(rotation_succeeded(), FakeSecrets(), executions) for _ in range(3)]  # type: ignore[arg-type]
    assert [r.started for r in results] == [True, False, False]
    assert executions.started == {"macsec-dxcon-aaaa1111-" + VERSION: {"secretId": ARN, "versionId": VERSION}}


def test_a_pending_write_is_ignored_without_error() -> None:
    event = {
        "source": "aws.secretsmanager",
        "detail-type": "AWS API Call via CloudTrail",
        "detail": {
            "eventName": "PutSecretValue",
            "requestParameters": {"secretId": ARN, "versionStages": ["AWSPENDING"]},
        },
    }
    executions = FakeExecutions()
    result = start_for_event(event, FakeSecrets(), executions)  # type: ignore[arg-type]
    assert not result.started and executions.started == {}


def test_execution_names_fit_step_functions_rules_for_any_secret_name() -> None:
    for secret_name in ["macsec/dxcon-aaaa1111", "a" * 512, "team/prod network/macsec:key+1@x"]:
        name = execution_name(secret_name, VERSION)
        assert 1 <= len(name) <= 80
        assert re.fullmatch(r"[A-Za-z0-9_-]+", name)
        assert name.endswith(VERSION)
