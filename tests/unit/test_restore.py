"""The safety net against the emulator: what is restored, how often, and when it counts as done (one restore round,
then the watcher's RESTORED condition, restoration_status, decides: done, once more, or out of time)."""

from __future__ import annotations

import boto3

from local.directconnect import Connection
from macsec_rotation import clock
from macsec_rotation.clients import directconnect, secrets
from macsec_rotation.gateways.directconnect import MacsecKey, Port, Target
from macsec_rotation.logic.association import associate_new_key
from macsec_rotation.logic.cleanup import removal_status, remove_old_keys
from macsec_rotation.logic.conditions import RESTORED
from macsec_rotation.logic.prepare import plan_rotation, replan_under_lock
from macsec_rotation.logic.restore import keys_listed, restoration_status, restore_previous_keys
from macsec_rotation.models import ConsoleInput, Poll, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import REGION, Emulated, new_key
from tests.unit.recorded import Watching, dynamodb_tables

TARGET = "dxcon-aaaa1111"
SETTINGS = RuntimeSettings(poll_interval_seconds=10, encryption_settle_seconds=30, association_timeout_seconds=300)


def pair(key: tuple[str, str]) -> dict[str, str]:
    return {"ckn": key[0], "cak": key[1]}


def live(emulated: Emulated) -> list[tuple[str, str]]:
    described = emulated.dx.describe_connections(connectionId=TARGET)["connections"][0]
    return [(k["ckn"], k["state"]) for k in described["macSecKeys"] if k["state"] != "disassociated"]


def rotated_without_the_router(
    emulated: Emulated, old: tuple[str, str], writes: list[tuple[str, str]]
) -> TargetRotation:
    """A must_encrypt link on `old`, secret writes of keys the router lacks, the last one planned and put on
    the link, the old key removed: the removal wait has just seen encryption go down."""
    target = Connection(TARGET, "c", True, "must_encrypt", tags={"macsec:secret": "macsec/x"})
    emulated.backend.add_connection(target)
    emulated.backend.seed_router_ckns(target, [old[0]])
    emulated.backend.seed_key(target, *old)
    arn = emulated.secret("macsec/x", pair(old), {"macsec:target": TARGET})
    for key in writes:
        emulated.secrets.put_secret_value(SecretId=arn, SecretString=f'{{"ckn": "{key[0]}", "cak": "{key[1]}"}}')
    sm, dx = secrets(emulated.secrets), directconnect(emulated.dx)
    (item,) = plan_rotation(ConsoleInput(secret_id="macsec/x"), sm, dx, SETTINGS).targets
    item = replan_under_lock(item, sm, dx, SETTINGS)
    item = associate_new_key(item, sm, dx)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    item = remove_old_keys(item.model_copy(update={"status": "associated"}), dx, SETTINGS)
    emulated.clock.advance(SETTINGS.poll_interval_seconds)
    item = removal_status(item, dx.describe(TARGET), SETTINGS.poll_interval_seconds, SETTINGS)
    assert item.status == "encryptionDown"
    return item.model_copy(update={"lock_owner": "exec-1"})


def restore_round(emulated: Emulated, item: TargetRotation) -> TargetRotation:
    return restore_previous_keys(item, secrets(emulated.secrets), directconnect(emulated.dx), SETTINGS)


def status(emulated: Emulated, item: TargetRotation) -> TargetRotation:
    """What the watcher's RESTORED condition sees now."""
    return restoration_status(item, directconnect(emulated.dx).describe(TARGET), SETTINGS)


def until_done(emulated: Emulated, item: TargetRotation) -> tuple[TargetRotation, int]:
    """The workflow from the restore step on: a round, parked on RESTORED until the watcher answers, a round again
    while it answers `restoring`. Returns the last answer and how many rounds ran."""
    waits, locks = dynamodb_tables(boto3.client("dynamodb", region_name=REGION))
    watch = Watching(waits, locks, directconnect(emulated.dx).describe_all, emulated.clock, SETTINGS)
    rounds = 0
    while True:
        item = restore_round(emulated, item)
        rounds += 1
        if item.status != "waitingForRestore":
            return item, rounds
        watch.park(RESTORED, item, f"token-{rounds}", SETTINGS.restore_budget_seconds)
        item = TargetRotation.model_validate(watch.answer(f"token-{rounds}", SETTINGS.restore_budget_seconds))
        if item.status != "restoring":
            return item, rounds


def test_the_keys_on_the_link_when_the_rotation_planned_are_restored_not_awsprevious(emulated: Emulated) -> None:
    # Given two quick writes of keys the router lacks: AWSPREVIOUS is the first bad key by the time of the restore
    old, first_bad, second_bad = new_key(), new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [first_bad, second_bad])
    assert item.ckns_before == [old[0]]

    # When the safety net runs
    item, rounds = until_done(emulated, item)

    # Then the good key is back in one round, the first bad key never came near the link, and encryption is up again
    assert (item.status, rounds) == ("restored", 1)
    assert item.failure is not None and item.failure.error == "EncryptionDown"
    assert old[0] in item.failure.cause
    assert sorted(live(emulated)) == sorted([(old[0], "associated"), (second_bad[0], "associated")])
    assert emulated.backend.snapshot()[TARGET]["portEncryptionStatus"] == "Encryption Up"


def test_a_round_run_twice_associates_once(emulated: Emulated) -> None:
    old, bad = new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [bad])
    first = restore_round(emulated, item)
    again = restore_round(emulated, item)  # the same input: a retry after a crash that followed the work
    assert first.status == again.status == "waitingForRestore"
    assert [ckn for ckn, _ in live(emulated)].count(old[0]) == 1
    assert first.restored_ckns == [old[0]] and first.refused_ckns == {}
    assert first.restoring_since == emulated.clock.now()


