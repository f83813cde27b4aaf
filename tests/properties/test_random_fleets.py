"""Property-based: random fleets, events and faults on the embedded AWS; the invariants hold after every run.

`make test` draws a few examples; `make soak` draws many (SOAK_EXAMPLES, default 2000) and prints how
many it ran. Each example is a whole scenario (see docs/scenarios.md) run end to end.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, get_args

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from local.scenario import Operation
from tests.harness import associated_ckns, run_checked

EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "4"))
SOAK = os.environ.get("PROPERTY_SOAK") == "1"


def _pair(seed: int) -> dict[str, str]:
    # Derived, not drawn as text: shrinking must not produce a CAK equal to a CKN or to another CAK.
    return {
        "ckn": hashlib.sha256(f"ckn-{seed}".encode()).hexdigest(),
        "cak": hashlib.sha256(f"cak-{seed}".encode()).hexdigest(),
    }


pairs = st.integers(0, 2**32).map(_pair)

DX_FAULTS = st.fixed_dictionaries(
    {
        "operation": st.sampled_from(get_args(Operation)),
        "error": st.sampled_from(["ThrottlingException", "TooManyRequestsException", "DirectConnectServerException"]),
        "times": st.integers(1, 6),
    }
)
FUNCTION_FAULTS = st.fixed_dictionaries(
    {
        "function": st.sampled_from(
            [
                "prepare",
                "acquire_lock",
                "plan_target",
                "associate",
                "check_association",
                "tighten_encryption",
                "remove_old_keys",
                "check_removal",
                "release_lock",
            ]
        ),
        "kind": st.sampled_from(["crash", "timeout"]),
        "when": st.sampled_from(["before", "after"]),
    }
)


@st.composite
def fleets(draw: Any) -> dict[str, Any]:
    count = draw(st.integers(1, 3))
    connections, lags, secrets, events = [], [], [], []
    for n in range(count):
        target_id = f"dxcon-{n:04d}aaaa" if draw(st.booleans()) else f"dxlag-{n:04d}bbbb"
        old = draw(pairs)
        spec: dict[str, Any] = {
            "id": target_id,
            "encryptionMode": draw(st.sampled_from(["no_encrypt", "should_encrypt", "must_encrypt"])),
            "keys": [old] if draw(st.integers(0, 4)) else [],
        }
        new_values = draw(st.lists(pairs, min_size=1, max_size=2))
        if draw(st.integers(0, 5)) == 0:  # a router that never learns the new keys
            spec["routerCkns"] = [old["ckn"]]
        if target_id.startswith("dxlag-"):
            lags.append({**spec, "members": [f"dxcon-{n:04d}c{m:03d}" for m in range(draw(st.integers(1, 2)))]})
        else:
            connections.append(spec)
        name = f"macsec/{target_id}"
        tags = {"macsec:target": target_id}
        if draw(st.booleans()):
            tags["macsec:encryption-mode"] = draw(st.sampled_from(["should_encrypt", "must_encrypt"]))
        secrets.append({"name": name, "tags": tags, "versions": [{"id": "v1", "value": old, "stages": ["AWSCURRENT"]}]})
        for value in new_values:
            at = draw(st.integers(0, 400))
            events.append({"at": at, "type": "PutSecretValue", "secret": name, "value": value})
            if draw(st.integers(0, 3)) == 0:  # a duplicate delivery, or an operator start
                events.append({"at": at + draw(st.integers(0, 60)), "type": "console", "input": {"secretId": name}})
    faults = draw(st.lists(DX_FAULTS, max_size=3)) + draw(st.lists(FUNCTION_FAULTS, max_size=2))
    return {
        "connections": connections,
        "lags": lags,
        "secrets": secrets,
        "faults": faults,
        "behaviour": {
            "associationSeconds": draw(st.integers(0, 240)),
            "disassociationSeconds": draw(st.integers(0, 30)),
        },
        "events": events,
    }


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not SOAK,  # make test: the same examples every run; soak: new ones, shrunk on failure
    phases=[Phase.generate, Phase.shrink] if SOAK else [Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fleets())
def test_invariants_hold_for_random_fleets_events_and_faults(fleet: dict[str, Any]) -> None:
    report = run_checked(fleet)  # no CAK anywhere, no target left keyless, every failure named, runs end
    for target in report["targets"].values():
        assert len(target["macSecKeys"]) <= 3
    if all(e["status"] == "SUCCEEDED" for e in report["executions"]):
        for secret in fleet["secrets"]:
            target = secret["tags"]["macsec:target"]
            current = report["secrets"][secret["name"]]["currentCkn"]
            assert associated_ckns(report, target) == [current], (target, report["executions"])
