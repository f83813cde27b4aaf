"""`macsec-rotation preflight` in-process against the embedded AWS: each blocking finding in its own scenario
(tests/scenarios/preflight/, `expect.preflight`), the ready account exits 0, and no CAK reaches the document."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from cli.preflight import DESCRIBE, KEY_READERS, ON_SECRETS, READS_TARGETS, WRITES_TARGETS
from local.template import synthesize

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "preflight").glob("preflight-*.json"))


def caks(tree: Any) -> set[str]:
    """Every CAK the scenario file holds (wherever it sits)."""
    if isinstance(tree, dict):
        found = {str(tree["cak"])} if "cak" in tree else set()
        return found.union(*(caks(v) for v in tree.values()))
    if isinstance(tree, list):
        return set().union(*(caks(v) for v in tree))
    return set()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_preflight_finds_what_blocks_a_rotation(path: Path) -> None:
    scenario = json.loads(path.read_text())
    expected = scenario["expect"]["preflight"]
    out, err = io.StringIO(), io.StringIO()
    code = main(["--local", str(path), "preflight", "--json"], out=out, err=err)
    text = out.getvalue()
    document = json.loads(text)  # exactly one JSON document on stdout
    assert code == expected["exit"], document
    assert document["command"] == "preflight" and document["ready"] is (code == 0)
    blocking = [f for f in document["findings"] if f["severity"] == "block"]
    assert sorted({f["check"] for f in blocking}) == sorted(expected["blocks"]), blocking
    if "text" in expected:
        assert any(expected["text"] in f["finding"] for f in blocking), blocking
    for finding in blocking:
        assert finding["finding"] and finding["todo"], finding  # each says what to do
    for cak in caks(scenario):
        assert cak.lower() not in (text + err.getvalue()).lower()
        assert cak[:16].lower() not in text.lower()


def test_the_human_report_has_a_line_per_finding_and_a_verdict() -> None:
    out = io.StringIO()
    path = next(p for p in SCENARIOS if p.stem == "preflight-kms-key-without-grant")
    assert main(["--local", str(path), "preflight"], out=out) == 1
    report = out.getvalue()
    assert "BLOCK  kms" in report and "aws kms create-grant" in report
    assert "OK     permissions" in report and "moto has no policy simulator" in report
    assert report.rstrip().endswith("block a rotation")


def test_the_needs_table_matches_the_synthesized_policies() -> None:
    """preflight's table of what each step needs is what infra/permissions.py grants: every action it checks
    appears in the step's role policy (so a preflight denial is never the table's own mistake)."""
    template = synthesize().raw
    resources = template["Resources"]
    granted: dict[str, set[str]] = {}
    for function in (r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"):
        step = function["Properties"]["Handler"].split(".")[-2]
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        actions: set[str] = set()
        for policy in (r for r in resources.values() if r["Type"] == "AWS::IAM::Policy"):
            if {"Ref": role} in policy["Properties"]["Roles"]:
                for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                    listed = statement["Action"]
                    actions |= set(listed if isinstance(listed, list) else [listed])
        granted[step] = actions
    for step in READS_TARGETS:
        assert set(DESCRIBE.values()) <= granted[step], step
    for table in (WRITES_TARGETS, ON_SECRETS):
        for step, needed in table.items():
            assert set(needed) <= granted[step], (step, set(needed) - granted[step])
    for step in KEY_READERS:
        assert "kms:Decrypt" in granted[step], step


def test_against_aws_the_stack_is_read_from_lambda_events_and_the_policy_simulator() -> None:
    """The AWS side of the checks the embedded AWS answers from the template: the deployed functions
    (GetFunctionConfiguration), the rules (DescribeRule, on another bus too) and iam:SimulatePrincipalPolicy
    with the target's binding tag in the context and the secret's resource policy."""
    import boto3  # noqa: PLC0415
    from botocore.stub import Stubber  # noqa: PLC0415

    from cli.account import Account  # noqa: PLC0415
    from cli.preflight import AwsProbe  # noqa: PLC0415

    clients = {
        name: boto3.client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        for name in ("lambda", "events", "iam", "secretsmanager")
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    role = "arn:aws:iam::123456789012:role/Prepare"
    stubs["lambda"].add_response(
        "get_function_configuration",
        {
            "Handler": "macsec_rotation.handlers.prepare.handler",
            "Role": role,
            "Environment": {"Variables": {"ROUTER_CONFIRMATION": "callback"}},
        },
        {"FunctionName": "stack-Prepare-1"},
    )
    stubs["events"].add_response("describe_rule", {"State": "DISABLED", "EventPattern": "{}"}, {"Name": "trigger"})
    stubs["events"].add_response(
        "describe_rule", {"State": "ENABLED", "EventPattern": "{}"}, {"Name": "confirmed", "EventBusName": "bus"}
    )
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:macsec/x-AbCdEf"
    stubs["secretsmanager"].add_response(
        "get_resource_policy", {"ResourcePolicy": '{"Statement": []}'}, {"SecretId": secret}
    )
    stubs["iam"].add_response(
        "simulate_principal_policy",
        {
            "EvaluationResults": [
                {"EvalActionName": "secretsmanager:DescribeSecret", "EvalDecision": "allowed"},
                {"EvalActionName": "secretsmanager:GetSecretValue", "EvalDecision": "explicitDeny"},
            ]
        },
        {
            "PolicySourceArn": role,
            "ActionNames": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "ResourceArns": [secret],
            "ContextEntries": [
                {
                    "ContextKeyName": "aws:ResourceTag/macsec:secret",
                    "ContextKeyValues": ["macsec/x"],
                    "ContextKeyType": "string",
                }
            ],
            "ResourcePolicy": '{"Statement": []}',
        },
    )
    resources = (
        {
            "LogicalResourceId": "FunctionsPrepare1",
            "ResourceType": "AWS::Lambda::Function",
            "PhysicalResourceId": "stack-Prepare-1",
        },
        {"LogicalResourceId": "Trigger", "ResourceType": "AWS::Events::Rule", "PhysicalResourceId": "trigger"},
        {"LogicalResourceId": "Confirmed", "ResourceType": "AWS::Events::Rule", "PhysicalResourceId": "bus|confirmed"},
    )
    account = Account(
        client=clients.__getitem__,
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:m",
        wait=lambda _: None,
        stack_resources=resources,
    )
    for stub in stubs.values():
        stub.activate()
    probe = AwsProbe(account)
    (function,) = probe.functions()
    assert (function.step, function.role_arn, function.environment) == (
        "prepare",
        role,
        {"ROUTER_CONFIRMATION": "callback"},
    )
    assert [(r.name, r.state, r.schedule) for r in probe.rules()] == [
        ("trigger", "DISABLED", False),
        ("confirmed", "ENABLED", False),
    ]
    decisions = probe.simulate(
        role,
        ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        secret,
        {"aws:ResourceTag/macsec:secret": "macsec/x"},
    )
    assert decisions == {"secretsmanager:DescribeSecret": "allowed", "secretsmanager:GetSecretValue": "denied"}
    for stub in stubs.values():
        stub.assert_no_pending_responses()