def test_a_refused_key_is_tried_again_once_its_listing_changed_and_not_before(emulated: Emulated) -> None:
    # Given Direct Connect refuses a CKN until it is no longer listed, and keys take 30 s to disassociate
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociation_seconds = 30
    old, bad = new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [bad])

    # When the restore runs while the old key is still disassociating, it is refused, and how it was listed is kept
    item = restore_round(emulated, item)
    assert (item.status, item.restored_ckns) == ("waitingForRestore", [])
    assert item.refused_ckns.keys() == {old[0].lower()}
    assert f"{old[0].lower()}:disassociating" in item.refused_ckns[old[0].lower()]
    assert (old[0], "disassociating") in live(emulated)

    # Then while it is listed the same the restore only waits; once it is no longer listed it goes again
    emulated.clock.advance(19)  # 29 s after the removal
    assert status(emulated, item).status == "waitingForRestore"
    emulated.clock.advance(1)
    assert status(emulated, item).status == "restoring"
    # And the next round puts it back, and encryption must hold across the settle period
    item, rounds = until_done(emulated, item)
    assert (item.status, rounds) == ("restored", 1)
    assert (old[0], "associated") in live(emulated)


def test_a_refused_key_listed_twice_goes_again_once_its_newer_entry_has_gone() -> None:
    # Given (found by the soak) a CKN listed twice: an entry of an earlier removal lingering `disassociated` for
    # ever, beside the entry just removed, still `disassociating`; the restore was refused while the keychain was
    # full, the port is down
    old, new = new_key()[0], new_key()[0]

    def target(newer: str) -> Target:
        keys = (
            MacsecKey(old, "arn:1", "disassociated"),
            MacsecKey(new, "arn:2", "associated"),
            MacsecKey(old, "arn:3", newer),
        )
        return Target(
            TARGET, "connection", "available", True, "should_encrypt", keys, (Port(TARGET, "up", "Encryption Down"),)
        )

    refused_at = target("disassociating")
    item = TargetRotation(
        secret_arn="arn:secret",
        version_id="v2",
        target=TARGET,
        target_type="connection",
        new_ckn=new,
        poll=Poll(interval_seconds=10, max_attempts=3),
        ckns_before=[old],
        ports_encrypted_before=[TARGET],
        refused_ckns={old.lower(): keys_listed(refused_at)},
        restoring_since=clock.now(),
        status="waitingForRestore",
    )
    # Then it waits while nothing changed, and goes again once the newer entry has gone too (its first entry, the
    # old one, reads `disassociated` all along: looking at it alone, the restore waited until its budget ran out)
    assert restoration_status(item, refused_at, RuntimeSettings()).status == "waitingForRestore"
    assert restoration_status(item, target("disassociated"), RuntimeSettings()).status == "restoring"


def test_a_restored_key_that_went_again_sends_the_restore_back(emulated: Emulated) -> None:
    old, bad = new_key(), new_key()
    item = restore_round(emulated, rotated_without_the_router(emulated, old, [bad]))
    assert status(emulated, item).status == "waitingForRestore"
    # Someone (or Direct Connect) removes the key just put back: not refused, so it is worth another round
    arn = next(
        k["secretARN"]
        for k in emulated.dx.describe_connections()["connections"][0]["macSecKeys"]
        if k["ckn"] == old[0] and k["state"] == "associating"
    )
    emulated.dx.disassociate_mac_sec_key(connectionId=TARGET, secretARN=arn)
    assert status(emulated, item).status == "restoring"


def test_a_restore_counts_only_after_encryption_held_across_the_settle_period(emulated: Emulated) -> None:
    old, bad = new_key(), new_key()
    item = restore_round(emulated, rotated_without_the_router(emulated, old, [bad]))
    assert status(emulated, item).settled_since is None  # still associating
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    item = status(emulated, item)  # associated and up: the settle period starts (the watcher keeps its start)
    assert item.status == "waitingForRestore" and item.settled_since == emulated.clock.now()
    emulated.clock.advance(SETTINGS.encryption_settle_seconds - 1)
    assert status(emulated, item).status == "waitingForRestore"
    emulated.clock.advance(1)
    done = status(emulated, item)
    assert done.status == "restored" and done.failure is not None and done.failure.error == "EncryptionDown"


def test_nothing_is_restored_when_no_version_holds_the_pair(emulated: Emulated) -> None:
    old, bad = new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [bad])
    item = item.model_copy(update={"ckns_before": [new_key()[0]]})  # a key the secret never held
    item = restore_round(emulated, item)
    assert item.status == "unrestorable" and item.failure is not None
    assert "no version of secret" in item.failure.cause


def test_the_restore_gives_up_at_its_budget_and_not_before(emulated: Emulated) -> None:
    # Given a restore that can never succeed (Direct Connect keeps refusing the old CKN, listed for ever)
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    old, bad = new_key(), new_key()
    item = restore_round(emulated, rotated_without_the_router(emulated, old, [bad]))
    assert item.refused_ckns.keys() == {old[0].lower()}
    assert f"{old[0].lower()}:disassociated" in item.refused_ckns[old[0].lower()]
    budget = SETTINGS.restore_budget_seconds
    assert budget == 900 + 300 + 30  # disassociation timeout, association timeout, settle
    # When it has waited a second less than its budget it goes on; at the budget it stops with EncryptionDown
    emulated.clock.advance(budget - 1)
    assert status(emulated, item).status == "waitingForRestore"
    emulated.clock.advance(1)
    stopped = status(emulated, item)
    assert stopped.status == "restoreTimedOut" and stopped.failure is not None
    assert stopped.failure.error == "EncryptionDown" and "Act now" in stopped.failure.cause
    assert f"after {budget}s" in stopped.failure.cause
