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
