"""Secrets Manager events as EventBridge delivers them: the service event and the CloudTrail API call."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .runner import LocalAws


def envelope(aws: LocalAws, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"local-{len(aws.executions)}-{aws.clock.elapsed():.0f}",
        "detail-type": detail_type,
        "source": "aws.secretsmanager",
        "account": aws.account,
        "time": datetime.fromtimestamp(aws.clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": aws.region,
        "resources": [],
        "detail": detail,
    }


def service_event(aws: LocalAws, secret_arn: str, name: str) -> dict[str, Any]:
    return envelope(
        aws,
        "AWS Service Event via CloudTrail",
        {
            "eventVersion": "1.08",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "awsRegion": aws.region,
            "additionalEventData": {"SecretId": secret_arn},
        },
    )


def put_secret_value(aws: LocalAws, secret_arn: str, value: Any, stages: list[str] | None) -> dict[str, Any]:
    request: dict[str, Any] = {"SecretId": secret_arn, "SecretString": secret_string(value)}
    if stages:
        request["VersionStages"] = stages
    response = aws.client("secretsmanager").put_secret_value(**request)
    parameters: dict[str, Any] = {"secretId": secret_arn, "clientRequestToken": response["VersionId"]}
    if stages:
        parameters["versionStages"] = stages
    return envelope(
        aws,
        "AWS API Call via CloudTrail",
        {
            "eventVersion": "1.08",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "PutSecretValue",
            "awsRegion": aws.region,
            "requestParameters": parameters,  # CloudTrail never records the value
            "responseElements": {
                "arn": secret_arn,
                "versionId": response["VersionId"],
                "versionStages": response["VersionStages"],
            },
        },
    )


def secret_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
