"""The watcher on DynamoDB (moto): one watcher at a time (the lease), one read of the fleet a tick, each parked
task answered exactly once when its condition resolves, heartbeats for the rest, a hand-over before Express's five
minutes, and an end (lease released) when nothing waits."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from moto import mock_aws

from macsec_rotation import clock
from macsec_rotation.gateways.directconnect import MacsecKey, Port, Target
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.gateways.waits import WaitsGateway
from macsec_rotation.logic.watcher import ASSOCIATED, REMOVED, RUN_SECONDS, park, tick
from macsec_rotation.models import Poll, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import ManualClock
from tests.unit.recorded import RecordedEvents, RecordedTasks

TARGET = "dxcon-aaaa1111"
NEW, OLD = "ab" * 32, "cd" * 32
OWNER = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"
SETTINGS = RuntimeSettings(watcher_tick_seconds=4, watcher_beat_seconds=20, encryption_settle_seconds=30)


class Fleet:
    """What one DescribeConnections + DescribeLags shows; counts the reads."""

    def __init__(self) -> None:
        self.keys = [MacsecKey(OLD, "arn:old", "associated"), MacsecKey(NEW, "arn:new", "associating")]
        self.port_up = True
        self.reads = 0

    def __call__(self) -> Mapping[str, Target]:
        self.reads += 1
        port = Port(TARGET, "available", "Encryption Up" if self.port_up else "Encryption Down")
        target = Target(TARGET, "connection", "available", True, "should_encrypt", tuple(self.keys), (port,))
        return {TARGET: target}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WaitsGateway, LocksGateway, ManualClock]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    manual = ManualClock()
    previous = clock.use(manual)
    with mock_aws():
        client = boto3.client("dynamodb")
        for name, key in (("waits", "id"), ("locks", "target")):
            client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        yield WaitsGateway(client, "waits"), LocksGateway(client, "locks"), manual
    clock.use(previous)


def item(**update: Any) -> TargetRotation:
    base = TargetRotation(
        secret_arn="arn:secret",
        version_id="v2",
        target=TARGET,
        target_type="connection",
        new_ckn=NEW,
        action="Associate",
        poll=Poll(interval_seconds=10, max_attempts=3),
        lock_owner=OWNER,
        ports_encrypted_before=[TARGET],
        ckns_before=[OLD],
    )
    return base.model_copy(update=update)


def park_item(condition: str, parked: TargetRotation, *rest: Any) -> None:
    """Park as the execution that holds the target's lock (the item's lock owner)."""
    park(condition, parked, *rest)


def run_tick(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
    name: str,
    fleet: Fleet,
    tasks: RecordedTasks,
    started: list[str],
    started_at: float = 0.0,
    lease_until: float = 0.0,
) -> Any:
    waits, locks, manual = world
    return tick(
        name,
        started_at or manual.now(),
        lease_until,
        waits,
        fleet,
        tasks,
        locks,
        RecordedEvents(),
        started.append,
        SETTINGS,
    )


def test_the_first_park_starts_one_watcher_and_the_next_parks_start_none(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, _ = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, waits, started.append, SETTINGS)
    park_item(ASSOCIATED, item(target="dxcon-bbbb2222"), "t2", 1800, waits, started.append, SETTINGS)
    assert len(started) == 1
    assert len(waits.watched()) == 2


def test_a_parked_association_is_answered_once_when_the_key_is_associated(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, waits, started.append, SETTINGS)
    (watcher,) = started
    fleet, tasks = Fleet(), RecordedTasks()
    assert run_tick(world, watcher, fleet, tasks, []).next == "tick"
    assert tasks.answers == {}
    fleet.keys[1] = MacsecKey(NEW, "arn:new", "associated")
    manual.advance(4)
    run_tick(world, watcher, fleet, tasks, [])
    assert tasks.answers["t1"]["status"] == "associated"
    assert fleet.reads == 2  # one read of the whole fleet a tick
    # Nothing waits any more: the watcher ends and gives the lease back.
    manual.advance(4)
    assert run_tick(world, watcher, fleet, tasks, []).next == "done"
    assert waits.take_lease("another", manual.now(), manual.now() + 18)


def test_a_second_watcher_stops_while_the_first_holds_the_lease(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, _ = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, waits, started.append, SETTINGS)
    fleet = Fleet()
    assert run_tick(world, "intruder", fleet, RecordedTasks(), []).next == "done"
    assert fleet.reads == 0


def test_the_association_times_out_at_its_deadline_and_an_abort_answers_at_once(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, locks, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 60, waits, started.append, SETTINGS)
    (watcher,) = started
    tasks = RecordedTasks()
    run_tick(world, watcher, Fleet(), tasks, [])
    manual.advance(60)
    run_tick(world, watcher, Fleet(), tasks, [])
    assert tasks.answers["t1"]["status"] == "timedOut" and tasks.answers["t1"]["waitedSeconds"] == 60
    park_item(ASSOCIATED, item(lock_owner="run-2"), "t2", 1800, waits, started.append, SETTINGS)
    locks.request_abort("run-2", manual.now())
    run_tick(world, watcher, Fleet(), tasks, [])
    assert tasks.answers["t2"]["status"] == "aborted"


def test_removal_waits_for_the_settle_period_and_carries_its_start_between_ticks(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(REMOVED, item(removed_ckns=[OLD]), "t1", 930, waits, started.append, SETTINGS)
    (watcher,) = started
    fleet, tasks = Fleet(), RecordedTasks()
    fleet.keys = [MacsecKey(NEW, "arn:new", "associated")]  # the old key is gone
    for _ in range(8):  # 28 s of good readings: not yet the 30 s settle
        run_tick(world, watcher, fleet, tasks, [])
        manual.advance(4)
    assert tasks.answers == {}
    run_tick(world, watcher, fleet, tasks, [])
    assert tasks.answers["t1"]["status"] == "removed"


def test_encryption_down_during_removal_is_answered_at_once(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, _ = world
    started: list[str] = []
    park_item(REMOVED, item(removed_ckns=[OLD]), "t1", 930, waits, started.append, SETTINGS)
    fleet, tasks = Fleet(), RecordedTasks()
    fleet.port_up = False
    run_tick(world, started[0], fleet, tasks, [])
    assert tasks.answers["t1"]["status"] == "encryptionDown"


def test_waiting_tasks_get_heartbeats_and_a_gone_task_is_dropped(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, waits, started.append, SETTINGS)
    tasks = RecordedTasks()
    for _ in range(6):  # 24 s
        run_tick(world, started[0], Fleet(), tasks, [])
        manual.advance(4)
    assert tasks.beats == ["t1"]  # once per watcher_beat_seconds, well inside the tasks' HeartbeatSeconds
    tasks.gone.add("t1")
    manual.advance(20)
    run_tick(world, started[0], Fleet(), tasks, [])
    assert waits.watched() == []


def test_a_parked_again_task_keeps_its_deadline(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    waits, _, manual = world
    park_item(ASSOCIATED, item(), "t1", 60, waits, lambda _: None, SETTINGS)
    manual.advance(50)
    park_item(ASSOCIATED, item(), "t2", 60, waits, lambda _: None, SETTINGS)  # after a missed heartbeat
    (parked,) = waits.watched()
    assert parked.task_token == "t2" and parked.deadline == parked.parked_at + 60 == manual.now() + 10


def test_a_watcher_hands_over_before_five_minutes(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, waits, started.append, SETTINGS)
    began = manual.now()
    manual.advance(RUN_SECONDS)
    successors: list[str] = []
    assert run_tick(world, started[0], Fleet(), RecordedTasks(), successors, started_at=began).next == "handover"
    (successor,) = successors
    # The lease is the successor's: the old watcher cannot renew it.
    assert run_tick(world, started[0], Fleet(), RecordedTasks(), []).next == "done"
    assert run_tick(world, successor, Fleet(), RecordedTasks(), []).next == "tick"


def test_the_lease_is_written_only_when_it_would_run_out(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, waits, started.append, SETTINGS)
    first = run_tick(world, started[0], Fleet(), RecordedTasks(), [])
    assert first.lease_until == manual.now() + SETTINGS.watcher_lease_seconds
    lease_until, renewals = first.lease_until, 0
    for _ in range(30):  # two minutes of ticks
        manual.advance(SETTINGS.watcher_tick_seconds)
        result = run_tick(world, started[0], Fleet(), RecordedTasks(), [], lease_until=lease_until)
        renewals += result.lease_until != lease_until
        assert result.lease_until - manual.now() > 0  # never lapses while it runs
        lease_until = result.lease_until
    assert renewals <= 30 // 4  # at most every fourth tick (30 s lease, renewed when 12 s are left)
    # Nobody else can take it meanwhile.
    assert not waits.take_lease("another", manual.now(), manual.now() + 30)
