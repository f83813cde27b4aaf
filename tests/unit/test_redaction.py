"""No echo: a service's or a library's text never carries a CAK, or 16 hex digits of one, into a cause,
a log, a notification or a trace; and the scanner every tier uses notices a partial echo."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from macsec_rotation.errors import DirectConnectBusy, ThrottlingException
from macsec_rotation.gateways.aws_errors import error_message, transient_errors_typed
from macsec_rotation.keys import redacted
from macsec_rotation.models import ConsoleInput, TargetRotation
from tests.conftest import assert_no_key_material, new_key

CKN, CAK = new_key()


def hex_runs_of(cak: str, text: str) -> list[str]:
    """Every 16-digit window of the CAK that appears in text, in either case."""
    return [cak[i : i + 16] for i in range(len(cak) - 15) if cak[i : i + 16].lower() in text.lower()]


def client_error(code: str, message: str, operation: str = "AssociateMacSecKey") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# ---- the helper ----


def test_every_long_hex_run_in_a_foreign_text_is_replaced_by_what_was_removed() -> None:
    # Given a service text that echoes a CAK (upper case), half of one, and a 16-digit fragment of one
    text = f"bad key {CAK.upper()} (was {CAK[:32]}); near {CAK[40:56]}."
    # When it is redacted
    shown = redacted(text)
    # Then no run of 16 hex digits is left, and the reader learns what was removed and where
    assert not re.search(r"[0-9a-fA-F]{16}", shown)
    assert shown == "bad key <redacted: 64 hex digits> (was <redacted: 32 hex digits>); near <redacted: 16 hex digits>."


def test_ids_that_are_no_key_material_survive_redaction() -> None:
    # Connection ids, account ids, request ids and a 15-digit run are shorter than any key fragment
    text = (
        "Connection dxcon-aaaa1111 of 123456789012 is currently being updated (request "
        "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b, token 0123456789abcde). Please try again later."
    )
    assert redacted(text) == text


# ---- service messages ----


def test_a_service_message_that_echoes_the_cak_is_redacted_before_it_reaches_an_error() -> None:
    # Given Direct Connect refuses a key with a text that repeats the request's CAK
    error = client_error("DirectConnectClientException", f"Invalid cak {CAK} for dxcon-aaaa1111")
    # When the gateway reads the message for a cause
    message = error_message(error)
    # Then the cause keeps the service's words but holds no part of the CAK
    assert message == "Invalid cak <redacted: 64 hex digits> for dxcon-aaaa1111"
    assert hex_runs_of(CAK, message) == []


@pytest.mark.parametrize(
    ("code", "message", "typed"),
    [
        ("ThrottlingException", "Rate exceeded for {cak}", ThrottlingException),
        ("DirectConnectClientException", "dxcon-aaaa1111 ({cak}) is currently being updated", DirectConnectBusy),
    ],
)
def test_typed_transient_errors_carry_the_redacted_service_text(code: str, message: str, typed: type) -> None:
    # Given a throttling or a passing refusal whose text echoes a CAK
    with pytest.raises(typed) as caught, transient_errors_typed():
        raise client_error(code, message.format(cak=CAK))
    # Then the typed error (what the state machine retries, then reports) shows none of it
    assert hex_runs_of(CAK, str(caught.value)) == []
    assert "<redacted: 64 hex digits>" in str(caught.value)


# ---- validation errors ----


def test_a_malformed_target_rotation_shows_no_part_of_a_cak_in_its_validation_error() -> None:
    # Given state data where a CAK was pasted into fields (a string one, a literal one, a nested integer one)
    malformed = {
        "secretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/x-AbCdEf",
        "versionId": ["not", "a", "string", CAK],
        "target": "dxcon-aaaa1111",
        "targetType": CAK,
        "newCkn": CKN,
        "action": CAK.upper(),
        "poll": {"intervalSeconds": CAK, "maxAttempts": 3},
    }
    # When it is validated
    with pytest.raises(ValidationError) as caught:
        TargetRotation.model_validate(malformed)
    # Then the error names each field and what is wrong with it, and shows none of the values
    text = str(caught.value)
    assert all(field in text for field in ("versionId", "targetType", "action", "poll.intervalSeconds"))
    assert hex_runs_of(CAK, text) == []


def test_a_malformed_console_input_shows_no_part_of_a_cak_in_its_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        ConsoleInput.model_validate({"secretId": "macsec/x", "encryptionMode": CAK, "versionId": CAK * 2})
    assert "encryptionMode" in str(caught.value) and "versionId" in str(caught.value)
    assert hex_runs_of(CAK, str(caught.value)) == []


# ---- the scanner ----


def test_the_scanner_flags_sixteen_hex_digits_taken_from_a_cak_anywhere_in_either_case() -> None:
    for fragment in (CAK[:16], CAK[30:46], CAK[48:].upper()):
        with pytest.raises(AssertionError, match="16\\+ hex digits of CAKs starting"):
            assert_no_key_material({"history": [{"cause": f"service said: {fragment}."}]}, [CAK])
    # also inside a longer run of hex digits
    with pytest.raises(AssertionError, match="leaked"):
        assert_no_key_material(f"x{'0' * 7}{CAK[10:26]}{'f' * 9}x", [CAK])


def test_the_scanner_does_not_flag_a_ckn_nor_fifteen_digits_of_a_cak() -> None:
    assert_no_key_material({"cause": f"key {CKN} on dxcon-aaaa1111", "log": CAK[:15] + "-" + CAK[15:30]}, [CAK])
