"""Every scenario file here runs on the embedded AWS and must meet its `expect` block."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.scenario import parse
from local.simulation import scenario_world
from tests.harness import associated_ckns, caks_in_secrets, caks_of, ports_down, run_checked

HERE = Path(__file__).parent
SCENARIOS = sorted(HERE.glob("*.json"))


def associated_ckns_anywhere(report: dict[str, Any]) -> set[str]:
    return {ckn for target in report["targets"] for ckn in associated_ckns(report, target)}


def check_execution(actual: dict[str, Any], wanted: dict[str, Any]) -> None:
    where = actual["name"]
    assert actual["status"] == wanted["status"], (where, actual["error"], actual["cause"])
    if "error" in wanted:
        assert actual["error"] == wanted["error"], (where, actual["cause"])
    for fragment in wanted.get("causeContains", []):
        assert fragment in (actual["cause"] or ""), (where, fragment, actual["cause"])
    for state in wanted.get("statesInclude", []):
        assert state in actual["states"], (where, state)
    for state in wanted.get("statesExclude", []):
        assert state not in actual["states"], (where, state)
    for field, value in wanted.get("output", {}).items():  # a dry run's plan, field by field
        assert (actual["output"] or {}).get(field) == value, (where, field, (actual["output"] or {}).get(field))
    results = {r["target"]: r for r in (actual["output"] or {}).get("results", [])}
    for target, fields in wanted.get("results", {}).items():
        assert target in results, (where, target, list(results))
        for field, value in fields.items():
            if field == "tighteningSkipped" and isinstance(value, str):
                assert value in (results[target][field] or ""), (where, target, results[target][field])
            else:
                assert results[target][field] == value, (where, target, field, results[target][field])


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    raw = json.loads(path.read_text())
    expect = raw["expect"]
    report = run_checked(raw)

    executions = report["executions"]
    if "executionCount" in expect:
        assert len(executions) == expect["executionCount"], [e["name"] for e in executions]
    by_name = {e["name"]: e for e in executions}
    for n, wanted in enumerate(expect.get("executions", [])):
        actual = by_name[wanted["name"]] if "name" in wanted else executions[n]
        check_execution(actual, wanted)
    for target, wanted in expect.get("targets", {}).items():
        if "associatedCkns" in wanted:
            assert associated_ckns(report, target) == sorted(wanted["associatedCkns"]), target
        for ckn in wanted.get("goneCkns", []):  # not listed, or on its way out (disassociation takes a while)
            states = [k["state"] for k in report["targets"][target]["macSecKeys"] if k["ckn"] == ckn]
            assert set(states) <= {"disassociating", "disassociated"}, (target, ckn, states)
        if "encryptionMode" in wanted:
            assert report["targets"][target]["encryptionMode"] == wanted["encryptionMode"], target
    for operation, count in expect.get("apiCalls", {}).items():
        assert report["apiCalls"].get(operation, 0) == count, (operation, report["apiCalls"])
    for name, fields in expect.get("secretFieldsKept", {}).items():
        secret = report["secrets"][name]
        assert set(fields) <= set(secret["currentFields"]), secret
        assert secret["currentCkn"] in associated_ckns_anywhere(report), "the new current key is on a link"
    if "locksHeld" in expect:  # target -> the execution still holding its lock after the run
        assert report["locks"] == expect["locksHeld"], report["locks"]
    for operation in expect.get("apiCallsAbsent", []):
        assert report["apiCalls"].get(operation, 0) == 0, (operation, report["apiCalls"])
    for target in expect.get("encryptedAtEnd", []):
        assert ports_down(report, target) == [], (target, report["targets"][target])
    for port, most in expect.get("maxEncryptionDownSeconds", {}).items():
        assert report["encryptionDownSeconds"][port] <= most, (port, report["encryptionDownSeconds"][port])
    if "busEventTypes" in expect:  # the detail-types of every event put on EventBridge, in order
        assert [e["detailType"] for e in report["busEvents"]] == expect["busEventTypes"], report["busEvents"]


def test_the_key_material_scan_knows_the_cak_the_rotation_function_generated() -> None:
    # Scheduled rotation makes a CAK no scenario file holds; the scan must look for it too.
    scenario = parse(json.loads((HERE / "scheduled-rotation.json").read_text()))
    with scenario_world(scenario) as aws:
        generated = set(caks_in_secrets(aws)) - set(caks_of(scenario))
    assert len(generated) == 1
    assert all(len(cak) == 64 for cak in generated)
