"""Runs a scenario and checks what must hold after every run, whatever the scenario."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from local.runner import LocalAws
from local.scenario import Scenario, parse
from local.simulation import report_with_history, scenario_world
from tests.conftest import assert_no_key_material


def caks_of(scenario: Scenario) -> list[str]:
    caks = [k.cak for target in [*scenario.connections, *scenario.lags] for k in target.keys]
    values = [v.value for s in scenario.secrets for v in s.versions] + [e.value for e in scenario.events]
    caks += [v["cak"] for v in values if isinstance(v, dict) and isinstance(v.get("cak"), str)]
    return [c for c in caks if len(c) >= 16]


def caks_in_secrets(aws: LocalAws) -> list[str]:
    """Every CAK any version of any secret holds after the run, labelled or not (a failed rotation's)."""
    client, caks = aws.client("secretsmanager"), []
    for listed in client.list_secrets()["SecretList"]:
        versions = client.list_secret_version_ids(SecretId=listed["ARN"], IncludeDeprecated=True)["Versions"]
        for version in versions:
            try:
                value = json.loads(
                    client.get_secret_value(SecretId=listed["ARN"], VersionId=version["VersionId"])["SecretString"]
                )
            except (ClientError, KeyError, ValueError):
                continue  # a version without a value (a rotation that failed before createSecret)
            if isinstance(value, dict) and isinstance(value.get("cak"), str) and len(value["cak"]) >= 16:
                caks.append(value["cak"])
    return caks


def run_checked(raw: dict[str, Any], keyless_excused: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """Run and check the invariants. A target whose injected fault itself removes its only key is excused
    from having one: all of them when the scenario says so in expect.keylessAllowed, or those named."""
    scenario = parse(raw)
    with scenario_world(scenario) as aws:  # raises RunStuck if an execution never ends
        report = report_with_history(aws)
        generated = caks_in_secrets(aws)
    # No CAK in the report, the logs and metrics, nor any execution's history: neither the scenario's nor
    # one the rotation function generated.
    assert_no_key_material(report, caks_of(scenario) + generated)
    # No target that had a working key was ever left without one.
    started_with_keys = {t.id for t in [*scenario.connections, *scenario.lags] if t.keys}
    keyless = {
        t: s for t, s in report["keylessSeconds"].items() if s and t in started_with_keys and t not in keyless_excused
    }
    if not (raw.get("expect") or {}).get("keylessAllowed"):
        assert not keyless, f"targets without any associated key for a while: {keyless}"
    # No runaway loop: every execution stays inside Step Functions' 25,000-event history.
    for name, events in report["history"].items():
        assert len(events) < HISTORY_LIMIT, f"{name} has {len(events)} history events"
    # Every failure is one of the documented errors, with a cause an operator can act on.
    for execution in report["executions"]:
        if execution["status"] != "SUCCEEDED":
            assert execution["error"] in KNOWN_ERRORS, execution
            assert execution["cause"] and len(execution["cause"]) > 20, execution
    return report


HISTORY_LIMIT = 25_000


def associated_ckns(report: dict[str, Any], target: str) -> list[str]:
    return sorted(k["ckn"] for k in report["targets"][target]["macSecKeys"] if k["state"] == "associated")


def execution_outcomes(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Each execution's status and error name, in the order they started."""
    return [(e["status"], e["error"]) for e in report["executions"]]


def ports_down(report: dict[str, Any], target: str) -> list[str]:
    """The target's ports (a LAG's members) that are not encrypted at the end of the run."""
    view = report["targets"][target]
    ports = view.get("members", {target: view})
    return [port for port, state in ports.items() if state["portEncryptionStatus"] != "Encryption Up"]


def execution(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in report["executions"] if e["name"] == name)


KNOWN_ERRORS = {
    "Aborted",
    "InvalidInput",
    "SecretNotFound",
    "TargetNotFound",
    "TargetNotAuthorized",
    "InvalidKeyMaterial",
    "VersionNotCurrent",
    "TargetNotMacsecCapable",
    "TargetNotAvailable",
    "KeychainFull",
    "AssociationRejected",
    "AssociationTimeout",
    "RouterNotConfirmed",
    "NewKeyNotAssociated",
    "DisassociationTimeout",
    "EncryptionDown",
    "ThrottlingException",
    "DirectConnectServerException",
    "DirectConnectBusy",
    "DirectConnectRefused",
    "WorkflowError",
    "TargetBusy",
    # Lambda's own names for an invocation that crashed or timed out after every retry
    "Sandbox.Timedout",
    "Runtime.ExitError",
}
