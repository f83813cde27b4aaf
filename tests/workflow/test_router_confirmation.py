"""The router side of a rotation (routerConfirmation `callback`) on the embedded AWS: the events the workflow puts
for the customer's router automation, the automation's confirmation on the stack's router bus, and what the
rotation does with it (or without it). The scenarios are the ones under tests/scenarios/router-*.json."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from local.clock import EPOCH
from local.report import build_report
from local.runner import LocalAws
from local.scenario import ScenarioError, parse
from local.simulation import scenario_world
from tests.harness import associated_ckns, caks_of

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
READY = "MACsec Key Ready For Router"
INSTALLED = "MACsec Router Key Installed"
ROLLED_BACK = "MACsec Key Rolled Back"
REMOVED = "MACsec Old Keys Removed"
ROUTER_BUS = "MacsecKeyRotation-router"


def scenario(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((SCENARIOS / f"{name}.json").read_text())
    return raw


@contextmanager
def world(raw: dict[str, Any]) -> Iterator[tuple[LocalAws, dict[str, Any]]]:
    with scenario_world(parse(raw)) as aws:
        yield aws, build_report(aws)


def keys(raw: dict[str, Any]) -> tuple[str, str]:
    """The scenario secret's old (AWSPREVIOUS) and new (AWSCURRENT) CKN."""
    old, new = (v["value"]["ckn"] for v in raw["secrets"][0]["versions"])
    return old, new


def assert_no_cak_on_the_bus(report: dict[str, Any], raw: dict[str, Any]) -> None:
    put = json.dumps(report["busEvents"])
    for cak in caks_of(parse(raw)):
        assert cak not in put


def test_a_slow_router_is_asked_then_confirms_and_only_then_the_old_key_goes() -> None:
    # Given a target whose secret asks for the router's confirmation, and a router automation that takes 5 minutes
    raw = scenario("router-callback-slow-router-connection")
    old, new = keys(raw)
    # When the rotation runs
    with world(raw) as (aws, report):
        removals = [t for t, operation, _, outcome in aws.dx.api_log if operation == "DisassociateMacSecKey"]
    # Then the workflow asks, the automation confirms on the router bus, the workflow announces the removal
    events = report["busEvents"]
    assert [(e["detailType"], e["bus"]) for e in events] == [
        (READY, "default"),
        (INSTALLED, ROUTER_BUS),
        (REMOVED, "default"),
    ]
    ready, installed, removed = events
    assert ready["source"] == removed["source"] == "macsec.rotation"
    assert set(ready["detail"]) == {"target", "secretArn", "versionId", "ckn", "executionArn"}
    assert ready["detail"]["target"] == "dxcon-aaaa1111" and ready["detail"]["ckn"] == new
    assert ready["detail"]["executionArn"].endswith(":rotate")
    assert ready["detail"]["secretArn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/")
    assert installed["detail"] == {"target": "dxcon-aaaa1111", "ckn": new}
    # (within the first seconds: the steps' Direct Connect calls take their turns in the stack's budget)
    assert ready["at"] < 2.0 and installed["at"] == ready["at"] + 300.0
    assert removed["detail"]["ckns"] == [old]
    # and the old key went only after the confirmation, without encryption ever dropping
    assert removals and min(removals) - EPOCH >= installed["at"]
    assert report["executions"][0]["status"] == "SUCCEEDED"
    assert associated_ckns(report, "dxcon-aaaa1111") == [new]
    assert report["encryptionDownSeconds"] == {"dxcon-aaaa1111": 0.0}
    assert report["stepInvocations"]["router_confirmed"] == 1
    assert report["deadLetters"] == 0 and report["actorFailures"] == []
    assert_no_cak_on_the_bus(report, raw)


def test_a_router_that_never_confirms_gets_the_new_key_rolled_back() -> None:
    raw = scenario("router-callback-never-confirms-lag")
    old, new = keys(raw)
    with world(raw) as (_, report):
        pass
    (execution,) = report["executions"]
    assert (execution["status"], execution["error"]) == ("FAILED", "RouterNotConfirmed")
    assert [e["detailType"] for e in report["busEvents"]] == [READY, ROLLED_BACK]
    rolled_back = report["busEvents"][1]["detail"]
    assert (rolled_back["target"], rolled_back["ckn"], rolled_back["reason"]) == (
        "dxlag-bbbb2222",
        new,
        "RouterNotConfirmed",
    )
    assert associated_ckns(report, "dxlag-bbbb2222") == [old]
    assert set(report["encryptionDownSeconds"].values()) == {0.0}
    assert_no_cak_on_the_bus(report, raw)


def test_a_confirmation_of_another_ckn_confirms_nothing() -> None:
    raw = scenario("router-callback-wrong-ckn-connection")
    old, new = keys(raw)
    with world(raw) as (_, report):
        pass
    assert report["executions"][0]["error"] == "RouterNotConfirmed"
    installed = next(e for e in report["busEvents"] if e["detailType"] == INSTALLED)
    assert installed["detail"]["ckn"] == raw["connections"][0]["routerAutomation"]["ckn"] != new
    assert associated_ckns(report, "dxcon-aaaa1111") == [old]


