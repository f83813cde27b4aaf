"""Every retry converges: a crash or time-out in any step ends where the run without it ends.

For every step of a rotation (the rotation function and the intake included) x each fault (crash before the
work, crash after it, time-out after it) x a peer router that gets the new key, one that never does, and one
whose automation confirms it (routerConfirmation callback) x a connection and a LAG, the same scheduled
rotation runs once without and once with the fault. The final link
(keys by role, mode, encryption on every port, lock free) and the outcome (status and error name of every
execution) must be the same, and no port may be down longer than without the fault plus one retry interval.
Cells whose step never runs in the fault-free run are skipped and counted.

`make test` runs a slice (every step and fault, for the router that lacks the new key, on both target kinds:
the dangerous half; and the steps of the router wait under callback, on a connection); `make soak` runs the whole matrix
(FAULT_MATRIX=full). Each prints its size.
"""

from __future__ import annotations

import functools
import hashlib
import os
from typing import Any

import pytest

from infra.workflow import RETRIES
from local.template import synthesize
from tests.harness import execution_outcomes, ports_down, run_checked

FULL = os.environ.get("FAULT_MATRIX") == "full" or os.environ.get("PROPERTY_SOAK") == "1"
FAULTS = [("crash", "before"), ("crash", "after"), ("timeout", "after")]
ROUTERS = ["lacks", "has", "callback"] if FULL else ["lacks", "callback"]
# Under callback, the slice covers the steps that ask, wait and confirm, on a connection.
CALLBACK_SLICE = {("ask_router", "connection"), ("park", "connection"), ("router_confirmed", "connection")}
KINDS = ["connection", "lag"]
# A step's first retry after a crash or time-out waits at most its first interval (full jitter).
RETRY_INTERVAL = next(first for errors, first, _ in RETRIES if "Runtime.ExitError" in errors)
LATER_ATTEMPT_AT = 3000  # a rotation attempt that failed is tried again by the next one


def _pair(label: str) -> dict[str, str]:
    return {
        "ckn": hashlib.sha256(f"matrix-ckn-{label}".encode()).hexdigest(),
        "cak": hashlib.sha256(f"matrix-cak-{label}".encode()).hexdigest(),
    }


OLD = _pair("old")


def _steps() -> list[str]:
    """Every function a rotation runs, read from the synthesized template (the drift check is not one)."""
    functions = synthesize().functions("us-east-1", "123456789012").values()
    return sorted(spec.step for spec in functions if spec.step != "drift_check")


def scenario(kind: str, router: str, fault: dict[str, Any] | None = None) -> dict[str, Any]:
    """A scheduled rotation of a must_encrypt-wanted target: the rotation function makes the new pair."""
    target_id = "dxcon-aaaa1111" if kind == "connection" else "dxlag-bbbb2222"
    target: dict[str, Any] = {
        "id": target_id,
        "encryptionMode": "should_encrypt",
        "keys": [OLD],
        "routerCkns": [OLD["ckn"]],
        "routerFollowsSecret": router == "has",
    }
    tags = {"macsec:target": target_id, "macsec:encryption-mode": "must_encrypt"}
    if router == "callback":  # the automation installs the announced key a minute later, then confirms it
        target["routerAutomation"] = {"delaySeconds": 60, "confirms": True}
        tags["macsec:router-confirmation"] = "callback"
    if kind == "lag":
        target["members"] = ["dxcon-cccc3333", "dxcon-dddd4444"]
    secret = f"macsec/{target_id}"
    events = [{"at": 0, "type": "rotate", "secret": secret}]
    if fault and fault["function"] == "rotate_secret":
        # A failed rotation step ends that attempt (Secrets Manager): the next attempt must end as the run
        # without the fault.
        events.append({"at": LATER_ATTEMPT_AT, "type": "rotate", "secret": secret})
    return {
        ("connections" if kind == "connection" else "lags"): [target],
        "secrets": [
            {
                "name": secret,
                "tags": tags,
                "versions": [{"id": "v1", "value": OLD, "stages": ["AWSCURRENT"]}],
            }
        ],
        "behaviour": {"associationSeconds": 30, "disassociationSeconds": 5},
        "faults": [fault] if fault else [],
        "events": events,
    }


def end_state(report: dict[str, Any], kind: str) -> dict[str, Any]:
    """What a user compares: keys by role (generated pairs differ between runs), mode, ports, lock, outcome."""
    target_id = "dxcon-aaaa1111" if kind == "connection" else "dxlag-bbbb2222"
    view = report["targets"][target_id]
    current = report["secrets"][f"macsec/{target_id}"]["currentCkn"]

    def role(ckn: str) -> str:
        return "previous" if ckn == OLD["ckn"] else "new" if ckn == current else "other"

    return {
        "keys": sorted((role(k["ckn"]), k["state"]) for k in view["macSecKeys"] if k["state"] != "disassociated"),
        "mode": view["encryptionMode"],
        "portsDown": ports_down(report, target_id),
        "lockHeld": target_id in report["locks"],
        "outcome": execution_outcomes(report),
    }


@functools.lru_cache(maxsize=8)
def baseline(kind: str, router: str) -> tuple[dict[str, Any], dict[str, float], frozenset[str]]:
    report = run_checked(scenario(kind, router))
    ran = frozenset(step for step, count in report["stepInvocations"].items() if count)
    return end_state(report, kind), report["encryptionDownSeconds"], ran


CELLS = [
    pytest.param(step, kind_of, when, router, kind, id=f"{step}-{kind_of}-{when}-{router}-{kind}")
    for step in _steps()
    for kind_of, when in FAULTS
    for router in ROUTERS
    for kind in KINDS
    if FULL or router != "callback" or (step, kind) in CALLBACK_SLICE
]


@pytest.mark.parametrize(("step", "fault_kind", "when", "router", "kind"), CELLS)
def test_a_fault_in_any_step_ends_where_the_run_without_it_ends(
    step: str, fault_kind: str, when: str, router: str, kind: str
) -> None:
    expected, down_without, ran = baseline(kind, router)
    if step not in ran:
        pytest.skip(f"{step} never runs in this rotation")
    report = run_checked(scenario(kind, router, {"function": step, "kind": fault_kind, "when": when, "times": 1}))
    assert report["stepInvocations"].get(step, 0) >= 1, "the fault was never hit"
    assert end_state(report, kind) == expected
    for port, seconds in report["encryptionDownSeconds"].items():
        assert seconds <= down_without[port] + RETRY_INTERVAL, (port, seconds, down_without[port])


def test_the_matrix_covers_every_step_of_a_rotation() -> None:
    steps = {"intake", "rotate_secret", "begin", "park", "watch", "clean_up", "restore_previous", "release_lock"}
    assert steps <= set(_steps())
