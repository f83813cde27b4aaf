"""The router wait (routerConfirmation callback) on DynamoDB (moto): a parked task is answered exactly once, by the
confirmation of its own target and CKN, an early confirmation is kept and answers at the watcher's first tick, the
deadline and an abort end the wait, and the lock is held past the wait's end before it parks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from macsec_rotation import clock
from macsec_rotation.errors import InvalidConfirmation, InvalidInput, TargetBusy
from macsec_rotation.gateways.directconnect import Target
from macsec_rotation.gateways.events import KEY_READY, KEY_ROLLED_BACK
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.gateways.secrets import Secret
from macsec_rotation.gateways.waits import WaitsGateway
from macsec_rotation.logic import watcher as watcher_logic
from macsec_rotation.logic.conditions import ROUTER_CONFIRMED, ROUTER_NOT_CONFIRMED
from macsec_rotation.logic.prepare import router_confirmation
from macsec_rotation.logic.router import announce_roll_back, ask_router, confirm_router_key, router_waits
from macsec_rotation.models import Failure, Poll, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import ManualClock
from tests.unit.recorded import RecordedEvents, RecordedTasks, Watching, dynamodb_tables

TARGET = "dxcon-aaaa1111"
OTHER_TARGET = "dxcon-bbbb2222"
CKN = "ab" * 32
OWNER = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"
# A router wait longer than the lock lives: only the renewal before parking keeps the target this execution's.
SETTINGS = RuntimeSettings(router_confirmation_timeout_seconds=1200, lock_ttl_seconds=900)
TIMEOUT = SETTINGS.router_confirmation_timeout_seconds
SLOW_BEAT = SETTINGS.watcher_slow_beat_seconds  # the watcher's pace while only lock and router waits are parked


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WaitsGateway, LocksGateway]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield dynamodb_tables(boto3.client("dynamodb"))


@pytest.fixture
def manual_clock() -> Iterator[ManualClock]:
    manual = ManualClock()
    previous = clock.use(manual)
    yield manual
    clock.use(previous)


def asked(now: float, target: str = TARGET, owner: str = OWNER) -> TargetRotation:
    return TargetRotation(
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/link-AbCdEf",
        version_id="v2",
        target=target,
        target_type="connection",
        new_ckn=CKN,
        action="Associate",
        poll=Poll(interval_seconds=10, max_attempts=3),
        lock_owner=owner,
        router_confirmation="callback",
        router_asked_at=now,
        status="waitingForRouter",
    )


def held(locks: LocksGateway, now: float, target: str = TARGET, owner: str = OWNER) -> None:
    assert locks.acquire(target, owner, now, now + SETTINGS.lock_ttl_seconds) is None


def no_fleet(lags: bool = True) -> dict[str, Target]:
    raise AssertionError("the router wait needs no read of Direct Connect")


def watching(tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock) -> Watching:
    waits, locks = tables
    return Watching(waits, locks, no_fleet, manual_clock, SETTINGS)


def test_a_parked_wait_is_answered_once_by_the_confirmation_of_its_own_target_and_ckn(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    # Given two rotations parked on their routers, on two targets, for the same CKN
    waits, locks = tables
    watch = watching(tables, manual_clock)
    held(locks, manual_clock.now())
    held(locks, manual_clock.now(), OTHER_TARGET, "run-2")
    watch.park(ROUTER_CONFIRMED, asked(manual_clock.now()), "token-1", TIMEOUT)
    watch.park(ROUTER_CONFIRMED, asked(manual_clock.now(), OTHER_TARGET, "run-2"), "token-2", TIMEOUT)
    assert [item.lock_owner for _, item in router_waits(TARGET, waits)] == [OWNER]
    tasks = watch.tasks

    # When confirmations of another CKN come, then the right one (in another case), then a repeat
    assert confirm_router_key({"target": TARGET, "ckn": "cd" * 32}, waits, tasks) == "kept"
    assert tasks.answers == {}
    assert confirm_router_key({"target": TARGET, "ckn": CKN.upper()}, waits, tasks) == ROUTER_CONFIRMED
    assert confirm_router_key({"target": TARGET, "ckn": CKN}, waits, tasks) == "kept"

    # Then only the rotation of that target is answered, once, with its state data marked confirmed
    assert list(tasks.answers) == ["token-1"]
    answer = tasks.answers["token-1"]
    assert (answer["status"], answer["target"], answer["lockOwner"]) == (ROUTER_CONFIRMED, TARGET, OWNER)
    assert router_waits(TARGET, waits) == []
    # And the watcher does not answer it again; the other target's wait stays parked
    assert watch.tick().parked == 1
    assert list(tasks.answers) == ["token-1"]
    assert [item.target for _, item in router_waits(OTHER_TARGET, waits)] == [OTHER_TARGET]


def test_a_confirmation_that_arrives_before_the_wait_is_kept_and_answers_at_the_first_tick(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    waits, locks = tables
    watch = watching(tables, manual_clock)
    held(locks, manual_clock.now())
    assert confirm_router_key({"target": TARGET, "ckn": CKN}, waits, watch.tasks) == "kept"
    assert waits.confirmed(TARGET, CKN.upper())
    watch.park(ROUTER_CONFIRMED, asked(manual_clock.now()), "token-1", TIMEOUT)
    assert watch.tasks.answers == {}
    watch.tick()
    assert watch.tasks.answers["token-1"]["status"] == ROUTER_CONFIRMED
    assert waits.watched() == []


def test_the_wait_ends_router_not_confirmed_at_its_deadline_and_the_lock_is_held_throughout(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    # Given a rotation that parks on its router with no confirmation ever coming
    _, locks = tables
    watch = watching(tables, manual_clock)
    start = manual_clock.now()
    held(locks, start)
    watch.park(ROUTER_CONFIRMED, asked(start), "token-0", TIMEOUT)

    # When the watcher ticks until it answers
    answer = watch.answer("token-0", within_seconds=TIMEOUT + SLOW_BEAT)

    # Then it answers routerNotConfirmed at the deadline, and not before
    assert answer["status"] == ROUTER_NOT_CONFIRMED
    assert answer["waitedSeconds"] == TIMEOUT == watch.ticked_at[-1] - start
    assert watch.ticked_at[-2] < start + TIMEOUT
    # And the ticks came a slow beat (100 s) apart (a hand-over's successor ticks at once), each a heartbeat but the
    # answer: the task (HeartbeatSeconds 300) is beaten at its watcher's first tick and every 100 s after (again by
    # a hand-over's successor, at its own first tick)
    assert {b - a for a, b in zip(watch.ticked_at, watch.ticked_at[1:], strict=False)} == {0, SLOW_BEAT}
    assert watch.tasks.beaten_at["token-0"] == watch.ticked_at[:-1]
    assert sorted(set(watch.tasks.beaten_at["token-0"])) == [start + s for s in range(0, TIMEOUT, SLOW_BEAT)]
    # And the lock (900 s) outlived the 1200 s wait, since parking renewed it: nobody else could take it
    assert locks.acquire(TARGET, "someone-else", manual_clock.now(), manual_clock.now() + 60) == OWNER
    assert locks.holder(TARGET, start + TIMEOUT + SETTINGS.lock_ttl_seconds) == OWNER
    assert locks.holder(TARGET, start + TIMEOUT + SETTINGS.lock_ttl_seconds + 1) is None


def test_a_long_router_wait_is_reported_for_the_router_wait_alarm(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a rotation parked on its router, and the metrics the watcher emits recorded
    emitted: list[tuple[str, float]] = []
    monkeypatch.setattr(watcher_logic.metrics, "add_metric", lambda name, unit, value: emitted.append((name, value)))
    _, locks = tables
    watch = watching(tables, manual_clock)
    start = manual_clock.now()
    held(locks, start)
    watch.park(ROUTER_CONFIRMED, asked(start), "token-0", TIMEOUT)
    # When the watcher ticks until the deadline
    watch.answer("token-0", within_seconds=TIMEOUT + SLOW_BEAT)
    # Then RouterWaitSeconds (the RouterWaitLong alarm's metric, its Maximum) grows with the wait, beat by beat
    waited = [value for name, value in emitted if name == "RouterWaitSeconds"]
    assert waited and waited == sorted(waited) and max(waited) >= TIMEOUT - SLOW_BEAT


def test_an_abort_ends_the_wait_at_once_and_a_lost_lock_is_an_error(
    tables: tuple[WaitsGateway, LocksGateway], manual_clock: ManualClock
) -> None:
    waits, locks = tables
    watch = watching(tables, manual_clock)
    held(locks, manual_clock.now())
    watch.park(ROUTER_CONFIRMED, asked(manual_clock.now()), "t1", TIMEOUT)
    watch.tick()
    assert watch.tasks.answers == {}
    locks.request_abort(OWNER, manual_clock.now())
    manual_clock.advance(SLOW_BEAT)
    watch.tick()
    assert watch.tasks.answers["t1"]["status"] == "aborted"
    assert watch.tasks.answers["t1"]["waitedSeconds"] == SLOW_BEAT
    # A lock another execution took (this one's expired meanwhile): parking fails and parks nothing.
    manual_clock.advance(TIMEOUT + SETTINGS.lock_ttl_seconds + 1)
    assert locks.acquire(TARGET, "another-execution", manual_clock.now(), manual_clock.now() + 900) is None
    with pytest.raises(TargetBusy, match="another-execution"):
        watch.park(ROUTER_CONFIRMED, asked(manual_clock.now()), "t2", TIMEOUT)
    assert waits.watched() == []
    assert locks.holder(TARGET, manual_clock.now()) == "another-execution"


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
