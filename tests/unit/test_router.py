"""The router wait (routerConfirmation callback) on DynamoDB (moto): a parked task is answered exactly once, by the
confirmation of its own target and CKN, an early confirmation is kept, the deadline and an abort end the wait, and
the lock is renewed every round."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from macsec_rotation import clock
from macsec_rotation.errors import InvalidConfirmation, InvalidInput, TargetBusy
from macsec_rotation.gateways.events import KEY_READY, KEY_ROLLED_BACK
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.gateways.secrets import Secret
from macsec_rotation.gateways.waits import WaitsGateway
from macsec_rotation.logic.prepare import router_confirmation
from macsec_rotation.logic.router import (
    CONFIRMED,
    NOT_CONFIRMED,
    announce_roll_back,
    ask_router,
    confirm_router_key,
    park_for_router,
)
from macsec_rotation.models import Failure, Poll, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import ManualClock
from tests.unit.recorded import RecordedEvents, RecordedTasks

TARGET = "dxcon-aaaa1111"
CKN = "ab" * 32
OWNER = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"
SETTINGS = RuntimeSettings(router_confirmation_timeout_seconds=3600, router_round_seconds=600, lock_ttl_seconds=900)


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WaitsGateway, LocksGateway]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("dynamodb")
        for name, key in (("waits", "id"), ("locks", "target")):
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        locks = LocksGateway(client, "locks")
        yield WaitsGateway(client, "waits"), locks


@pytest.fixture
def manual_clock() -> Iterator[ManualClock]:
    manual = ManualClock()
    previous = clock.use(manual)
    yield manual
    clock.use(previous)


def asked(now: float) -> TargetRotation:
    return TargetRotation(
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/link-AbCdEf",
        version_id="v2",
        target=TARGET,
        target_type="connection",
        new_ckn=CKN,
        action="Associate",
        poll=Poll(interval_seconds=10, max_attempts=3),
        lock_owner=OWNER,
        router_confirmation="callback",
        router_asked_at=now,
    )


def held(locks: LocksGateway, now: float) -> None:
    assert locks.acquire(TARGET, OWNER, now, now + 900) is None


def park(item: TargetRotation, token: str, tables: tuple[WaitsGateway, LocksGateway], tasks: RecordedTasks) -> str:
    waits, locks = tables
    return park_for_router(item, token, waits, tasks, locks, SETTINGS, abort_requested=False)


def test_a_parked_wait_is_answered_once_by_the_confirmation_of_its_own_target_and_ckn(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    waits, locks = tables
    tasks = RecordedTasks()
    held(locks, manual_clock.now())
    assert park(asked(manual_clock.now()), "token-1", tables, tasks) == "parked"
    assert tasks.answers == {}
    # Another CKN, another target: nothing answered.
    assert confirm_router_key({"target": TARGET, "ckn": "cd" * 32}, waits, tasks) == "kept"
    assert confirm_router_key({"target": "dxcon-bbbb2222", "ckn": CKN}, waits, tasks) == "kept"
    assert tasks.answers == {}
    assert confirm_router_key({"target": TARGET, "ckn": CKN.upper()}, waits, tasks) == CONFIRMED
    # A repeat changes nothing: the wait was claimed by the first.
    assert confirm_router_key({"target": TARGET, "ckn": CKN}, waits, tasks) == "kept"
    assert tasks.answers == {"token-1": CONFIRMED}


def test_a_confirmation_that_arrives_before_the_wait_is_kept(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    waits, locks = tables
    tasks = RecordedTasks()
    held(locks, manual_clock.now())
    assert confirm_router_key({"target": TARGET, "ckn": CKN}, waits, tasks) == "kept"
    assert park(asked(manual_clock.now()), "token-1", tables, tasks) == CONFIRMED
    assert tasks.answers == {"token-1": CONFIRMED}
    assert waits.waiting(TARGET) is None


def test_each_round_renews_the_lock_and_the_last_ends_at_the_deadline(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    _, locks = tables
    tasks = RecordedTasks()
    start = manual_clock.now()
    held(locks, start)
    item = asked(start)
    outcomes = [park(item, "token-0", tables, tasks)]
    while outcomes[-1] == "parked" and len(outcomes) < 10:
        manual_clock.advance(SETTINGS.router_round_seconds + 2)  # a round times out; its function took 2 s
        # The lock (900 s) outlives the wait only because each round renewed it: nobody else can take it.
        assert locks.acquire(TARGET, "someone-else", manual_clock.now(), manual_clock.now() + 60) == OWNER
        outcomes.append(park(item, f"token-{len(outcomes)}", tables, tasks))
    # 3600 s in rounds of 600: six parked rounds, the seventh (at about the deadline) ends the wait.
    assert outcomes == ["parked"] * 6 + [NOT_CONFIRMED]
    assert manual_clock.now() - start == pytest.approx(SETTINGS.router_confirmation_timeout_seconds, abs=15)
    assert tasks.answers == {"token-6": NOT_CONFIRMED}


def test_an_abort_ends_the_wait_and_a_lost_lock_is_an_error(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    waits, locks = tables
    tasks = RecordedTasks()
    assert park_for_router(asked(manual_clock.now()), "t1", waits, tasks, locks, SETTINGS, abort_requested=True) == (
        "aborted"
    )
    assert locks.acquire(TARGET, "another-execution", manual_clock.now(), manual_clock.now() + 900) is None
    with pytest.raises(TargetBusy, match="another-execution"):
        park(asked(manual_clock.now()), "t2", tables, tasks)
    assert waits.waiting(TARGET) is None


@pytest.mark.parametrize(
    "detail",
    [None, {}, {"target": "dxcon-aaaa1111"}, {"target": "vpc-1", "ckn": CKN}, {"target": TARGET, "ckn": "not-hex"}],
)
def test_a_malformed_confirmation_is_refused_and_changes_nothing(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock, detail: Any
) -> None:
    waits, _ = tables
    with pytest.raises(InvalidConfirmation, match="nothing was changed"):
        confirm_router_key(detail, waits, RecordedTasks())
    assert not waits.confirmed(TARGET, CKN)


def test_asking_and_rolling_back_announce_identifiers_only_and_a_rollback_forgets_the_confirmation(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    waits, _ = tables
    events = RecordedEvents()
    item = ask_router(asked(0).model_copy(update={"router_asked_at": None}), events)
    assert item.router_asked_at == manual_clock.now()
    (ready,) = events.put_events
    assert ready == (
        KEY_READY,
        {"target": TARGET, "secretArn": item.secret_arn, "versionId": "v2", "ckn": CKN, "executionArn": OWNER},
    )
    confirm_router_key({"target": TARGET, "ckn": CKN}, waits, RecordedTasks())
    failed = item.model_copy(update={"failure": Failure(error="RouterNotConfirmed", cause="...")})
    announce_roll_back(failed, events, waits)
    assert events.put_events[1][0] == KEY_ROLLED_BACK
    assert events.put_events[1][1]["reason"] == "RouterNotConfirmed"
    # The automation may drop a rolled-back key: its old confirmation must not let a re-run remove the old key.
    assert not waits.confirmed(TARGET, CKN)
    assert "cak" not in json.dumps(events.put_events).lower()


def test_the_secret_tag_overrides_the_stack_setting() -> None:
    def secret(tags: dict[str, str]) -> Secret:
        return Secret(arn="arn", name="macsec/link", tags=tags)

    assert router_confirmation(secret({}), SETTINGS) == "none"
    callback = SETTINGS.model_copy(update={"router_confirmation": "callback"})
    assert router_confirmation(secret({}), callback) == "callback"
    assert router_confirmation(secret({"macsec:router-confirmation": "none"}), callback) == "none"
    assert router_confirmation(secret({"macsec:router-confirmation": "callback"}), SETTINGS) == "callback"
    with pytest.raises(InvalidInput, match="'none' or 'callback'"):
        router_confirmation(secret({"macsec:router-confirmation": "yes"}), SETTINGS)