def test_a_confirmation_that_comes_before_the_workflow_parks_is_kept() -> None:
    raw = scenario("router-callback-confirmed-early-connection")
    with world(raw) as (_, report):
        pass
    assert [e["detailType"] for e in report["busEvents"]] == [READY, INSTALLED, REMOVED]
    assert report["busEvents"][1]["at"] < 2.0
    assert report["executions"][0]["status"] == "SUCCEEDED"
    # the first round of the wait found the confirmation: it never parked for another round
    assert report["executions"][0]["states"].count("WaitForRouter") == 1
    assert any('"router confirmation kept' in line for line in report["logs"])


def test_mode_none_puts_no_event_and_the_automation_never_acts() -> None:
    raw = scenario("router-none-unchanged-connection")
    with world(raw) as (_, report):
        pass
    assert report["busEvents"] == []
    assert report["executions"][0]["status"] == "SUCCEEDED"
    assert "router_confirmed" not in report["stepInvocations"]


def test_a_confirmation_put_by_hand_answers_the_waiting_rotation() -> None:
    # Given a callback rotation and no router automation: an operator loads the key and confirms it with
    # PutEvents on the router bus (what `macsec-rotation confirm` does), from outside the workflow
    raw = scenario("router-callback-no-automation-connection")
    raw["events"] = []
    _, new = keys(raw)
    with scenario_world(parse(raw)) as aws:
        arn = aws.start_execution({"secretId": "macsec/dxcon-aaaa1111"}, name="rotate")
        aws.advance_to(900)
        aws.dx.add_router_ckn("dxcon-aaaa1111", new)
        answer = aws.client("events").put_events(
            Entries=[
                {
                    "Source": "operator",
                    "DetailType": INSTALLED,
                    "Detail": json.dumps({"target": "dxcon-aaaa1111", "ckn": new}),
                    "EventBusName": f"arn:aws:events:us-east-1:123456789012:event-bus/{ROUTER_BUS}",
                }
            ]
        )
        aws.wait_for_executions()
        report = build_report(aws)
        assert aws.describe(arn)["status"] == "SUCCEEDED"
    assert answer["FailedEntryCount"] == 0
    assert [(e["detailType"], e["bus"], e["at"] // 10 * 10) for e in report["busEvents"]][:2] == [
        (READY, "default", 0),
        (INSTALLED, ROUTER_BUS, 900),
    ]
    assert associated_ckns(report, "dxcon-aaaa1111") == [new]


def test_an_event_on_the_default_bus_reaches_no_rule_of_the_router_bus() -> None:
    raw = scenario("router-callback-no-automation-connection")
    raw["events"] = []
    with scenario_world(parse(raw)) as aws:
        buses = {b["Name"] for b in aws.client("events").list_event_buses()["EventBuses"]}
        aws.client("events").put_events(
            Entries=[
                {
                    "Source": "operator",
                    "DetailType": INSTALLED,
                    "Detail": json.dumps({"target": "dxcon-aaaa1111", "ckn": "ab" * 32}),
                }
            ]
        )
        assert aws.dispatcher.invocations == {}
        assert [(e["bus"], e["detailType"]) for e in aws.bus_events] == [("default", INSTALLED)]
    assert {"default", ROUTER_BUS} <= buses


def test_an_automation_that_sleeps_past_the_end_of_the_run_does_not_hold_it() -> None:
    # Given an automation that would answer only long after the rotation gave up
    raw = copy.deepcopy(scenario("router-callback-slow-router-connection"))
    raw["connections"][0]["routerAutomation"]["delaySeconds"] = 100_000
    with world(raw) as (aws, report):
        end = aws.clock.elapsed()
    # Then the run ends with the rotation, time stops there, and the automation never acts
    assert report["executions"][0]["error"] == "RouterNotConfirmed"
    assert report["virtualSeconds"] == round(end, 3) == report["executions"][0]["stoppedAt"]
    assert 3600.0 <= end <= 3602.0  # the wait's deadline: an hour after it parked, in the run's first seconds
    assert [e["detailType"] for e in report["busEvents"]] == [READY, ROLLED_BACK]


def test_a_router_automation_is_validated_like_the_rest_of_the_file() -> None:
    raw = scenario("router-callback-slow-router-connection")
    raw["connections"][0]["routerAutomation"] = {"delaySeconds": -1, "confirms": "sometimes", "ckn": "xyz"}
    with pytest.raises(ScenarioError) as raised:
        parse(raw)
    problems = str(raised.value)
    for field in ("delaySeconds", "confirms", "ckn"):
        assert f"connections.0.routerAutomation.{field}" in problems
