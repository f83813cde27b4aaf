"""Each step's logic against the emulator: what it decides, and that running it twice changes nothing more."""

from __future__ import annotations

import json

import pytest

from local.directconnect import Connection
from macsec_rotation.clients import directconnect, secrets
from macsec_rotation.errors import (
    InvalidInput,
    KeychainFull,
    NewKeyNotAssociated,
    TargetNotAvailable,
    VersionNotCurrent,
)
from macsec_rotation.logic.association import associate_new_key, check_association, roll_back_new_key
from macsec_rotation.logic.cleanup import check_removal, remove_old_keys
from macsec_rotation.logic.encryption import tighten_encryption
from macsec_rotation.logic.prepare import plan_rotation, replan_under_lock
from macsec_rotation.models import ConsoleInput, TargetRotation
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import Emulated, new_key

TARGET = "dxcon-aaaa1111"
SETTINGS = RuntimeSettings(poll_interval_seconds=10, encryption_settle_seconds=30)


def setup(emulated: Emulated, keys: int = 1, **connection: object) -> tuple[Connection, list[tuple[str, str]]]:
    item = Connection(TARGET, "c", True, "should_encrypt", tags={"macsec:secret": "macsec/x"}, **connection)  # type: ignore[arg-type]
    emulated.backend.add_connection(item)
    old = [new_key() for _ in range(keys)]
    for ckn, cak in old:
        emulated.backend.seed_key(item, ckn, cak)
    return item, old


def plan(
    emulated: Emulated, value: dict[str, str], previous: tuple[str, str] | None = None, **request: str
) -> TargetRotation:
    """Plan a rotation to `value`; `previous` is a pair the secret held before (the key on the link)."""
    first = {"ckn": previous[0], "cak": previous[1]} if previous else value
    arn = emulated.secret("macsec/x", first, {"macsec:target": TARGET, "macsec:encryption-mode": "must_encrypt"})
    if previous:
        emulated.secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(value))
    settings = RuntimeSettings(poll_interval_seconds=10)
    sm, dx = secrets(emulated.secrets), directconnect(emulated.dx)
    (item,) = plan_rotation(ConsoleInput(secret_id="macsec/x", **request), sm, dx, settings).targets
    assert item.new_ckn == "" and item.action is None  # Prepare reads no key material; PlanTarget decides
    return replan_under_lock(item, sm, dx, settings)


def live(emulated: Emulated) -> list[tuple[str, str]]:
    described = emulated.dx.describe_connections(connectionId=TARGET)["connections"][0]
    return [(k["ckn"], k["state"]) for k in described["macSecKeys"]]


def test_the_plan_carries_identifiers_and_decisions_never_the_cak(emulated: Emulated) -> None:
    item_connection, old = setup(emulated)
    item_connection.router_ckns = {old[0][0]}
    ckn, cak = new_key()
    item = plan(emulated, {"ckn": ckn, "cak": cak})
    assert (item.action, item.new_ckn, item.wanted_mode, item.mode_before) == (
        "Associate",
        ckn,
        "must_encrypt",
        "should_encrypt",
    )
    assert item.ports_encrypted_before == [TARGET]
    assert item.poll.max_attempts == 180
    assert cak not in item.model_dump_json()


def test_a_full_keychain_is_refused_naming_the_keys(emulated: Emulated) -> None:
    _, old = setup(emulated, keys=3)
    ckn, cak = new_key()
    with pytest.raises(KeychainFull) as caught:
        plan(emulated, {"ckn": ckn, "cak": cak})
    assert all(k in str(caught.value) for k, _ in old)


def test_a_target_that_is_down_is_refused(emulated: Emulated) -> None:
    setup(emulated, state="down")
    with pytest.raises(TargetNotAvailable, match="'down'"):
        plan(emulated, dict(zip(("ckn", "cak"), new_key(), strict=True)))


def test_a_version_that_is_not_current_is_refused(emulated: Emulated) -> None:
    setup(emulated)
    arn = emulated.secret("macsec/y", dict(zip(("ckn", "cak"), new_key(), strict=True)), {"macsec:target": TARGET})
    emulated.secrets.put_secret_value(
        SecretId=arn, SecretString='{"ckn": "x"}', VersionStages=["AWSPENDING"], ClientRequestToken="p" * 32
    )
    with pytest.raises(VersionNotCurrent, match="AWSPENDING"):
        plan_rotation(
            ConsoleInput(secret_id="macsec/y", version_id="p" * 32),
            secrets(emulated.secrets),
            directconnect(emulated.dx),
            RuntimeSettings(),
        )


