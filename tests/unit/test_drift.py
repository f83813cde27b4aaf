"""The drift check against the emulator: in sync, current key missing, stale keys, encryption down."""

from __future__ import annotations

import json

from local.directconnect import Connection, Lag
from macsec_rotation.clients import directconnect, secrets
from macsec_rotation.logic.drift import check_drift
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import Emulated, assert_no_key_material, new_key


def test_each_managed_target_is_compared_with_its_current_key(emulated: Emulated) -> None:
    current, old, other = new_key(), new_key(), new_key()
    synced = Connection("dxcon-aaaa1111", "a", True, "must_encrypt", router_ckns={current[0]})
    stale = Connection("dxcon-bbbb2222", "b", True, "should_encrypt", router_ckns={current[0], old[0]})
    behind = Lag("dxlag-cccc3333", "c", True, "should_encrypt", member_ids=["dxcon-dddd4444"], router_ckns=set())
    for target in (synced, stale):
        emulated.backend.add_connection(target)
    emulated.backend.add_lag(behind)
    emulated.backend.seed_key(synced, *current)
    emulated.backend.seed_key(stale, *old)
    emulated.backend.seed_key(stale, *current)
    emulated.backend.seed_key(behind, *other)
    value = {"ckn": current[0], "cak": current[1]}
    for name, target in (("a", "dxcon-aaaa1111"), ("b", "dxcon-bbbb2222"), ("c", "dxlag-cccc3333")):
        emulated.secret(f"macsec/{name}", value, {"macsec:target": target})
    emulated.secret("other/ignored", value, {"macsec:target": "dxcon-aaaa1111"})
    emulated.secret("macsec/broken", "not json", {"macsec:target": "dxcon-aaaa1111"})

    statuses = check_drift(secrets(emulated.secrets), directconnect(emulated.dx), "macsec/", RuntimeSettings())
    findings = {(s.secret, s.target): s.findings for s in statuses}
    assert findings == {
        ("macsec/a", "dxcon-aaaa1111"): [],
        ("macsec/b", "dxcon-bbbb2222"): ["StaleKeys"],
        ("macsec/c", "dxlag-cccc3333"): ["CurrentKeyMissing", "StaleKeys", "EncryptionDown"],
        ("macsec/broken", "dxcon-aaaa1111"): ["Unreadable"],
    }
    assert_no_key_material([s.dump() for s in statuses], [current[1], old[1], other[1]])
    only = check_drift(
        secrets(emulated.secrets),
        directconnect(emulated.dx),
        "macsec/",
        RuntimeSettings(),
        only_target="dxlag-cccc3333",
    )
    assert [s.target for s in only] == ["dxlag-cccc3333"]
    assert json.dumps(only[0].dump())  # serialisable for the Lambda's answer


def test_a_disassociated_key_that_stays_listed_is_not_stale(emulated: Emulated) -> None:
    # Given Direct Connect keeps disassociated keys listed for ever, and a target that dropped its old key
    emulated.backend.behaviour.disassociated_keys_linger_seconds = None
    current, old = new_key(), new_key()
    target = Connection("dxcon-aaaa1111", "a", True, "must_encrypt")
    emulated.backend.add_connection(target)
    emulated.backend.seed_router_ckns(target, [current[0]])
    emulated.backend.seed_key(target, *old)
    emulated.backend.seed_key(target, *current)
    old_arn = next(
        k["secretARN"] for k in emulated.dx.describe_connections()["connections"][0]["macSecKeys"] if k["ckn"] == old[0]
    )
    emulated.dx.disassociate_mac_sec_key(connectionId="dxcon-aaaa1111", secretARN=old_arn)
    emulated.secret("macsec/a", {"ckn": current[0], "cak": current[1]}, {"macsec:target": "dxcon-aaaa1111"})
    settings = RuntimeSettings()

    # While the old key is disassociating it is stale; once `disassociated` it is listed but gone
    (status,) = check_drift(secrets(emulated.secrets), directconnect(emulated.dx), "macsec/", settings)
    assert status.findings == ["StaleKeys"]
    emulated.clock.advance(emulated.backend.behaviour.disassociation_seconds)
    (status,) = check_drift(secrets(emulated.secrets), directconnect(emulated.dx), "macsec/", settings)
    assert (old[0], "disassociated") in [(k["ckn"], k["state"]) for k in status.keys]
    assert status.findings == []
