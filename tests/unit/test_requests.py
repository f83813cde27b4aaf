"""Console inputs and every Secrets Manager event shape DOMAIN.md lists become one request."""

import pytest

from macsec_rotation.errors import InvalidInput, VersionNotCurrent
from macsec_rotation.logic.requests import request_from_event

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/dxcon-abcd1234-AbCdEf"
VERSION = "a1b2c3d4-0000-4000-8000-000000000001"


def event(detail_type: str, detail: dict[str, object]) -> dict[str, object]:
    return {"source": "aws.secretsmanager", "detail-type": detail_type, "detail": detail}


def test_console_input_with_every_field() -> None:
    request = request_from_event(
        {
            "secretId": "macsec/dxcon-abcd1234",
            "target": "dxcon-abcd1234",
            "encryptionMode": "must_encrypt",
            "versionId": VERSION,
        }
    )
    assert (request.secret_id, request.target, request.encryption_mode, request.version_id) == (
        "macsec/dxcon-abcd1234",
        "dxcon-abcd1234",
        "must_encrypt",
        VERSION,
    )


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({}, "secretId"),
        ({"secretId": ""}, "secretId"),
        ({"secretId": "x", "encryptionMode": "always"}, "encryptionMode"),
        ({"secretId": "x", "cak": "00" * 32}, "cak"),
    ],
)
def test_bad_console_input_names_the_field_and_never_echoes_values(given: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        request_from_event(given)
    assert field in str(caught.value)
    assert "00" * 32 not in str(caught.value)


def test_a_cak_pasted_as_a_field_name_is_not_echoed() -> None:
    cak = "5f" * 32
    with pytest.raises(InvalidInput) as caught:
        request_from_event({"secretId": "macsec/x", cak: 1})
    assert cak[:16] not in str(caught.value)
    assert "redacted" in str(caught.value)


def test_rotation_succeeded_service_event() -> None:
    request = request_from_event(
        event(
            "AWS Service Event via CloudTrail",
            {"eventName": "RotationSucceeded", "additionalEventData": {"SecretId": ARN}},
        )
    )
    assert request.secret_id == ARN
    assert request.version_id is None


@pytest.mark.parametrize("arn_field", ["arn", "aRN"])
def test_put_secret_value_api_call_event_finds_the_secret_in_response_elements(arn_field: str) -> None:
    request = request_from_event(
        event(
            "AWS API Call via CloudTrail",
            {
                "eventName": "PutSecretValue",
                "requestParameters": {"clientRequestToken": VERSION},
                "responseElements": {arn_field: ARN, "versionId": VERSION},
            },
        )
    )
    assert (request.secret_id, request.version_id) == (ARN, VERSION)


def test_put_secret_value_with_secret_id_in_request_parameters() -> None:
    request = request_from_event(
        event(
            "AWS API Call via CloudTrail",
            {
                "eventName": "PutSecretValue",
                "requestParameters": {"secretId": "macsec/x", "clientRequestToken": VERSION},
            },
        )
    )
    assert (request.secret_id, request.version_id) == ("macsec/x", VERSION)


def test_a_pending_write_must_not_start_a_key_change() -> None:
    with pytest.raises(VersionNotCurrent):
        request_from_event(
            event(
                "AWS API Call via CloudTrail",
                {
                    "eventName": "PutSecretValue",
                    "requestParameters": {
                        "secretId": ARN,
                        "clientRequestToken": VERSION,
                        "versionStages": ["AWSPENDING"],
                    },
                },
            )
        )


def test_update_secret_version_stage_to_current() -> None:
    request = request_from_event(
        event(
            "AWS API Call via CloudTrail",
            {
                "eventName": "UpdateSecretVersionStage",
                "requestParameters": {"secretId": ARN, "versionStage": "AWSCURRENT", "moveToVersionId": VERSION},
            },
        )
    )
    assert (request.secret_id, request.version_id) == (ARN, VERSION)


def test_moving_another_stage_does_not_start_a_key_change() -> None:
    with pytest.raises(VersionNotCurrent):
        request_from_event(
            event(
                "AWS API Call via CloudTrail",
                {
                    "eventName": "UpdateSecretVersionStage",
                    "requestParameters": {"secretId": ARN, "versionStage": "AWSPENDING", "moveToVersionId": VERSION},
                },
            )
        )


@pytest.mark.parametrize("name", ["RotationFailed", "RotationAbandoned", "DeleteSecret"])
def test_other_secrets_manager_events_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=name):
        request_from_event(
            event("AWS Service Event via CloudTrail", {"eventName": name, "additionalEventData": {"SecretId": ARN}})
        )


def test_an_event_without_a_secret_is_refused() -> None:
    with pytest.raises(InvalidInput, match="names no secret"):
        request_from_event(event("AWS Service Event via CloudTrail", {"eventName": "RotationSucceeded"}))
