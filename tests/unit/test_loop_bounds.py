"""Every bounded wait at its bound, against the emulator: one round before the bound the step still waits, at
the bound it ends with its terminal status (and only then its error), and past the bound nothing goes back to
waiting (the state machine's Choice loops on the waiting status alone). Each bound comes from the settings, so
the timeout an operator configures is the one the loop honours."""

from __future__ import annotations

import json
from collections.abc import Callable

import boto3
import pytest

from local.directconnect import Connection
from macsec_rotation.clients import directconnect, secrets
from macsec_rotation.errors import TargetNotAuthorized
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.logic.association import associate_new_key, check_association
from macsec_rotation.logic.cleanup import check_removal, remove_old_keys
from macsec_rotation.logic.lock import acquire_lock, release_lock
from macsec_rotation.logic.prepare import plan_rotation, replan_under_lock
from macsec_rotation.logic.restore import restore_previous_keys
from macsec_rotation.models import ConsoleInput, Poll, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import REGION, Emulated, ManualClock, new_key

TARGET = "dxcon-aaaa1111"
SETTINGS = RuntimeSettings(
    poll_interval_seconds=10,
    association_timeout_seconds=300,
    disassociation_timeout_seconds=60,
    encryption_settle_seconds=30,
    lock_poll_seconds=30,
    lock_ttl_seconds=120,
)
# The bounds these settings must give, worked out by hand.
ASSOCIATION_BOUND = 30  # 300 s at 10 s a round
REMOVAL_BOUND = 10  # (60 s to go + 30 s settle) at 10 s a round, and one round more
LINGER_BOUND = 6  # old keys may linger 60 s; the rounds after that are the settle period's
RESTORE_BOUND = 40  # (60 s to go + 300 s to associate + 30 s settle) at 10 s a round, and one round more
LOCK_BOUND = 4  # a lock lives 120 s, tried every 30 s
PAST_ANY_BOUND = 200  # a broken bound fails the test instead of hanging it

Step = Callable[[TargetRotation], TargetRotation]


def pair(key: tuple[str, str]) -> dict[str, str]:
    return {"ckn": key[0], "cak": key[1]}


def rounds(
    step: Step, item: TargetRotation, waiting: str, clock: ManualClock, *, wait_first: bool = True
) -> list[TargetRotation]:
    """Each answer of a wait loop run as the state machine runs it: (Wait, step) again while the step answers
    `waiting`, every Wait as long as the answer's poll interval."""
    answers: list[TargetRotation] = []
    while len(answers) < PAST_ANY_BOUND:
        if answers or wait_first:
            clock.advance((answers[-1] if answers else item).poll.interval_seconds)
        answers.append(step(answers[-1] if answers else item))
        if answers[-1].status != waiting:
            break
    return answers


def statuses(answers: list[TargetRotation]) -> list[str]:
    return [a.status for a in answers]


def at_attempt(item: TargetRotation, attempt: int) -> TargetRotation:
    return item.model_copy(update={"poll": item.poll.model_copy(update={"attempt": attempt})})


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
    return associate_new_key(replan_under_lock(item, sm, dx, SETTINGS), sm, dx)


def removing(emulated: Emulated) -> TargetRotation:
    """The new key associated and the old keys just removed."""
    item = associated(emulated)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    return remove_old_keys(item, directconnect(emulated.dx), SETTINGS)


# ---- the bounds come from the settings ----


@pytest.mark.parametrize(
    ("settings", "association", "removal", "restore", "lock"),
    [
        (SETTINGS, ASSOCIATION_BOUND, REMOVAL_BOUND, RESTORE_BOUND, LOCK_BOUND),
        (RuntimeSettings(), 180, 94, 274, 90),  # the documented defaults
        (
            RuntimeSettings(
                poll_interval_seconds=7,
                association_timeout_seconds=100,
                disassociation_timeout_seconds=50,
                encryption_settle_seconds=0,
                lock_poll_seconds=45,
                lock_ttl_seconds=100,
            ),
            15,  # 100 / 7 rounded up: the wait covers the whole timeout
            9,
            23,
            3,
        ),
    ],
    ids=["these-tests", "defaults", "uneven-rounds"],
)
def test_each_bound_covers_its_configured_time_and_no_more_than_a_round_beyond(
    settings: RuntimeSettings, association: int, removal: int, restore: int, lock: int
) -> None:
    assert settings.poll_for(settings.association_timeout_seconds).max_attempts == association
    assert settings.removal_poll().max_attempts == removal
    assert settings.restore_poll().max_attempts == restore
    assert settings.lock_poll().max_attempts == lock
    for poll, seconds in (
        (settings.poll_for(settings.association_timeout_seconds), settings.association_timeout_seconds),
        (settings.lock_poll(), settings.lock_ttl_seconds),
    ):
        assert (poll.max_attempts - 1) * poll.interval_seconds < seconds <= poll.max_attempts * poll.interval_seconds


