"""Every parked wait at its bound, against the emulator and the watcher as the workflow runs it: up to the bound the
watcher keeps the task parked, at the first tick from the bound it answers with the wait's terminal status (and only
then its error), and an answered task is never answered again. Each bound comes from the settings (or the wait's
timeout, as the workflow parks it), so the timeout an operator configures is the one the watcher honours."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from local.directconnect import Connection
from macsec_rotation.clients import directconnect, secrets
from macsec_rotation.errors import TargetNotAuthorized
from macsec_rotation.gateways.directconnect import Target
from macsec_rotation.logic.association import associate_new_key
from macsec_rotation.logic.cleanup import removal_status, remove_old_keys
from macsec_rotation.logic.conditions import ASSOCIATED, LOCK_FREE, REMOVED, RESTORED, ROUTER_CONFIRMED
from macsec_rotation.logic.lock import acquire_lock, release_lock
from macsec_rotation.logic.prepare import plan_rotation, replan_under_lock
from macsec_rotation.logic.restore import restore_previous_keys
from macsec_rotation.logic.watcher import LEASE_MARGIN_SECONDS
from macsec_rotation.models import ConsoleInput, Poll, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import REGION, Emulated, new_key
from tests.unit.recorded import Watching, diverted, dynamodb_tables

TARGET = "dxcon-aaaa1111"
SETTINGS = RuntimeSettings(
    poll_interval_seconds=10,
    association_timeout_seconds=300,
    disassociation_timeout_seconds=60,
    encryption_settle_seconds=30,
    lock_ttl_seconds=120,
)
# The bounds these settings must give, worked out by hand.
ASSOCIATION_BOUND = 300  # the association timeout
LINGER_BOUND = 60  # old keys may linger the disassociation timeout; the time after it is the settle period's
REMOVAL_BOUND = 90  # 60 s to go + 30 s settle: how long the workflow parks the removal
RESTORE_BOUND = 390  # 60 s to go + 300 s to associate + 30 s settle
LOCK_BOUND = 120  # as long as a lock lives
TICK, BEAT = 4, 20  # the watcher's pace while Direct Connect is watched, and its tasks' heartbeat period
SLOW_BEAT = 100  # the watcher's longest wait (and heartbeat period) while only lock and router waits are parked
PAST_ANY_BOUND = 3600  # a broken bound fails the test instead of hanging it


def pair(key: tuple[str, str]) -> dict[str, str]:
    return {"ckn": key[0], "cak": key[1]}


class Fleet:
    """Direct Connect as the watcher reads it (once a tick, every target); counts the reads."""

    def __init__(self, emulated: Emulated) -> None:
        self.dx = directconnect(emulated.dx)
        self.reads = 0

    def __call__(self, lags: bool = True) -> Mapping[str, Target]:
        self.reads += 1
        return self.dx.describe_all(lags=lags)


def watching(emulated: Emulated) -> Watching:
    waits, locks = dynamodb_tables(boto3.client("dynamodb", region_name=REGION))
    return Watching(waits, locks, Fleet(emulated), emulated.clock, SETTINGS)


def answered_at_the_first_tick_from(watch: Watching, moment: float) -> None:
    """The answer came at the first tick at or after `moment`: every earlier tick kept the task parked."""
    assert watch.ticked_at[-1] >= moment
    assert all(at < moment for at in watch.ticked_at[:-1] if at != watch.ticked_at[-1])
    assert watch.ticked_at[-1] - moment < TICK


def link(emulated: Emulated, *, router_has_new_key: bool = True) -> tuple[Connection, tuple[str, str]]:
    """A connection on its old key, and a secret whose current version is a new key: returns the old key."""
    old, new = new_key(), new_key()
    connection = Connection(TARGET, "c", True, "should_encrypt", tags={"macsec:secret": "macsec/x"})
    emulated.backend.add_connection(connection)
    emulated.backend.seed_key(connection, *old)
    emulated.backend.seed_router_ckns(connection, [old[0], new[0]] if router_has_new_key else [old[0]])
    arn = emulated.secret("macsec/x", pair(old), {"macsec:target": TARGET})
    emulated.secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(pair(new)))
    return connection, old


def associated(emulated: Emulated) -> TargetRotation:
    """The rotation planned under its lock and its new key put on the link."""
    sm, dx = secrets(emulated.secrets), directconnect(emulated.dx)
    (item,) = plan_rotation(ConsoleInput(secret_id="macsec/x"), sm, dx, SETTINGS).targets
    item = associate_new_key(replan_under_lock(item, sm, dx, SETTINGS), sm, dx)
    return item.model_copy(update={"lock_owner": "exec-1"})


def removing(emulated: Emulated) -> TargetRotation:
    """The new key associated and the old keys just removed."""
    item = associated(emulated)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    return remove_old_keys(item, directconnect(emulated.dx), SETTINGS)


def encryption_down(emulated: Emulated) -> TargetRotation:
    """The new key the router lacks associated, the old key removed, and the removal wait's first look (10 s on)
    finding encryption down."""
    link(emulated, router_has_new_key=False)
    item = removing(emulated)
    emulated.clock.advance(10)
    down = removal_status(item, directconnect(emulated.dx).describe(TARGET), 10, SETTINGS)
    assert down.status == "encryptionDown"
    return down


def restore_round(emulated: Emulated, item: TargetRotation) -> TargetRotation:
    return restore_previous_keys(item, secrets(emulated.secrets), directconnect(emulated.dx), SETTINGS)


def held_lock(watch: Watching, owner: str, target: str = TARGET, seconds: float = 3600) -> None:
    now = watch.clock.now()
    assert watch.locks.acquire(target, owner, now, now + seconds) is None


def waiting_item(owner: str, target: str = TARGET, **update: Any) -> TargetRotation:
    return TargetRotation(
        secret_arn="arn",
        version_id="v",
        target=target,
        target_type="connection",
        new_ckn="ab" * 32,
        lock_owner=owner,
        poll=Poll(interval_seconds=10, max_attempts=1),
        **update,
    )


# ---- the bounds come from the settings ----


@pytest.mark.parametrize(
    ("settings", "restore", "lease"),
    [
        (SETTINGS, RESTORE_BOUND, 50),
        (RuntimeSettings(), 900 + 1800 + 30, 50),  # the documented defaults
        (RuntimeSettings(watcher_tick_seconds=30, watcher_beat_seconds=10, encryption_settle_seconds=0), 2700, 70),
        (RuntimeSettings(watcher_tick_seconds=2, watcher_beat_seconds=5), 2730, 50),
    ],
    ids=["these-tests", "defaults", "slow-tick", "fast-beat"],
)
def test_each_bound_covers_its_configured_time(settings: RuntimeSettings, restore: int, lease: int) -> None:
    # The restore waits for an old key to go, a key to associate, then the settle period.
    assert settings.restore_budget_seconds == restore
    # The watcher's lease (renewed at a tick once no more than a tick and the margin are left) outlives two ticks
    # and the margin, so that a watcher ticking every tick writes it at most every other tick; never less than 50 s.
    assert settings.watcher_lease_seconds == lease
    assert settings.watcher_lease_seconds > 2 * settings.watcher_tick_seconds + LEASE_MARGIN_SECONDS
    # A slow watcher (only lock and router waits parked) ticks at most a slow beat apart, never faster than a tick.
    assert settings.watcher_slow_beat_seconds == SLOW_BEAT >= settings.watcher_tick_seconds


# ---- the association wait ----


def test_a_key_that_never_associates_times_out_at_the_deadline_and_not_before(emulated: Emulated) -> None:
    # Given a new key Direct Connect keeps `associating`
    connection, _ = link(emulated)
    connection.stuck_state = "associating"
    item = associated(emulated)
    watch = watching(emulated)
    parked_at = emulated.clock.now()

    # When the execution parks on it for the association timeout
    watch.park(ASSOCIATED, item, "t1", SETTINGS.association_timeout_seconds)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then the watcher fails the task to the roll-back at the first tick from the deadline, timedOut, the whole
    # timeout after parking
    state = diverted(answer, "KeyNotAssociated")
    assert state["status"] == "timedOut" and state["waitedSeconds"] == ASSOCIATION_BOUND
    answered_at_the_first_tick_from(watch, parked_at + ASSOCIATION_BOUND)
    # And the answered task is no longer watched: the next tick ends the watcher with nothing to answer again
    assert watch.waits.watched() == []
    assert watch.tick().next == "done"
    assert (list(watch.tasks.failures), watch.tasks.answers) == (["t1"], {})


def test_a_key_that_becomes_associated_at_the_deadline_counts_as_associated(emulated: Emulated) -> None:
    # Given a new key that takes exactly the association timeout to associate
    link(emulated)
    emulated.backend.behaviour.association_seconds = SETTINGS.association_timeout_seconds
    item = associated(emulated)
    watch = watching(emulated)

    # When the execution parks on it for the association timeout
    watch.park(ASSOCIATED, item, "t1", SETTINGS.association_timeout_seconds)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then the tick at the deadline finds it associated: the rotation goes on instead of rolling it back
    assert answer["status"] == "associated" and answer["waitedSeconds"] == ASSOCIATION_BOUND


# ---- the removal wait (removal_status, parked for the disassociation timeout and the settle period) ----


def test_old_keys_that_linger_time_out_at_the_disassociation_timeout_and_not_before(emulated: Emulated) -> None:
    # Given old keys Direct Connect keeps `disassociating`
    connection, old = link(emulated)
    connection.stuck_state = "disassociating"
    item = removing(emulated)
    assert item.removed_ckns == [old[0]]
    watch = watching(emulated)
    parked_at = emulated.clock.now()

    # When the execution parks on the removal
    watch.park(REMOVED, item, "t1", REMOVAL_BOUND)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then it fails DisassociationTimeout at the first tick from the disassociation timeout, naming the key
    assert answer["error"] == "DisassociationTimeout" and old[0] in answer["cause"]
    assert "after 60s" in answer["cause"]
    answered_at_the_first_tick_from(watch, parked_at + LINGER_BOUND)
    # And removal_status itself holds the line: a second before it waits, and without a failure
    target = directconnect(emulated.dx).describe(TARGET)
    before = removal_status(item, target, LINGER_BOUND - 1, SETTINGS)
    assert (before.status, before.failure) == ("removing", None)


def test_old_keys_gone_at_the_disassociation_timeout_still_get_the_whole_settle_period(emulated: Emulated) -> None:
    # Given old keys that take the whole disassociation timeout to go
    link(emulated)
    emulated.backend.behaviour.disassociation_seconds = SETTINGS.disassociation_timeout_seconds
    item = removing(emulated)
    watch = watching(emulated)
    parked_at = emulated.clock.now()

    # When the execution parks on the removal
    watch.park(REMOVED, item, "t1", REMOVAL_BOUND)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then it counts as removed within the bound, and only after encryption held across the settle period
    assert answer["status"] == "removed" and answer["failure"] is None
    assert answer["settledSince"] == parked_at + LINGER_BOUND
    answered_at_the_first_tick_from(watch, parked_at + REMOVAL_BOUND)


def test_old_keys_gone_after_the_disassociation_timeout_never_count_as_removed_unsettled(emulated: Emulated) -> None:
    # Given old keys that go only after the disassociation timeout (95 s against 60 s)
    link(emulated)
    emulated.backend.behaviour.disassociation_seconds = 95
    item = removing(emulated)
    watch = watching(emulated)
    parked_at = emulated.clock.now()

    # When the execution parks on the removal
    watch.park(REMOVED, item, "t1", REMOVAL_BOUND)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then it fails DisassociationTimeout once they outlived the timeout, and never claims removed without settling
    assert answer["error"] == "DisassociationTimeout" and "still disassociating after 60s" in answer["cause"]
    answered_at_the_first_tick_from(watch, parked_at + LINGER_BOUND)


# ---- the restore wait ----


def test_a_restore_that_never_succeeds_stops_at_its_budget_and_not_before(emulated: Emulated) -> None:
    # Given a router that lacks the new key, and Direct Connect refusing the old CKN for as long as it is listed
    # (for ever)
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    down = encryption_down(emulated)
    watch = watching(emulated)

    # When the safety net runs its round and parks on the restore
    item = restore_round(emulated, down)
    assert item.status == "waitingForRestore" and item.restoring_since == emulated.clock.now()
    watch.park(RESTORED, item, "t1", RESTORE_BOUND)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then nothing sends it back (the refused key's listing never changes), and it stops at the first tick from
    # its budget with EncryptionDown, telling the operator to act now
    assert answer["status"] == "restoreTimedOut" and answer["waitedSeconds"] == 392  # the first 4 s tick from 390
    answered_at_the_first_tick_from(watch, item.restoring_since + RESTORE_BOUND)
    assert answer["failure"]["error"] == "EncryptionDown" and "Act now" in answer["failure"]["cause"]
    # And a round past the budget (a retry of the restore step) does not wait again: the first tick ends it
    again = restore_round(emulated, TargetRotation.model_validate(answer))
    assert again.restoring_since == item.restoring_since
    watch.park(RESTORED, again, "t2", RESTORE_BOUND)
    watch.tick()
    assert watch.tasks.answers["t2"]["status"] == "restoreTimedOut"


@pytest.mark.parametrize(
    ("disassociation_seconds", "answered_after"),
    [(50, 40), (15, BEAT)],
    ids=["at-the-change", "not-before-a-heartbeat-period"],
)
def test_a_refused_restore_key_is_tried_again_once_its_listing_changed_and_not_before(
    emulated: Emulated, disassociation_seconds: int, answered_after: int
) -> None:
    # Given Direct Connect refuses the old CKN while it is listed, the old key taking a while to go
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociation_seconds = disassociation_seconds
    down = encryption_down(emulated)  # 10 s after the removal
    watch = watching(emulated)

    # When the restore round is refused and parks
    item = restore_round(emulated, down)
    assert (item.status, item.restored_ckns) == ("waitingForRestore", [])
    (refused,) = item.refused_ckns
    parked_at = emulated.clock.now()
    watch.park(RESTORED, item, "t1", RESTORE_BOUND)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then the watcher sends it back once the key is no longer listed, but not sooner than a heartbeat period
    assert answer["status"] == "restoring" and answer["waitedSeconds"] == answered_after
    answered_at_the_first_tick_from(watch, parked_at + answered_after)
    # And the next round puts the key back, and the restore completes
    item = restore_round(emulated, TargetRotation.model_validate(answer))
    assert item.status == "waitingForRestore" and refused in [c.lower() for c in item.restored_ckns]
    watch.park(RESTORED, item, "t2", RESTORE_BOUND)
    assert watch.answer("t2", PAST_ANY_BOUND)["status"] == "restored"


# ---- the lock wait ----


def test_waiting_for_a_held_lock_ends_target_busy_at_the_deadline_and_not_before(emulated: Emulated) -> None:
    # Given another execution holds the target's lock (and keeps it alive)
    watch = watching(emulated)
    held_lock(watch, "exec-A")
    started = emulated.clock.now()

    # When a second execution asks for it, and parks for as long as a lock lives
    waiting = acquire_lock(waiting_item(None), watch.locks, "exec-B", SETTINGS)
    assert (waiting.status, waiting.failure) == ("waitingForLock", None)
    watch.park(LOCK_FREE, waiting, "t1", SETTINGS.lock_ttl_seconds)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then it gives up with TargetBusy at the deadline, naming the holder, and has read no Direct Connect
    assert answer["status"] == "busy" and answer["waitedSeconds"] == LOCK_BOUND
    answered_at_the_first_tick_from(watch, started + LOCK_BOUND)
    assert answer["failure"]["error"] == "TargetBusy" and "exec-A" in answer["failure"]["cause"]
    assert watch.read_fleet.reads == 0  # type: ignore[attr-defined]
    # And the watcher looked a slow beat apart, then at the deadline: min(100 s, the time left to it)
    assert watch.ticked_at == [started, started + SLOW_BEAT, started + LOCK_BOUND]
    # And the holder keeps its lock
    assert watch.locks.holder(TARGET, emulated.clock.now()) == "exec-A"


@pytest.mark.parametrize(
    ("holder_ttl", "released_at", "taken_after"),
    [(3600, 50, SLOW_BEAT), (80, None, SLOW_BEAT), (SLOW_BEAT + 10, None, LOCK_BOUND)],
    ids=["released", "expired", "expired-after-the-slow-tick"],
)
def test_a_lock_freed_before_the_deadline_is_taken_for_the_waiter(
    emulated: Emulated, holder_ttl: int, released_at: int | None, taken_after: int
) -> None:
    # Given another execution holds the target's lock, and a second parks waiting for it
    watch = watching(emulated)
    held_lock(watch, "exec-A", seconds=holder_ttl)
    started = emulated.clock.now()
    waiting = acquire_lock(waiting_item(None), watch.locks, "exec-B", SETTINGS)
    watch.park(LOCK_FREE, waiting, "t1", SETTINGS.lock_ttl_seconds)
    first = watch.tick()
    assert (first.next, first.wait_seconds, watch.tasks.answers) == ("tick", SLOW_BEAT, {})

    # When the holder releases it (or, crashed, lets it expire) before the deadline, while the watcher waits
    if released_at is not None:
        emulated.clock.advance(released_at)
        release_lock(waiting_item("exec-A"), watch.locks, "exec-A", None)
        emulated.clock.advance(first.wait_seconds - released_at)
    else:
        emulated.clock.advance(first.wait_seconds)
    answer = watch.answer("t1", PAST_ANY_BOUND)

    # Then the watcher takes it for the waiter at its next tick, for as long as a lock lives
    assert (answer["status"], answer["lockOwner"], answer["failure"]) == ("locked", "exec-B", None)
    assert answer["waitedSeconds"] == taken_after == watch.ticked_at[-1] - started
    freed = released_at if released_at is not None else holder_ttl
    assert watch.ticked_at[-2] < started + freed <= watch.ticked_at[-1]  # the tick before still found it held
    now = emulated.clock.now()
    assert watch.locks.holder(TARGET, now) == "exec-B"
    assert watch.locks.holder(TARGET, now + SETTINGS.lock_ttl_seconds) == "exec-B"
    assert watch.read_fleet.reads == 0  # type: ignore[attr-defined]


# ---- an operator's abort ----


def test_an_abort_ends_the_lock_router_and_association_waits_at_the_next_beat(emulated: Emulated) -> None:
    # Given an association, a lock wait and a router wait parked, each its own execution's
    connection, _ = link(emulated)
    connection.stuck_state = "associating"
    association = associated(emulated)
    watch = watching(emulated)
    held_lock(watch, "exec-X", "dxcon-bbbb2222")
    held_lock(watch, "exec-3", "dxcon-cccc3333")
    lock_wait = acquire_lock(waiting_item(None, "dxcon-bbbb2222"), watch.locks, "exec-2", SETTINGS)
    router = waiting_item("exec-3", "dxcon-cccc3333", router_confirmation="callback", status="waitingForRouter")
    watch.park(ASSOCIATED, association, "association", SETTINGS.association_timeout_seconds)
    watch.park(LOCK_FREE, lock_wait, "lock", SETTINGS.lock_ttl_seconds)
    watch.park(ROUTER_CONFIRMED, router, "router", SETTINGS.router_confirmation_timeout_seconds)
    first = watch.tick()
    assert (first.parked, watch.tasks.answers) == (3, {})

    # When the operator aborts the three executions (just after the watcher's first tick, which beat them)
    for execution in ("exec-1", "exec-2", "exec-3"):
        watch.locks.request_abort(execution, emulated.clock.now())
    emulated.clock.advance(first.wait_seconds)
    watch.answer("router", PAST_ANY_BOUND)

    # Then the first tick a beat is due (aborts are looked for then, not every tick) answers all three aborted (the
    # association to its roll-back); the lock wait, which holds nothing, with its failure
    assert watch.ticked_at == [watch.ticked_at[0] + s for s in range(0, BEAT + 1, TICK)]
    answers = {**watch.tasks.answers, "association": diverted(watch.outcome("association"), "KeyNotAssociated")}
    assert {token: a["status"] for token, a in answers.items()} == dict.fromkeys(
        ("association", "lock", "router"), "aborted"
    )
    assert {a["waitedSeconds"] for a in answers.values()} == {BEAT}
    assert answers["lock"]["failure"]["error"] == "Aborted"
    assert watch.waits.watched() == []
    # And nobody's lock changed hands
    assert watch.locks.holder("dxcon-bbbb2222", emulated.clock.now()) == "exec-X"
    assert watch.locks.holder("dxcon-cccc3333", emulated.clock.now()) == "exec-3"


# ---- found missing by `make mutate` (mutation/mutate.py) ----


@pytest.mark.parametrize(("state", "capable"), [("down", True), ("available", False)], ids=["down", "not-capable"])
def test_a_target_not_bound_to_the_secret_is_refused_as_unbound_whatever_else_is_wrong(
    emulated: Emulated, state: str, capable: bool
) -> None:
    # Given a target its owner bound to another secret, which is also down or not MACsec-capable
    connection = Connection(TARGET, "c", capable, "should_encrypt", tags={"macsec:secret": "macsec/other"}, state=state)
    emulated.backend.add_connection(connection)
    emulated.secret("macsec/x", pair(new_key()), {"macsec:target": TARGET})

    # When a rotation is asked for with this secret
    with pytest.raises(TargetNotAuthorized) as refused:
        plan_rotation(
            ConsoleInput(secret_id="macsec/x"), secrets(emulated.secrets), directconnect(emulated.dx), SETTINGS
        )

    # Then the operator is told the one thing only the target's owner can fix: the binding
    assert "macsec:secret=macsec/x" in str(refused.value)


def test_a_key_listed_as_disassociated_does_not_fill_the_keychain(emulated: Emulated) -> None:
    # Given two associated keys and a third one listed as `disassociated` (Direct Connect lists it for ever)
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    connection, _ = link(emulated)
    for key in (new_key(), new_key()):
        emulated.backend.seed_key(connection, *key)
    gone = emulated.dx.describe_connections(connectionId=TARGET)["connections"][0]["macSecKeys"][-1]
    emulated.dx.disassociate_mac_sec_key(connectionId=TARGET, secretARN=gone["secretARN"])
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)

    # When the rotation plans and associates the new key
    item = associated(emulated)

    # Then the new key goes on next to the two live keys
    assert item.action == "Associate"
    listed = emulated.dx.describe_connections(connectionId=TARGET)["connections"][0]["macSecKeys"]
    assert [k["state"] for k in listed] == ["associated", "associated", "disassociated", "associating"]
