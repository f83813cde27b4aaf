"""The synthesized state machine, executed end to end on the embedded AWS: the happy paths."""

from __future__ import annotations

from typing import Any

from tests.conftest import new_key
from tests.harness import associated_ckns, execution, run_checked

OLD, NEW = new_key(), new_key()


def secret(name: str, target: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "tags": {"macsec:target": target, **(tags or {})},
        "versions": [
            {"id": "v1", "value": {"ckn": OLD[0], "cak": OLD[1]}, "stages": ["AWSPREVIOUS"]},
            {"id": "v2", "value": {"ckn": NEW[0], "cak": NEW[1]}, "stages": ["AWSCURRENT"]},
        ],
    }


def test_a_connection_is_rotated_and_tightened_without_losing_encryption() -> None:
    report = run_checked(
        {
            "connections": [{"id": "dxcon-aaaa1111", "keys": [{"ckn": OLD[0], "cak": OLD[1]}]}],
            "secrets": [secret("macsec/dxcon-aaaa1111", "dxcon-aaaa1111", {"macsec:encryption-mode": "must_encrypt"})],
            "behaviour": {"associationSeconds": 95, "disassociationSeconds": 12},
            "events": [{"type": "console", "name": "rotate", "input": {"secretId": "macsec/dxcon-aaaa1111"}}],
        }
    )
    run = execution(report, "rotate")
    assert run["status"] == "SUCCEEDED"
    (result,) = run["output"]["results"]
    assert result == {
        "target": "dxcon-aaaa1111",
        "outcome": "Rotated",
        "newCkn": NEW[0],
        "removedCkns": [OLD[0]],
        "keptCkns": [],
        "encryptionModeBefore": "should_encrypt",
        "encryptionModeAfter": "must_encrypt",
        "tighteningSkipped": None,
    }
    assert associated_ckns(report, "dxcon-aaaa1111") == [NEW[0]]
    assert report["targets"]["dxcon-aaaa1111"]["encryptionMode"] == "must_encrypt"
    assert report["encryptionDownSeconds"] == {"dxcon-aaaa1111": 0.0}
    # The wait loop noticed `associated` within one poll interval (10 s) of the 95 s association.
    states = run["states"]
    assert states.index("CleanUp") > states.index("WaitForAssociation")
    # Then the old key's removal (12 s) and encryption held across the 30 s settle period, each seen within
    # one poll.
    assert 95 <= run["stoppedAt"] - run["startedAt"] <= 95 + 10 + 12 + 10 + 30 + 10
    # The old key was removed only after the new one was associated.
    assert report["apiCalls"]["AssociateMacSecKey"] == 1
    assert report["apiCalls"]["DisassociateMacSecKey"] == 1


def test_a_two_member_lag_is_rotated_on_every_member() -> None:
    report = run_checked(
        {
            "lags": [
                {
                    "id": "dxlag-bbbb2222",
                    "members": ["dxcon-cccc3333", "dxcon-dddd4444"],
                    "keys": [{"ckn": OLD[0], "cak": OLD[1]}],
                }
            ],
            "secrets": [secret("macsec/dxlag-bbbb2222", "dxlag-bbbb2222")],
            "events": [
                {
                    "type": "console",
                    "name": "rotate",
                    "input": {"secretId": "macsec/dxlag-bbbb2222", "encryptionMode": "must_encrypt"},
                }
            ],
        }
    )
    run = execution(report, "rotate")
    assert run["status"] == "SUCCEEDED", run
    assert run["output"]["results"][0]["encryptionModeAfter"] == "must_encrypt"
    lag = report["targets"]["dxlag-bbbb2222"]
    assert associated_ckns(report, "dxlag-bbbb2222") == [NEW[0]]
    assert {m: v["encryptionMode"] for m, v in lag["members"].items()} == {
        "dxcon-cccc3333": "must_encrypt",
        "dxcon-dddd4444": "must_encrypt",
    }
    assert {m: v["portEncryptionStatus"] for m, v in lag["members"].items()} == {
        "dxcon-cccc3333": "Encryption Up",
        "dxcon-dddd4444": "Encryption Up",
    }
    assert report["encryptionDownSeconds"] == {"dxcon-cccc3333": 0.0, "dxcon-dddd4444": 0.0}