# ---- the association check ----


def test_a_key_that_never_associates_times_out_at_the_bound_and_not_before(emulated: Emulated) -> None:
    # Given a new key Direct Connect keeps `associating`
    connection, _ = link(emulated)
    connection.stuck_state = "associating"
    item = associated(emulated)
    assert item.poll == Poll(interval_seconds=10, max_attempts=ASSOCIATION_BOUND)
    started = emulated.clock.now()

    # When the association is checked round after round
    answers = rounds(lambda i: check_association(i, directconnect(emulated.dx)), item, "associating", emulated.clock)

    # Then it still waits at bound - 1 and times out at the bound, the whole configured timeout after the request
    assert statuses(answers) == ["associating"] * (ASSOCIATION_BOUND - 1) + ["timedOut"]
    assert answers[-1].poll.attempt == ASSOCIATION_BOUND
    assert emulated.clock.now() - started == SETTINGS.association_timeout_seconds
    # And asked again past the bound it does not go back to waiting
    assert check_association(answers[-1], directconnect(emulated.dx)).status == "timedOut"


def test_a_key_that_becomes_associated_at_the_last_attempt_counts_as_associated(emulated: Emulated) -> None:
    # Given a new key that takes exactly as long as the last check to associate
    link(emulated)
    emulated.backend.behaviour.association_seconds = ASSOCIATION_BOUND * SETTINGS.poll_interval_seconds
    item = associated(emulated)

    # When the association is checked round after round
    answers = rounds(lambda i: check_association(i, directconnect(emulated.dx)), item, "associating", emulated.clock)

    # Then the last check finds it associated: the rotation goes on instead of rolling it back
    assert statuses(answers) == ["associating"] * (ASSOCIATION_BOUND - 1) + ["associated"]
    assert check_association(answers[-1], directconnect(emulated.dx)).status == "associated"


# ---- the removal check ----


def test_old_keys_that_linger_time_out_at_the_bound_and_not_before(emulated: Emulated) -> None:
    # Given old keys Direct Connect keeps `disassociating`
    connection, old = link(emulated)
    connection.stuck_state = "disassociating"
    item = removing(emulated)
    assert item.removed_ckns == [old[0]]
    assert item.poll == Poll(interval_seconds=10, max_attempts=REMOVAL_BOUND)

    # When the removal is checked round after round
    answers = rounds(lambda i: check_removal(i, directconnect(emulated.dx), SETTINGS), item, "removing", emulated.clock)

    # Then it waits without a failure until bound - 1, and fails DisassociationTimeout at the bound
    assert statuses(answers) == ["removing"] * (LINGER_BOUND - 1) + ["timedOut"]
    assert all(a.failure is None for a in answers[:-1])
    assert answers[-1].failure is not None and answers[-1].failure.error == "DisassociationTimeout"
    assert old[0] in answers[-1].failure.cause
    # And asked again past the bound it does not go back to waiting
    again = check_removal(answers[-1], directconnect(emulated.dx), SETTINGS)
    assert again.status == "timedOut" and again.failure is not None


def test_old_keys_gone_at_the_disassociation_timeout_still_get_the_whole_settle_period(emulated: Emulated) -> None:
    # Given old keys that take the whole disassociation timeout to go
    link(emulated)
    emulated.backend.behaviour.disassociation_seconds = SETTINGS.disassociation_timeout_seconds
    item = removing(emulated)

    # When the removal is checked round after round
    answers = rounds(lambda i: check_removal(i, directconnect(emulated.dx), SETTINGS), item, "removing", emulated.clock)

    # Then it counts as removed within the bound, and only after encryption held across the settle period
    assert answers[-1].status == "removed"
    assert len(answers) < REMOVAL_BOUND
    settled_since = answers[-1].settled_since
    assert settled_since is not None
    assert emulated.clock.now() - settled_since >= SETTINGS.encryption_settle_seconds


def test_old_keys_gone_after_the_disassociation_timeout_never_count_as_removed_unsettled(emulated: Emulated) -> None:
    # Given old keys that go only after the disassociation timeout (95 s against 60 s)
    link(emulated)
    emulated.backend.behaviour.disassociation_seconds = 95
    item = removing(emulated)

    # When the removal is checked round after round
    answers = rounds(lambda i: check_removal(i, directconnect(emulated.dx), SETTINGS), item, "removing", emulated.clock)

    # Then it fails DisassociationTimeout once they outlived the timeout, and never claims removed without settling
    assert statuses(answers) == ["removing"] * (LINGER_BOUND - 1) + ["timedOut"]
    assert answers[-1].failure is not None and answers[-1].failure.error == "DisassociationTimeout"


