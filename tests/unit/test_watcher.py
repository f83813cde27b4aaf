"""The watcher on DynamoDB (moto): one watcher at a time (the lease), one read of the fleet a tick (none while only
the lock and router waits are parked, looked at every 100 s at most), each parked task answered
exactly once when its condition resolves, heartbeats for the rest, a hand-over before Express's five minutes, and an
end (lease released) when nothing waits."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from typing import Any

import boto3
import pytest
from moto import mock_aws

from macsec_rotation import clock
from macsec_rotation.gateways.directconnect import MacsecKey, Port, Target
from macsec_rotation.gateways.events import OLD_KEYS_REMOVED
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.gateways.waits import WaitsGateway
from macsec_rotation.logic.conditions import ASSOCIATED, LOCK_FREE, REMOVED, RESTORED, ROUTER_CONFIRMED
from macsec_rotation.logic.router import confirm_router_key
from macsec_rotation.logic.watcher import LEASE_MARGIN_SECONDS, RUN_SECONDS, park, tick
from macsec_rotation.models import Poll, TargetRotation
from macsec_rotation.observability import metrics
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import ManualClock
from tests.unit.recorded import RecordedEvents, RecordedTasks, Watching, diverted, dynamodb_tables

TARGET = "dxcon-aaaa1111"
NEW, OLD = "ab" * 32, "cd" * 32
OWNER = "arn:aws:states:us-east-1:123456789012:execution:sm:run-1"
SETTINGS = RuntimeSettings(watcher_tick_seconds=4, watcher_beat_seconds=20, encryption_settle_seconds=30)


class Fleet:
    """What one DescribeConnections + DescribeLags shows; counts the reads."""

    def __init__(self) -> None:
        self.keys = [MacsecKey(OLD, "arn:old", "associated"), MacsecKey(NEW, "arn:new", "associating")]
        self.port_up = True
        self.reads = self.lag_reads = 0
        self.extra: str | None = None  # another connection listed with the same keys

    def __call__(self, lags: bool = True) -> Mapping[str, Target]:
        self.reads += 1
        self.lag_reads += lags
        port = Port(TARGET, "available", "Encryption Up" if self.port_up else "Encryption Down")
        target = Target(TARGET, "connection", "available", True, "should_encrypt", tuple(self.keys), (port,))
        listed = {TARGET: target}
        if self.extra:
            listed[self.extra] = Target(self.extra, "connection", "available", True, None, tuple(self.keys), ())
        return listed


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
    BEATEN_AT.clear()  # each test's watchers start afresh
    with mock_aws():
        waits, locks = dynamodb_tables(boto3.client("dynamodb"))
        yield waits, locks, manual
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


def park_item(
    condition: str,
    parked: TargetRotation,
    token: str,
    timeout: int,
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
    started: list[str],
) -> None:
    """Park as the execution the item names (its lock owner), starting a watcher into `started` if none runs."""
    waits, locks, _ = world
    park(condition, parked, token, timeout, waits, locks, started.append, SETTINGS)


def lock_wait_parked(world: tuple[WaitsGateway, LocksGateway, ManualClock], started: list[str]) -> None:
    """A lock another run holds and a run parked waiting for it: nothing that reads Direct Connect, so the
    watcher it starts is a slow one (100 s between ticks)."""
    _, locks, manual = world
    locks.acquire(TARGET, "run-0", manual.now(), manual.now() + 5400)
    park_item(LOCK_FREE, item(lock_owner="run-2", status="waitingForLock"), "lock", 5400, world, started)


BEATEN_AT: dict[str, float] = {}  # watcher name -> when it last heartbeat every parked task


def run_tick(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
    name: str,
    fleet: Fleet,
    tasks: RecordedTasks,
    started: list[str],
    started_at: float = 0.0,
    lease_until: float = 0.0,
    events: RecordedEvents | None = None,
) -> Any:
    waits, locks, manual = world
    result = tick(
        name,
        started_at or manual.now(),
        lease_until,
        BEATEN_AT.get(name, 0.0),  # as the watcher's Express state carries it from tick to tick
        waits,
        fleet,
        tasks,
        locks,
        events or RecordedEvents(),
        started.append,
        SETTINGS,
    )
    metrics.clear_metrics()  # the tick handler's log_metrics flushes them after each invocation
    BEATEN_AT[name] = result.beaten_at
    return result


def test_the_first_park_starts_one_watcher_and_the_next_parks_start_none(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, _ = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, world, started)
    park_item(ASSOCIATED, item(target="dxcon-bbbb2222"), "t2", 1800, world, started)
    assert len(started) == 1
    assert len(waits.watched()) == 2


def test_the_lags_are_listed_only_while_a_lag_waits(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    # Given a connection's association parked: DescribeConnections alone shows its keys and port
    _, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "connection", 1800, world, started)
    fleet, tasks = Fleet(), RecordedTasks()
    run_tick(world, started[0], fleet, tasks, [])
    assert (fleet.reads, fleet.lag_reads) == (1, 0)
    # When a LAG's association parks too, the next tick lists the LAGs as well
    lag = item(target="dxlag-bbbb2222", target_type="lag", lock_owner="run-lag")
    park_item(ASSOCIATED, lag, "lag", 1800, world, started)
    manual.advance(4)
    run_tick(world, started[0], fleet, tasks, [])
    assert (fleet.reads, fleet.lag_reads) == (2, 1)


def test_a_parked_association_is_answered_once_when_the_key_is_associated(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, world, started)
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
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, world, started)
    fleet = Fleet()
    assert run_tick(world, "intruder", fleet, RecordedTasks(), []).next == "done"
    assert fleet.reads == 0


def test_the_association_times_out_at_its_deadline_and_an_abort_answers_at_the_next_beat(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    _, locks, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 60, world, started)
    (watcher,) = started
    tasks = RecordedTasks()
    run_tick(world, watcher, Fleet(), tasks, [])
    manual.advance(60)
    run_tick(world, watcher, Fleet(), tasks, [])  # a beat tick: this watcher last beat 60 s ago
    # Not associated: the task fails to the roll-back, with the state data as its cause.
    error, cause = tasks.failures["t1"]
    timed_out = diverted({"error": error, "cause": cause}, "KeyNotAssociated")
    assert timed_out["status"] == "timedOut" and timed_out["waitedSeconds"] == 60
    beat_at = manual.now()
    park_item(ASSOCIATED, item(lock_owner="run-2"), "t2", 1800, world, started)
    locks.request_abort("run-2", beat_at)
    # An abort is looked for only when a beat is due: the ticks before the next beat leave the task parked
    for _ in range(SETTINGS.watcher_beat_seconds // SETTINGS.watcher_tick_seconds):
        run_tick(world, watcher, Fleet(), tasks, [])
        assert "t2" not in tasks.failures
        manual.advance(SETTINGS.watcher_tick_seconds)
    assert manual.now() == beat_at + SETTINGS.watcher_beat_seconds
    run_tick(world, watcher, Fleet(), tasks, [])
    error, cause = tasks.failures["t2"]
    aborted = diverted({"error": error, "cause": cause}, "KeyNotAssociated")
    assert (aborted["status"], aborted["waitedSeconds"]) == ("aborted", SETTINGS.watcher_beat_seconds)
    assert tasks.answers == {}


def test_removal_waits_for_the_settle_period_and_carries_its_start_between_ticks(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    _, _, manual = world
    started: list[str] = []
    park_item(REMOVED, item(removed_ckns=[OLD]), "t1", 930, world, started)
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
    started: list[str] = []
    park_item(REMOVED, item(removed_ckns=[OLD]), "t1", 930, world, started)
    fleet, tasks = Fleet(), RecordedTasks()
    fleet.port_up = False
    run_tick(world, started[0], fleet, tasks, [])
    # The task fails to the restore, with the state data as its cause.
    error, cause = tasks.failures["t1"]
    assert diverted({"error": error, "cause": cause}, "EncryptionDown")["status"] == "encryptionDown"
    assert tasks.answers == {}


def test_waiting_tasks_get_heartbeats_and_a_gone_task_is_dropped(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, world, started)
    began = manual.now()
    tasks = RecordedTasks()
    for _ in range(11):  # 44 s
        run_tick(world, started[0], Fleet(), tasks, [])
        manual.advance(4)
    # At the new watcher's first tick, then once per watcher_beat_seconds, well inside the tasks' HeartbeatSeconds
    assert tasks.beaten_at["t1"] == [began, began + 20, began + 40]
    tasks.gone.add("t1")
    manual.advance(16)  # 20 s after the last beat
    run_tick(world, started[0], Fleet(), tasks, [])
    assert waits.watched() == []


def test_a_parked_again_task_keeps_its_deadline(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    waits, _, manual = world
    park_item(ASSOCIATED, item(), "t1", 60, world, [])
    manual.advance(50)
    park_item(ASSOCIATED, item(), "t2", 60, world, [])  # after a missed heartbeat
    (parked,) = waits.watched()
    assert parked.task_token == "t2" and parked.deadline == parked.parked_at + 60 == manual.now() + 10


def test_a_watcher_hands_over_before_five_minutes(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    _, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, world, started)
    began = manual.now()
    manual.advance(RUN_SECONDS)
    successors: list[str] = []
    assert run_tick(world, started[0], Fleet(), RecordedTasks(), successors, started_at=began).next == "handover"
    (successor,) = successors
    # The lease is the successor's: the old watcher cannot renew it.
    assert run_tick(world, started[0], Fleet(), RecordedTasks(), []).next == "done"
    assert run_tick(world, successor, Fleet(), RecordedTasks(), []).next == "tick"


def test_a_slow_watcher_hands_over_before_its_next_tick_would_pass_five_minutes(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given only a lock wait parked: the watcher looks every 100 s
    waits, _, manual = world
    began = manual.now()
    started: list[str] = []
    lock_wait_parked(world, started)
    successors: list[str] = []
    ticks = []
    for _ in range(3):
        ticks.append(run_tick(world, started[0], Fleet(), RecordedTasks(), successors, started_at=began))
        manual.advance(ticks[-1].wait_seconds)
    # Then at 200 s it hands over (a tick at 300 s would come after Express ended it) and its successor runs
    assert [t.next for t in ticks] == ["tick", "tick", "handover"]
    assert len(successors) == 1 and waits.take_lease("another", manual.now(), manual.now() + 10) is False


def test_the_lease_is_written_only_when_it_would_run_out(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    waits, _, manual = world
    started: list[str] = []
    park_item(ASSOCIATED, item(), "t1", 1800, world, started)
    first = run_tick(world, started[0], Fleet(), RecordedTasks(), [])
    assert first.lease_until == manual.now() + SETTINGS.watcher_lease_seconds == manual.now() + 50
    lease_until, renewals = first.lease_until, 0
    for _ in range(30):  # two minutes of ticks
        manual.advance(SETTINGS.watcher_tick_seconds)
        result = run_tick(world, started[0], Fleet(), RecordedTasks(), [], lease_until=lease_until)
        assert result.wait_seconds == SETTINGS.watcher_tick_seconds
        renewals += result.lease_until != lease_until
        # Never lapses before the next tick is well under way.
        assert result.lease_until - (manual.now() + result.wait_seconds) >= LEASE_MARGIN_SECONDS
        lease_until = result.lease_until
    # A 50 s lease renewed when 12 s (a tick and the margin) are left: every tenth 4 s tick, not every tick.
    assert renewals == 30 // 10
    # Nobody else can take it meanwhile, not even a wait that needs Direct Connect: this watcher looks every tick.
    now = manual.now()
    assert not waits.take_lease("another", now, now + 30)
    assert not waits.take_lease("another", now, now + 30, take_over_after=now + SETTINGS.watcher_tick_seconds + 1)


def test_the_lease_outlives_the_slow_beat_between_two_slow_ticks(
    world: tuple[WaitsGateway, LocksGateway, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given only a router wait: the watcher ticks every 100 s
    waits, locks, manual = world
    locks.acquire(TARGET, OWNER, manual.now(), manual.now() + 5400)
    started: list[str] = []
    park_item(ROUTER_CONFIRMED, item(router_confirmation="callback"), "t1", 3600, world, started)
    writes: list[tuple[float, float, float]] = []
    renew = waits.renew_lease

    def recorded_renewal(holder: str, now: float, expires_at: float, next_tick_at: float) -> bool:
        writes.append((now, expires_at, next_tick_at))
        return renew(holder, now, expires_at, next_tick_at)

    monkeypatch.setattr(waits, "renew_lease", recorded_renewal)
    lease_until = 0.0
    for _ in range(12):  # twenty minutes of ticks
        now = manual.now()
        result = run_tick(world, started[0], Fleet(), RecordedTasks(), [], lease_until=lease_until)
        assert result.wait_seconds == SETTINGS.watcher_slow_beat_seconds == 100
        # When the next tick comes the lease is still this watcher's, with the margin to spare; the lease says
        # when this watcher looks next.
        assert result.lease_until == now + result.wait_seconds + LEASE_MARGIN_SECONDS
        assert writes[-1] == (now, result.lease_until, now + result.wait_seconds)
        lease_until = result.lease_until
        manual.advance(result.wait_seconds)
        # Nobody else can take it before then (a wait that needs Direct Connect could: see the takeover test).
        assert not waits.take_lease("another", manual.now() - 1, manual.now() + 30)
    # Each slow tick renews it at its start (8 s are left, no more than a tick and the margin) and for the wait
    # ahead: two writes a hundred seconds.
    assert len(writes) == 2 * 12
    assert [w[2] for w in writes[::2]] == [w[0] for w in writes[::2]]  # at the start: looking now


def test_the_watcher_waits_for_the_nearest_deadline_when_it_comes_before_the_slow_beat(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given a lock wait whose deadline is 130 s away
    _, locks, manual = world
    locks.acquire(TARGET, "run-0", manual.now(), manual.now() + 5400)
    started: list[str] = []
    park_item(LOCK_FREE, item(lock_owner="run-2", status="waitingForLock"), "t1", 130, world, started)
    tasks, lease_until, waited = RecordedTasks(), 0.0, []

    # When the watcher ticks until it answers
    while not tasks.answered("t1"):
        result = run_tick(world, started[0], Fleet(), tasks, [], lease_until=lease_until)
        waited.append(result.wait_seconds)
        lease_until = result.lease_until
        manual.advance(result.wait_seconds)

    # Then it looked after 100 s, then after the 30 s left, and answered busy at the deadline
    assert waited[:2] == [100, 30]
    assert (tasks.answers["t1"]["status"], tasks.answers["t1"]["waitedSeconds"]) == ("busy", 130)


# ---- which waits need Direct Connect ----


def test_only_lock_and_router_waits_parked_read_no_direct_connect_and_tick_every_slow_beat(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given a router wait (its execution holds the lock) and a lock wait behind it
    _, locks, manual = world
    locks.acquire(TARGET, OWNER, manual.now(), manual.now() + 5400)
    started: list[str] = []
    park_item(ROUTER_CONFIRMED, item(router_confirmation="callback"), "t1", 3600, world, started)
    park_item(LOCK_FREE, item(lock_owner="run-2", status="waitingForLock"), "t2", 5400, world, started)
    fleet, tasks = Fleet(), RecordedTasks()

    # When the watcher ticks
    first = run_tick(world, started[0], fleet, tasks, [])

    # Then it reads nothing of Direct Connect, and comes back after a slow beat
    assert (first.next, first.wait_seconds, first.parked) == ("tick", 100, 2)
    assert fleet.reads == 0 and tasks.answers == {}

    # And once an association waits too (taking the lease over, the slow watcher looking only in 100 s) the new
    # watcher reads the fleet once a tick, every 4 s
    manual.advance(10)
    park_item(ASSOCIATED, item(target="dxcon-bbbb2222", lock_owner="run-3"), "t3", 1800, world, started)
    fleet.extra = "dxcon-bbbb2222"
    assert len(started) == 2
    second = run_tick(world, started[1], fleet, tasks, [])
    assert (second.wait_seconds, second.parked, fleet.reads) == (4, 3, 1)

    # And once it is answered the watcher slows down again and stops reading
    fleet.keys[1] = MacsecKey(NEW, "arn:new", "associated")
    manual.advance(second.wait_seconds)
    third = run_tick(world, started[1], fleet, tasks, [], lease_until=second.lease_until)
    assert tasks.answers["t3"]["status"] == "associated"
    manual.advance(third.wait_seconds)
    fourth = run_tick(world, started[1], fleet, tasks, [], lease_until=third.lease_until)
    assert (fourth.wait_seconds, fourth.parked, fleet.reads) == (100, 2, 2)
    assert set(tasks.answers) == {"t3"}


def test_a_wait_that_needs_direct_connect_takes_the_lease_over_from_a_slow_watcher(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given a slow watcher: only a lock wait is parked, and it looks next in 100 s
    waits, _, manual = world
    began = manual.now()
    started: list[str] = []
    lock_wait_parked(world, started)
    (slow,) = started
    slow_fleet, slow_tasks = Fleet(), RecordedTasks()
    first = run_tick(world, slow, slow_fleet, slow_tasks, [])
    assert (first.next, first.wait_seconds, slow_fleet.reads) == ("tick", 100, 0)
    assert slow_tasks.beats == ["lock"]  # a new watcher beats at its first tick

    # When another lock wait parks meanwhile, it leaves the slow watcher be
    manual.advance(5)
    park_item(LOCK_FREE, item(lock_owner="run-3", status="waitingForLock"), "lock-2", 5400, world, started)
    assert started == [slow]
    # But when an association parks, it takes the lease over and starts a new watcher, which looks at once
    manual.advance(5)
    park_item(ASSOCIATED, item(target="dxcon-bbbb2222", lock_owner="run-4"), "association", 1800, world, started)
    assert len(started) == 2
    fast = started[1]
    fleet, tasks, lease_until = Fleet(), RecordedTasks(), 0.0
    fleet.extra = "dxcon-bbbb2222"
    while manual.now() < began + first.wait_seconds:
        result = run_tick(world, fast, fleet, tasks, [], lease_until=lease_until)
        assert (result.next, result.wait_seconds, result.parked) == ("tick", 4, 3)
        lease_until = result.lease_until
        manual.advance(result.wait_seconds)
    assert fleet.reads == 23  # every 4 s from the parking (10 s) to the slow watcher's next tick (100 s)
    ticked_until = manual.now()
    manual.value = began + first.wait_seconds  # the slow watcher's Wait ends between two of the new one's ticks

    # Then the old watcher, waking with the lock wait due a heartbeat and the key just associated, fails to renew the
    # lease and stops: it reads, answers, beats and starts nothing more
    fleet.keys[1] = MacsecKey(NEW, "arn:new", "associated")
    successors: list[str] = []
    woke = run_tick(world, slow, slow_fleet, slow_tasks, successors, lease_until=first.lease_until)
    assert woke.next == "done"
    assert (slow_fleet.reads, slow_tasks.answers, slow_tasks.failures, slow_tasks.beats) == (0, {}, {}, ["lock"])
    assert successors == [] and len(waits.watched()) == 3
    # And the new watcher goes on holding the lease: its next tick answers the association
    manual.value = ticked_until
    assert run_tick(world, fast, fleet, tasks, [], lease_until=lease_until).next == "tick"
    assert tasks.answers["association"]["status"] == "associated"
    assert not waits.take_lease(slow, manual.now(), manual.now() + 30)


def test_a_watcher_about_to_look_is_not_taken_over(world: tuple[WaitsGateway, LocksGateway, ManualClock]) -> None:
    # Given a watcher with only a lock wait parked, whose deadline is a tick and a second away (it looks then)
    _, locks, manual = world
    locks.acquire(TARGET, "run-0", manual.now(), manual.now() + 5400)
    started: list[str] = []
    park_item(LOCK_FREE, item(lock_owner="run-2", status="waitingForLock"), "lock", 105, world, started)
    first = run_tick(world, started[0], Fleet(), RecordedTasks(), [])
    manual.advance(first.wait_seconds)
    second = run_tick(world, started[0], Fleet(), RecordedTasks(), [], lease_until=first.lease_until)
    assert second.wait_seconds == SETTINGS.watcher_tick_seconds + 1

    # When an association parks, it leaves the lease to that watcher, which reads Direct Connect at its next tick
    park_item(ASSOCIATED, item(target="dxcon-bbbb2222", lock_owner="run-4"), "association", 1800, world, started)
    assert len(started) == 1


def test_lock_and_router_waits_alone_are_looked_at_and_beaten_at_most_every_slow_beat(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given a router wait (its execution holds the lock, its deadline 250 s away) and a lock wait behind it
    waits, locks, manual = world
    began = manual.now()
    locks.acquire(TARGET, OWNER, began, began + 5400)
    fleet = Fleet()
    watch = Watching(waits, locks, fleet, manual, SETTINGS)
    watch.park(ROUTER_CONFIRMED, item(router_confirmation="callback"), "router", 250)
    watch.park(LOCK_FREE, item(lock_owner="run-2", status="waitingForLock"), "lock", 5400)

    # When the watcher runs (ticking when its Wait ends), the router confirming 230 s in
    next_tick_at = [began]

    def run_until(moment: float) -> None:
        while next_tick_at[0] < moment:
            manual.advance(next_tick_at[0] - manual.now())
            result = watch.tick()
            assert result.next in ("tick", "handover")  # a hand-over's successor looks at once
            next_tick_at[0] = manual.now() + result.wait_seconds
        manual.advance(moment - manual.now())

    run_until(began + 230)
    assert confirm_router_key({"target": TARGET, "ckn": NEW}, waits, watch.tasks) == ROUTER_CONFIRMED
    run_until(began + 360)

    # Then it read nothing of Direct Connect, and looked every 100 s or at the router's deadline if sooner; once
    # the router answered, every 100 s again
    assert fleet.reads == 0
    assert sorted({t - began for t in watch.ticked_at}) == [0, 100, 200, 250, 350]
    # And, its ticks at least a heartbeat period apart, every tick beat every task still parked (the hand-over's
    # successor beating again at its first tick): each task every 100 s at most, well inside HeartbeatSeconds (300)
    # (the watcher hands over at 200 s, since its next tick would come too close to Express's five minutes)
    assert sorted(set(watch.tasks.beaten_at["router"])) == [began + 0, began + 100, began + 200]
    assert watch.tasks.beaten_at["lock"] == watch.ticked_at

    # When an association parks beside the lock wait
    watcher = watch.watcher
    watch.park(ASSOCIATED, item(target="dxcon-bbbb2222", lock_owner="run-3"), "association", 1800)
    fleet.extra = "dxcon-bbbb2222"
    parked_at = next_tick_at[0] = manual.now()  # it took the lease over: its new watcher looks at once
    assert watch.watcher != watcher
    run_until(parked_at + 120)

    # Then the watcher (the one the association started) reads the fleet every 4 s, beating every parked task (the
    # lock wait too) at its first tick and every 20 s, not every tick
    fast_ticks = [t for t in watch.ticked_at if t >= parked_at]
    assert {b - a for a, b in pairwise(fast_ticks)} == {SETTINGS.watcher_tick_seconds}
    assert fleet.reads == len(fast_ticks) == 120 // 4
    beats = [parked_at + s for s in range(0, 120, SETTINGS.watcher_beat_seconds)]
    assert watch.tasks.beaten_at["association"] == beats
    assert [t for t in watch.tasks.beaten_at["lock"] if t >= parked_at] == beats
    assert watch.tasks.answers.keys() == {"router"}


# ---- a beat costs no write; who must look when ----


WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def test_a_tick_that_only_beats_writes_nothing_to_dynamodb(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given an association still associating and a lock wait behind another execution's lock, watched through a
    # client that records every DynamoDB call
    _, locks, manual = world
    began = manual.now()
    locks.acquire(TARGET, "run-0", began, began + 5400)
    started: list[str] = []
    park_item(ASSOCIATED, item(), "association", 1800, world, started)
    park_item(LOCK_FREE, item(lock_owner="run-2", status="waitingForLock"), "lock", 5400, world, started)
    client = boto3.client("dynamodb")
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", record)
    counted = (WaitsGateway(client, "waits"), LocksGateway(client, "locks"), manual)
    tasks, lease_until = RecordedTasks(), 0.0
    first = run_tick(counted, started[0], Fleet(), tasks, [])
    assert "PutItem" in calls  # the first tick takes its lease: the recording sees writes
    lease_until = first.lease_until

    # When the watcher ticks every 4 s up to its next beat, 20 s on
    written: list[list[str]] = []
    for _ in range(SETTINGS.watcher_beat_seconds // SETTINGS.watcher_tick_seconds):
        manual.advance(SETTINGS.watcher_tick_seconds)
        calls.clear()
        result = run_tick(counted, started[0], Fleet(), tasks, [], lease_until=lease_until)
        assert (result.next, result.answered, result.lease_until) == ("tick", 0, lease_until)
        written.append([call for call in calls if call in WRITES])

    # Then it beat both tasks at that tick, and no tick wrote anything to DynamoDB (reads only)
    beat_at = began + SETTINGS.watcher_beat_seconds
    assert tasks.beaten_at == {"association": [began, beat_at], "lock": [began, beat_at]}
    assert written == [[]] * 5
    assert "Scan" in calls


def test_a_router_wait_already_confirmed_takes_the_lease_over_from_a_slow_watcher(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given a slow watcher: only a lock wait is parked, and it looks next in 100 s
    waits, locks, manual = world
    started: list[str] = []
    lock_wait_parked(world, started)
    first = run_tick(world, started[0], Fleet(), RecordedTasks(), [])
    assert first.wait_seconds == 100

    # When a router wait with no confirmation yet parks, it leaves the slow watcher be (its deadline is an hour away)
    manual.advance(10)
    for target, owner in (("dxcon-bbbb2222", "run-3"), ("dxcon-cccc3333", "run-4")):
        locks.acquire(target, owner, manual.now(), manual.now() + 5400)
    pending = item(target="dxcon-bbbb2222", lock_owner="run-3", router_confirmation="callback")
    park_item(ROUTER_CONFIRMED, pending, "pending", 3600, world, started)
    assert len(started) == 1
    # But one whose confirmation is already recorded takes the lease over and starts a new watcher
    confirmed = item(target="dxcon-cccc3333", lock_owner="run-4", router_confirmation="callback")
    waits.record_confirmation("dxcon-cccc3333", NEW, manual.now())
    park_item(ROUTER_CONFIRMED, confirmed, "confirmed", 3600, world, started)
    assert len(started) == 2

    # Then the new watcher's first tick answers it, reading nothing of Direct Connect; the others stay parked
    fleet, tasks = Fleet(), RecordedTasks()
    result = run_tick(world, started[1], fleet, tasks, [])
    assert tasks.answers.keys() == {"confirmed"} and tasks.answers["confirmed"]["status"] == ROUTER_CONFIRMED
    assert (result.parked, result.answered, result.wait_seconds, fleet.reads) == (3, 1, 100, 0)
    assert sorted(w.task_token for w in waits.watched()) == ["lock", "pending"]


def test_a_lock_wait_due_before_a_slow_watchers_next_tick_takes_the_lease_over(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given a slow watcher: only a lock wait is parked, and it looks next in 100 s
    waits, _, manual = world
    began = manual.now()
    started: list[str] = []
    lock_wait_parked(world, started)
    first = run_tick(world, started[0], Fleet(), RecordedTasks(), [])
    assert first.wait_seconds == 100

    # When a lock wait parks whose deadline is that next tick, it leaves the slow watcher be
    manual.advance(10)
    park_item(LOCK_FREE, item(lock_owner="run-3", status="waitingForLock"), "at-the-tick", 90, world, started)
    assert len(started) == 1
    # But one whose deadline comes a second sooner takes the lease over and starts a new watcher
    park_item(LOCK_FREE, item(lock_owner="run-4", status="waitingForLock"), "sooner", 89, world, started)
    assert len(started) == 2

    # Then the new watcher looks at its deadline and answers it busy then
    tasks, lease_until = RecordedTasks(), 0.0
    while not tasks.answered("sooner"):
        result = run_tick(world, started[1], Fleet(), tasks, [], lease_until=lease_until)
        assert result.next == "tick"
        lease_until = result.lease_until
        manual.advance(result.wait_seconds)
    assert (tasks.answers["sooner"]["status"], tasks.answers["sooner"]["waitedSeconds"]) == ("busy", 89)
    assert manual.now() - result.wait_seconds == began + 99
    assert len(waits.watched()) == 2


def association_parked_before_the_long_wait_is_written(
    world: tuple[WaitsGateway, LocksGateway, ManualClock], started: list[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[], None]:
    """The next lease write for a long wait finds an association parked just before it (as if it parked between the
    watcher's scan and that write); returns what undoes it."""
    waits = world[0]
    renew = waits.renew_lease

    def parked_meanwhile(holder: str, now: float, expires_at: float, next_tick_at: float) -> bool:
        if next_tick_at > now and not waits.watched()[1:]:  # once, before the write for the long wait
            association = item(target="dxcon-bbbb2222", lock_owner="run-3")
            park_item(ASSOCIATED, association, "association", 1800, world, started)
        return renew(holder, now, expires_at, next_tick_at)

    monkeypatch.setattr(waits, "renew_lease", parked_meanwhile)
    return lambda: monkeypatch.setattr(waits, "renew_lease", renew)


def test_a_direct_connect_wait_parked_while_a_slow_watcher_renews_is_looked_at_after_a_tick(
    world: tuple[WaitsGateway, LocksGateway, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a watcher with only a lock wait parked, about to write its lease for a 100 s wait
    waits, _, manual = world
    started: list[str] = []
    lock_wait_parked(world, started)
    (slow,) = started
    # When an association parks between its scan and that write (it sees the lease looking now: no takeover)
    undo = association_parked_before_the_long_wait_is_written(world, started, monkeypatch)
    fleet, tasks = Fleet(), RecordedTasks()
    fleet.extra = "dxcon-bbbb2222"
    fleet.keys[1] = MacsecKey(NEW, "arn:new", "associated")
    first = run_tick(world, slow, fleet, tasks, [])
    assert started == [slow] and len(waits.watched()) == 2

    # Then the watcher looks again after a tick, not after the 100 s it wrote, and answers the association then
    assert (first.next, first.wait_seconds, fleet.reads) == ("tick", SETTINGS.watcher_tick_seconds, 0)
    undo()
    manual.advance(first.wait_seconds)
    run_tick(world, slow, fleet, tasks, [], lease_until=first.lease_until)
    assert fleet.reads == 1 and tasks.answers["association"]["status"] == "associated"


def test_a_watcher_sped_up_by_the_rescan_is_not_taken_over(
    world: tuple[WaitsGateway, LocksGateway, ManualClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a watcher that wrote its lease for a 100 s wait, then found an association parked meanwhile
    _, _, manual = world
    started: list[str] = []
    lock_wait_parked(world, started)
    undo = association_parked_before_the_long_wait_is_written(world, started, monkeypatch)
    first = run_tick(world, started[0], Fleet(), RecordedTasks(), [])
    undo()
    assert first.wait_seconds == SETTINGS.watcher_tick_seconds

    # When another association parks before its next tick
    manual.advance(2)
    park_item(ASSOCIATED, item(target="dxcon-cccc3333", lock_owner="run-4"), "association-2", 1800, world, started)

    # Then it leaves the lease to that watcher, which looks in 2 s anyway: one watcher runs
    assert len(started) == 1


def test_a_wait_on_a_target_direct_connect_no_longer_lists_is_answered_target_gone(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    started: list[str] = []
    park_item(RESTORED, item(target="dxcon-gone0000"), "t1", 2730, world, started)
    tasks = RecordedTasks()
    run_tick(world, started[0], Fleet(), tasks, [])
    answer = tasks.answers["t1"]
    assert answer["status"] == "targetGone" and answer["failure"]["error"] == "TargetNotFound"
    assert "dxcon-gone0000" in answer["failure"]["cause"]


def test_a_removal_under_callback_tells_the_router_its_old_keys_may_go(
    world: tuple[WaitsGateway, LocksGateway, ManualClock],
) -> None:
    # Given a removal whose router keeps the old key until told, and encryption already settled
    _, _, manual = world
    started: list[str] = []
    settled = item(removed_ckns=[OLD], router_confirmation="callback", settled_since=manual.now() - 30)
    park_item(REMOVED, settled, "t1", 930, world, started)
    fleet, tasks, events = Fleet(), RecordedTasks(), RecordedEvents()
    fleet.keys = [MacsecKey(NEW, "arn:new", "associated")]

    # When the watcher answers the removal
    run_tick(world, started[0], fleet, tasks, [], events=events)

    # Then the router automation hears the old keys are gone, once
    assert tasks.answers["t1"]["status"] == "removed"
    assert events.put_events == [(OLD_KEYS_REMOVED, {"target": TARGET, "ckns": [OLD], "executionArn": OWNER})]
