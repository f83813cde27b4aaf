"""The safety net against the emulator: what is restored, how often, and when it counts as done."""

from __future__ import annotations

from local.directconnect import Connection
from macsec_rotation.clients import directconnect, secrets
from macsec_rotation.logic.association import associate_new_key
from macsec_rotation.logic.cleanup import check_removal, remove_old_keys
from macsec_rotation.logic.prepare import plan_rotation, replan_under_lock
from macsec_rotation.logic.restore import restore_previous_keys
from macsec_rotation.models import ConsoleInput, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import Emulated, new_key

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
    the link, the old key removed: the removal check has just seen encryption go down."""
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
    item = check_removal(item, dx, SETTINGS)
    assert item.status == "encryptionDown"
    return item


def restore_round(emulated: Emulated, item: TargetRotation) -> TargetRotation:
    return restore_previous_keys(item, secrets(emulated.secrets), directconnect(emulated.dx), SETTINGS)


def until_done(emulated: Emulated, item: TargetRotation) -> TargetRotation:
    while item.status == "restoring":
        emulated.clock.advance(SETTINGS.poll_interval_seconds)
        item = restore_round(emulated, item)
    return item


def test_the_keys_on_the_link_when_the_rotation_planned_are_restored_not_awsprevious(emulated: Emulated) -> None:
    # Given two quick writes of keys the router lacks: AWSPREVIOUS is the first bad key by the time of the restore
    old, first_bad, second_bad = new_key(), new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [first_bad, second_bad])
    assert item.ckns_before == [old[0]]

    # When the safety net runs
    item = until_done(emulated, restore_round(emulated, item))

    # Then the good key is back, the first bad key never came near the link, and encryption is up again
    assert item.status == "restored" and item.failure is not None
    assert item.failure.error == "EncryptionDown"
    assert old[0] in item.failure.cause
    assert sorted(live(emulated)) == sorted([(old[0], "associated"), (second_bad[0], "associated")])
    assert emulated.backend.snapshot()[TARGET]["portEncryptionStatus"] == "Encryption Up"


def test_a_round_run_twice_associates_once(emulated: Emulated) -> None:
    old, bad = new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [bad])
    first = restore_round(emulated, item)
    again = restore_round(emulated, item)  # the same input: a retry after a crash that followed the work
    assert first.status == again.status == "restoring"
    assert [ckn for ckn, _ in live(emulated)].count(old[0]) == 1
    assert first.restored_ckns == [old[0]]


def test_a_key_still_listed_is_tried_again_each_round_until_direct_connect_takes_it(emulated: Emulated) -> None:
    # Given Direct Connect refuses a CKN until it is no longer listed, and keys take 30 s to disassociate
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociation_seconds = 30
    old, bad = new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [bad])

    # When the restore runs while the old key is still disassociating, it is refused but keeps going
    item = restore_round(emulated, item)
    assert (item.status, item.restored_ckns) == ("restoring", [])
    assert (old[0], "disassociating") in live(emulated)

    # Then once the old key is gone the next round puts it back, and encryption must hold across the settle
    item = until_done(emulated, item)
    assert item.status == "restored"
    assert (old[0], "associated") in live(emulated)


def test_a_restore_counts_only_after_encryption_held_across_the_settle_period(emulated: Emulated) -> None:
    old, bad = new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [bad])
    item = restore_round(emulated, item)
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    item = restore_round(emulated, item)  # associated and up: the settle period starts
    assert item.status == "restoring" and item.settled_since is not None
    emulated.clock.advance(SETTINGS.encryption_settle_seconds - 1)
    assert restore_round(emulated, item).status == "restoring"
    emulated.clock.advance(1)
    assert restore_round(emulated, item).status == "restored"


def test_nothing_is_restored_when_no_version_holds_the_pair(emulated: Emulated) -> None:
    old, bad = new_key(), new_key()
    item = rotated_without_the_router(emulated, old, [bad])
    item = item.model_copy(update={"ckns_before": [new_key()[0]]})  # a key the secret never held
    item = restore_round(emulated, item)
    assert item.status == "unrestorable" and item.failure is not None
    assert "no version of secret" in item.failure.cause


def test_the_restore_gives_up_at_its_bound_and_not_before(emulated: Emulated) -> None:
    # Given a restore that can never succeed (Direct Connect keeps refusing the old CKN)
    emulated.backend.behaviour.reassociate_lingering_ckn = "afterGone"
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    old, bad = new_key(), new_key()
    item = restore_round(emulated, rotated_without_the_router(emulated, old, [bad]))
    bound = item.poll.max_attempts
    assert bound == SETTINGS.restore_poll().max_attempts
    # When it has run bound - 1 rounds it goes on; at the bound it stops with EncryptionDown, and no further
    at = item.model_copy(update={"poll": item.poll.model_copy(update={"attempt": bound - 2})})
    assert restore_round(emulated, at).status == "restoring"
    at = item.model_copy(update={"poll": item.poll.model_copy(update={"attempt": bound - 1})})
    stopped = restore_round(emulated, at)
    assert stopped.status == "restoreTimedOut" and stopped.failure is not None
    assert stopped.failure.error == "EncryptionDown" and "Act now" in stopped.failure.cause