# ---- the restore ----


def test_a_restore_that_never_succeeds_stops_at_the_bound_and_not_before(emulated: Emulated) -> None:
    # Given a router that lacks the new key, and Direct Connect refusing the old CKN for as long as it is listed
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    link(emulated, router_has_new_key=False)
    emulated.clock.advance(SETTINGS.poll_interval_seconds)
    down = check_removal(removing(emulated), directconnect(emulated.dx), SETTINGS)
    assert down.status == "encryptionDown"

    # When the safety net runs round after round (its first round at once)
    def restore(item: TargetRotation) -> TargetRotation:
        return restore_previous_keys(item, secrets(emulated.secrets), directconnect(emulated.dx), SETTINGS)

    answers = rounds(restore, down, "restoring", emulated.clock, wait_first=False)

    # Then it goes on until bound - 1 and stops at the bound with EncryptionDown, telling the operator to act now
    assert statuses(answers) == ["restoring"] * (RESTORE_BOUND - 1) + ["restoreTimedOut"]
    assert answers[0].poll.max_attempts == RESTORE_BOUND
    assert all(a.failure is None for a in answers[:-1])
    assert answers[-1].failure is not None and answers[-1].failure.error == "EncryptionDown"
    assert "Act now" in answers[-1].failure.cause
    # And a round past the bound (one more try of the same round) does not go back to waiting
    assert restore(at_attempt(answers[-2], RESTORE_BOUND)).status == "restoreTimedOut"


# ---- the lock wait ----


def waiting_item() -> TargetRotation:
    return TargetRotation(
        secret_arn="arn",
        version_id="v",
        target=TARGET,
        target_type="connection",
        poll=SETTINGS.poll_for(SETTINGS.association_timeout_seconds),
    )


def lock_table(emulated: Emulated) -> LocksGateway:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": "target", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "target", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return LocksGateway(client, "locks")


def test_waiting_for_a_held_lock_ends_target_busy_at_the_bound_and_not_before(emulated: Emulated) -> None:
    # Given another execution holds the target's lock
    locks = lock_table(emulated)
    assert acquire_lock(waiting_item(), locks, "exec-A", SETTINGS).status == "locked"
    started = emulated.clock.now()

    # When a second execution tries at once, then after each wait
    answers = rounds(
        lambda i: acquire_lock(i, locks, "exec-B", SETTINGS),
        waiting_item(),
        "waitingForLock",
        emulated.clock,
        wait_first=False,
    )

    # Then it waits until bound - 1 and gives up with TargetBusy at the bound, before the holder's lock expires
    assert statuses(answers) == ["waitingForLock"] * (LOCK_BOUND - 1) + ["busy"]
    assert answers[0].poll == Poll(interval_seconds=30, max_attempts=LOCK_BOUND, attempt=1)
    assert all(a.failure is None for a in answers[:-1])
    assert answers[-1].failure is not None and answers[-1].failure.error == "TargetBusy"
    assert "exec-A" in answers[-1].failure.cause
    assert emulated.clock.now() - started < SETTINGS.lock_ttl_seconds
    # And a try past the bound (one more try of the last waiting round) does not go back to waiting
    assert acquire_lock(at_attempt(answers[-2], LOCK_BOUND), locks, "exec-B", SETTINGS).status == "busy"


def test_a_lock_freed_before_the_last_attempt_is_taken_at_it(emulated: Emulated) -> None:
    # Given another execution holds the target's lock, and a second has waited until bound - 1
    locks = lock_table(emulated)
    held = acquire_lock(waiting_item(), locks, "exec-A", SETTINGS)
    waiting = acquire_lock(waiting_item(), locks, "exec-B", SETTINGS)
    for _ in range(LOCK_BOUND - 2):
        waiting = acquire_lock(waiting, locks, "exec-B", SETTINGS)
    assert (waiting.status, waiting.poll.attempt) == ("waitingForLock", LOCK_BOUND - 1)

    # When the holder releases it just before the last attempt
    release_lock(held, locks, None)
    taken = acquire_lock(waiting, locks, "exec-B", SETTINGS)

    # Then the last attempt takes it
    assert (taken.status, taken.lock_owner, taken.failure) == ("locked", "exec-B", None)


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