def test_associate_twice_adds_one_key(emulated: Emulated) -> None:
    setup(emulated)
    ckn, cak = new_key()
    item = plan(emulated, {"ckn": ckn, "cak": cak})
    for _ in range(2):
        item = associate_new_key(item, secrets(emulated.secrets), directconnect(emulated.dx))
    assert [c for c, _ in live(emulated)].count(ckn) == 1
    assert check_association(item, directconnect(emulated.dx)).status == "associating"
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    assert check_association(item, directconnect(emulated.dx)).status == "associated"


def test_an_abort_during_the_association_wait_rolls_the_new_key_back_and_keeps_the_old(emulated: Emulated) -> None:
    _, old = setup(emulated)
    ckn, cak = new_key()
    item = associate_new_key(
        plan(emulated, {"ckn": ckn, "cak": cak}), secrets(emulated.secrets), directconnect(emulated.dx)
    )
    aborted = check_association(item, directconnect(emulated.dx), abort_requested=True)
    assert aborted.status == "aborted" and aborted.failure is None  # the workflow sends it to RollBackNewKey
    rolled_back = roll_back_new_key(aborted, directconnect(emulated.dx))
    assert rolled_back.failure is not None and rolled_back.failure.error == "Aborted"
    assert ckn in rolled_back.failure.cause and old[0][0] in rolled_back.failure.cause
    assert (old[0][0], "associated") in live(emulated) and (ckn, "associated") not in live(emulated)


def test_old_keys_are_never_removed_before_the_new_key_is_associated(emulated: Emulated) -> None:
    _, old = setup(emulated)
    ckn, cak = new_key()
    item = associate_new_key(
        plan(emulated, {"ckn": ckn, "cak": cak}), secrets(emulated.secrets), directconnect(emulated.dx)
    )
    with pytest.raises(NewKeyNotAssociated):
        remove_old_keys(item, directconnect(emulated.dx), SETTINGS)
    assert (old[0][0], "associated") in live(emulated)


def test_tighten_and_remove_twice_reach_the_same_end_state(emulated: Emulated) -> None:
    connection_item, old = setup(emulated)
    ckn, cak = new_key()
    connection_item.router_ckns = {old[0][0], ckn}
    item = associate_new_key(
        plan(emulated, {"ckn": ckn, "cak": cak}, previous=old[0]), secrets(emulated.secrets), directconnect(emulated.dx)
    )
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    first = tighten_encryption(item, directconnect(emulated.dx))
    second = tighten_encryption(item, directconnect(emulated.dx))
    assert (
        (first.mode_after, first.tightening_skipped)
        == (second.mode_after, second.tightening_skipped)
        == ("must_encrypt", None)
    )
    removed = remove_old_keys(first, directconnect(emulated.dx), SETTINGS)
    again = remove_old_keys(removed, directconnect(emulated.dx), SETTINGS)
    assert again.removed_ckns == removed.removed_ckns == [old[0][0]]
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    # Gone, but encryption must hold across the settle period before the removal counts.
    settling = check_removal(again, directconnect(emulated.dx), SETTINGS)
    assert settling.status == "removing"
    emulated.clock.advance(SETTINGS.encryption_settle_seconds)
    assert check_removal(settling, directconnect(emulated.dx), SETTINGS).status == "removed"
    assert live(emulated) == [(ckn, "associated")]


def test_more_targets_than_one_execution_can_hold_are_refused(emulated: Emulated) -> None:
    setup(emulated)
    targets = ",".join(f"dxcon-aaaa111{n}" for n in range(5))
    emulated.secret("macsec/many", dict(zip(("ckn", "cak"), new_key(), strict=True)), {"macsec:target": targets})
    with pytest.raises(InvalidInput, match="maxTargetsPerSecret"):
        plan_rotation(
            ConsoleInput(secret_id="macsec/many"),
            secrets(emulated.secrets),
            directconnect(emulated.dx),
            RuntimeSettings(max_targets_per_secret=4),
        )


def test_a_key_no_version_of_the_secret_holds_is_kept_and_said_why(emulated: Emulated) -> None:
    # Given a target whose key the secret never held (put there by hand), and one it did hold
    connection_item, old = setup(emulated, keys=2)
    ckn, cak = new_key()
    connection_item.router_ckns = {old[0][0], old[1][0], ckn}
    known = old[1]
    item = plan(emulated, {"ckn": ckn, "cak": cak}, previous=known)
    # When the rotation plans, associates and removes the old keys
    assert [k.ckn for k in item.kept_ckns] == [old[0][0]]
    assert "could not be put back" in item.kept_ckns[0].reason
    item = associate_new_key(item, secrets(emulated.secrets), directconnect(emulated.dx))
    emulated.clock.advance(emulated.backend.behaviour.association_seconds)
    removed = remove_old_keys(item, directconnect(emulated.dx), SETTINGS)
    # Then only the key it could put back was removed
    assert removed.removed_ckns == [known[0]]
    assert (old[0][0], "associated") in live(emulated)
