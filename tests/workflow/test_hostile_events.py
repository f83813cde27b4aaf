"""Every deployed function, handed events that carry key material where it does not belong, with event
logging switched on by environment (POWERTOOLS_LOGGER_LOG_EVENT=true, as an operator might set it to
debug): no CAK in its logs, metrics or answer, and a typed error for what it cannot use."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from local.runner import LocalAws
from tests.conftest import assert_no_key_material, new_key
from tests.harness import KNOWN_ERRORS

CKN, CAK = new_key()
HOSTILE_EVENTS = [
    {"secretId": "macsec/dxcon-aaaa1111", "cak": CAK, "ckn": CKN},  # key material in console input
    {"Step": "createSecret", "SecretId": CAK, "ClientRequestToken": CAK},  # in a rotation request
    {"detail-type": "AWS API Call via CloudTrail", "detail": {"requestParameters": {"secretString": CAK}}},
    {"target": {"id": CAK}, "newCkn": CKN, "cak": CAK},  # in a step's state
    CAK,  # as the whole event
]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    with LocalAws() as world:
        yield world


def test_no_function_logs_or_returns_key_material_from_a_hostile_event(aws: LocalAws) -> None:
    answers = []
    for spec in aws.dispatcher.functions.values():
        arn = aws.template.function_arn(spec.logical_id, aws.region, aws.account)
        for event in HOSTILE_EVENTS:
            payload, error = aws.dispatcher.invoke(arn, json.dumps(event))
            answers.append({"function": spec.step, "error": error, "payload": payload.decode()})
    assert aws.logs.lines and all(a["payload"] for a in answers)  # there was output to scan
    assert_no_key_material({"answers": answers, "logs": aws.logs.lines}, [CAK])
    # At the boundaries (console input, EventBridge events, Secrets Manager's rotation requests, the
    # schedule) what a function cannot use is refused under a name the workflow knows, never a crash.
    boundary = {"prepare", "intake", "rotate_secret", "drift_check"}
    crashed = [
        (a["function"], json.loads(a["payload"]).get("errorType"))
        for a in answers
        if a["function"] in boundary and a["error"] and json.loads(a["payload"]).get("errorType") not in KNOWN_ERRORS
    ]
    assert not crashed, crashed
