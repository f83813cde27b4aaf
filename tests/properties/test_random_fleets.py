"""Property-based: random fleets, events and faults on the embedded AWS; the invariants hold after every run.

`make test` runs PROPERTY_EXAMPLES (default 120: every fleet runs a watcher ticking every 4 s, which the
embedded AWS plays tick by tick, and `make test` must stay under 3 minutes) fixed examples, split over shards so
that both test workers share them; `make soak` draws SOAK_EXAMPLES (default 2000) new ones, shrinks any failure to a
minimal scenario, and prints how many it ran. Each example is a whole scenario (docs/scenarios.md) run end
to end: seeding, EventBridge deliveries, every execution to its end.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from typing import Any, get_args

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from local.scenario import Operation
from tests.harness import associated_ckns, ports_down, run_checked
from tests.properties import counting

SHARDS = 20  # small enough for the two test workers to share them evenly (a fleet may take 100 times another)
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "120"))
SOAK = os.environ.get("PROPERTY_SOAK") == "1"
STEPS = [  # every step function a rotation runs, the intake and the watcher's included
    "rotate_secret",
    "intake",
    "prepare",
    "begin",
    "park",
    "watch",
    "roll_back",
    "clean_up",
    "restore_previous",
    "release_lock",
    "report",
    "report_failure",
]


def _pair(number: int) -> dict[str, str]:
    # Derived, not drawn as text: shrinking must not produce a CAK equal to a CKN or to another CAK.
    return {
        "ckn": hashlib.sha256(f"ckn-{number}".encode()).hexdigest(),
        "cak": hashlib.sha256(f"cak-{number}".encode()).hexdigest(),
    }


pairs = st.integers(0, 2**32).map(_pair)
DX_FAULTS = st.fixed_dictionaries(
    {
        "operation": st.sampled_from(get_args(Operation)),
        "error": st.sampled_from(["ThrottlingException", "TooManyRequestsException", "DirectConnectServerException"]),
        "times": st.integers(1, 6),
    }
)
SERVICE_FAULTS = st.one_of(
    st.fixed_dictionaries(
        {
            "operation": st.sampled_from(
                ["DescribeSecret", "GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage"]
            ),
            "error": st.sampled_from(["ThrottlingException", "InternalServiceError"]),
            "times": st.integers(1, 6),
        }
    ),
    st.fixed_dictionaries(
        {
            "operation": st.sampled_from(["PutItem", "GetItem", "DeleteItem"]),
            "error": st.sampled_from(
                ["ThrottlingException", "ProvisionedThroughputExceededException", "InternalServerError"]
            ),
            "times": st.integers(1, 6),
        }
    ),
)
FUNCTION_FAULTS = st.fixed_dictionaries(
    {
        "function": st.sampled_from(STEPS),
        "kind": st.sampled_from(["crash", "timeout"]),
        "when": st.sampled_from(["before", "after"]),
        "times": st.integers(1, 3),
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
        scheduled = draw(st.integers(0, 3)) == 0  # the rotation function makes the new pairs
        if scheduled:
            spec["routerFollowsSecret"] = draw(st.integers(0, 5)) > 0  # router automation, usually
        if draw(st.integers(0, 5)) == 0:  # a router that never learns the new keys
            spec["routerCkns"] = [old["ckn"]]
        if draw(st.integers(0, 9)) == 0:  # its owner bound it to no secret: nothing may touch it
            spec["tags"] = {}
        callback = draw(st.integers(0, 2)) == 0  # routerConfirmation callback, by the secret's tag
        if callback:
            spec.pop("routerFollowsSecret", None)
            spec["routerCkns"] = [old["ckn"]]  # the router learns a new key only from its automation, if any
            automation = draw(router_automations())
            if automation is not None:
                spec["routerAutomation"] = automation
        if target_id.startswith("dxlag-"):
            lags.append({**spec, "members": [f"dxcon-{n:04d}c{m:03d}" for m in range(draw(st.integers(1, 2)))]})
        else:
            connections.append(spec)
        name = f"macsec/{target_id}"
        tags = {"macsec:target": target_id}
        if draw(st.booleans()):
            tags["macsec:encryption-mode"] = draw(st.sampled_from(["should_encrypt", "must_encrypt"]))
        if callback:
            tags["macsec:router-confirmation"] = "callback"
        secrets.append({"name": name, "tags": tags, "versions": [{"id": "v1", "value": old, "stages": ["AWSCURRENT"]}]})
        for value in new_values:
            at = draw(st.integers(0, 400))
            if scheduled:
                events.append({"at": at, "type": "rotate", "secret": name})
            else:
                events.append({"at": at, "type": "PutSecretValue", "secret": name, "value": value})
            if draw(st.integers(0, 3)) == 0:  # a duplicate delivery, or an operator start
                events.append({"at": at + draw(st.integers(0, 60)), "type": "console", "input": {"secretId": name}})
        last_write = max(e["at"] for e in events if e.get("secret") == name)
        events += draw(_mishaps(target_id, name, last_write))
    faults = (
        draw(st.lists(DX_FAULTS, max_size=3))
        + draw(st.lists(SERVICE_FAULTS, max_size=2))
        + draw(st.lists(FUNCTION_FAULTS, max_size=2))
    )
    return {
        # Five minutes is above every association time drawn (240 s at most), and keeps a key that never associates (a
        # router that never gets it, under associationWaitsForRouter) from costing 30 minutes of rounds.
        "settings": {"associationTimeoutSeconds": 300},
        "connections": connections,
        "lags": lags,
        "secrets": secrets,
        "faults": faults,
        "behaviour": {
            "associationSeconds": draw(st.integers(0, 240)),
            "disassociationSeconds": draw(st.integers(0, 30)),
            **draw(unpublished_behaviour()),
        },
        "events": events,
    }


@st.composite
def router_automations(draw: Any) -> dict[str, Any] | None:
    """The customer's router automation under routerConfirmation callback: fast, slow (up to past the 3600 s
    timeout), never there, installing but never confirming, or confirming another CKN than the announced one."""
    kind = draw(st.sampled_from(["fast", "slow", "none", "silent", "wrongCkn"]))
    if kind == "none":
        return None
    delay = draw(st.integers(0, 60)) if kind == "fast" else draw(st.integers(60, 4000))
    automation: dict[str, Any] = {"delaySeconds": delay, "confirms": kind != "silent"}
    if kind == "wrongCkn":
        automation["ckn"] = draw(pairs)["ckn"]
    return automation


SETTLE_SECONDS = 30  # encryptionSettleSeconds' default: the port-status delays drawn stay below it


@st.composite
def unpublished_behaviour(draw: Any) -> dict[str, Any]:
    """One answer to each thing Direct Connect does not publish (docs/reliability.md), in any combination."""
    return {
        "disassociatedKeysLingerSeconds": draw(st.sampled_from([0, 0, 15, 120, None])),
        "lagMembersOmitPortStatus": draw(st.booleans()),
        "portStatusDelaySeconds": draw(st.sampled_from([0, 0, 5, 20, SETTLE_SECONDS - 1])),
        "associationWaitsForRouter": draw(st.integers(0, 5)) == 0,
        "managedSecretPerCkn": draw(st.booleans()),
        "reassociateLingeringCkn": draw(st.sampled_from(["allowed", "afterGone"])),
        "lingeringKeysCountTowardLimit": draw(st.booleans()),
    }


def restorable(fleet: dict[str, Any]) -> bool:
    """Whether a key removed by a rotation can always be associated again: not where Direct Connect keeps
    disassociated keys listed for ever and either refuses a listed CKN or counts listed keys toward the three
    (then every removal uses up a place for good). There only the router's having the new key protects the
    link."""
    behaviour = fleet["behaviour"]
    stuck_forever = behaviour["reassociateLingeringCkn"] == "afterGone" or behaviour["lingeringKeysCountTowardLimit"]
    return not (behaviour["disassociatedKeysLingerSeconds"] is None and stuck_forever)


@st.composite
def _mishaps(draw: Any, target_id: str, secret: str, last_write: int) -> list[dict[str, Any]]:
    """Things that happen to a target or its secret while rotations run: now and then, at any time."""
    kind, at = draw(st.integers(0, 9)), draw(st.integers(0, 700))
    if kind == 7:  # the connection (or LAG) goes down, and comes back
        back = at + draw(st.integers(1, 300))
        return [
            {"at": at, "type": "connectionState", "target": target_id, "state": "down"},
            {"at": back, "type": "connectionState", "target": target_id, "state": "available"},
        ]
    if kind == 8:  # Direct Connect drops the newest key
        return [{"at": at, "type": "dropKey", "target": target_id}]
    if kind == 9:  # someone deletes the secret, after its last write (while it is being rotated, or later)
        return [{"at": last_write + draw(st.integers(0, 300)), "type": "deleteSecret", "secret": secret}]
    return []


def check_invariants(fleet: dict[str, Any]) -> None:
    counting.example_ran()
    # A dropped key is the injected fault's doing: its target may go without a key, and need not end on
    # the secret's current key. A deleted secret has no current key to end on.
    dropped = {e["target"] for e in fleet["events"] if e["type"] == "dropKey"}
    deleted = {e["secret"] for e in fleet["events"] if e["type"] == "deleteSecret"}
    # No CAK anywhere, no other target left keyless, every failure named, every execution ends.
    report = run_checked(fleet, keyless_excused=dropped)
    counted = fleet["behaviour"]["lingeringKeysCountTowardLimit"]
    for target in report["targets"].values():  # the keychain: listed disassociated keys count only if DX says so
        assert len([k for k in target["macSecKeys"] if counted or k["state"] != "disassociated"]) <= 3
    everything_succeeded = report["deadLetters"] == 0 and all(e["status"] == "SUCCEEDED" for e in report["executions"])
    # A target ends on its secret's AWSCURRENT key when every execution succeeded, if a rotation ran for it
    # or it started on that key (a scheduled rotation that failed starts none, and changes no key).
    worked_on = {r["target"] for e in report["executions"] for r in (e["output"] or {}).get("results", [])}
    started_on = {t["id"]: [k["ckn"] for k in t["keys"]] for t in [*fleet["connections"], *fleet["lags"]]}
    # A target bound to no secret ends exactly as it began: its keys, its mode.
    for spec in [*fleet["connections"], *fleet["lags"]]:
        if spec.get("tags") == {} and spec["id"] not in dropped:
            view = report["targets"][spec["id"]]
            assert associated_ckns(report, spec["id"]) == sorted(k["ckn"] for k in spec["keys"]), spec["id"]
            assert view["encryptionMode"] == spec["encryptionMode"], spec["id"]
    # Every port that was encrypted when the run began ends encrypted whenever a restorable pair existed:
    # the target's key was not dropped by Direct Connect, its secret not deleted, and Direct Connect lets a
    # removed key come back.
    if restorable(fleet):
        for spec in [*fleet["connections"], *fleet["lags"]]:
            secret = f"macsec/{spec['id']}"
            if spec["keys"] and spec["id"] not in dropped and secret not in deleted:
                assert ports_down(report, spec["id"]) == [], (spec["id"], report["targets"][spec["id"]])
    # Under routerConfirmation callback no port that was encrypted ever reports Encryption Down: nothing is removed
    # before the router automation confirmed the new key (unless the connection itself went down, Direct Connect
    # dropped the key, or the secret was deleted).
    mishaps = {e.get("target") for e in fleet["events"] if e["type"] in ("connectionState", "dropKey")}
    callback = {s["tags"]["macsec:target"] for s in fleet["secrets"] if "macsec:router-confirmation" in s["tags"]}
    for spec in [*fleet["connections"], *fleet["lags"]]:
        excused = spec["id"] in mishaps | dropped or f"macsec/{spec['id']}" in deleted
        if spec["id"] in callback and spec["keys"] and not excused:
            for port in spec.get("members", [spec["id"]]):
                assert report["encryptionDownSeconds"][port] == 0, (spec["id"], port, report["executions"])
    if everything_succeeded:
        for secret in fleet["secrets"]:
            target = secret["tags"]["macsec:target"]
            if target in dropped or secret["name"] in deleted:
                continue
            if target not in worked_on and started_on[target] != [secret["versions"][0]["value"]["ckn"]]:
                continue
            current = report["secrets"][secret["name"]]["currentCkn"]
            assert associated_ckns(report, target) == [current], (target, report["executions"])


def _shard(number: int) -> Callable[..., None]:
    examples = math.ceil(EXAMPLES / SHARDS)
    test = given(fleets())(check_invariants)
    test = settings(
        max_examples=examples,
        deadline=None,
        database=None if not SOAK else settings.default.database,
        # make test: the same examples every run; soak: new ones, shrunk to a minimal failing scenario.
        phases=[Phase.generate, Phase.shrink] if SOAK else [Phase.generate],
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )(test)
    return test if SOAK else seed(number)(test)


for _number in range(1, SHARDS + 1):
    globals()[f"test_invariants_hold_for_random_fleets_events_and_faults_{_number}"] = _shard(_number)
