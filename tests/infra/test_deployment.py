"""Deployment: the real CDK CLI, cdk-nag, managed secrets, alarms, the dead-letter queue and notifications."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Validations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template as CdkTemplate
from cdk_nag import AwsSolutionsChecks

from infra.app import build_app
from infra.nag import acknowledgements
from infra.settings import DeploymentSettings, SettingsError
from infra.stack import MacsecRotationStack
from local.template import SYNTH_CONTEXT, Template

ROOT = Path(__file__).resolve().parents[2]
CDK = ROOT / "node_modules" / ".bin" / "cdk"


def without_paths(template: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(template))
    for resource in copy["Resources"].values():
        metadata = resource.get("Metadata", {})
        metadata.pop("aws:cdk:path", None)
        if not metadata:
            resource.pop("Metadata", None)
    return copy


def test_the_cdk_cli_synthesizes_the_template_the_tests_use(template: Template, tmp_path: Path) -> None:
    assert CDK.exists(), "the pinned CDK CLI is missing: run `make test`, which installs it with npm ci"
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    subprocess.run(
        [str(CDK), "synth", "--quiet", "--version-reporting", "false", "-o", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    synthesized = json.loads((tmp_path / "MacsecKeyRotation.template.json").read_text())
    assert without_paths(synthesized) == without_paths(template.raw)


def test_cdk_nag_runs_on_every_synth_and_passes_with_managed_targets(tmp_path: Path) -> None:
    app, _ = build_app({**SYNTH_CONTEXT, "managedTargets": "dxcon-aaaa1111,dxlag-bbbb2222"}, outdir=str(tmp_path))
    app.synth()  # violations would raise here


def test_every_cdk_nag_acknowledgement_answers_a_finding_raised_today(tmp_path: Path) -> None:
    # Synthesized without acknowledgements, cdk-nag's findings are exactly the acknowledged ones: none is stale
    # (its reason would describe a permission that no longer exists) and none is missing.
    context = {
        **SYNTH_CONTEXT,
        "managedTargets": "dxcon-aaaa1111,dxlag-bbbb2222",
        "keyReaders": "arn:aws:iam::111122223333:role/router-automation",
    }
    app = App(context=context, outdir=str(tmp_path))
    settings = DeploymentSettings.from_context(context)
    stack = MacsecRotationStack(app, settings.stack_name, settings)
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    acknowledged = acknowledgements(stack, stack.invoked_functions, settings)
    assert findings == set(acknowledged)
    assert "AwsSolutions-IAM4" not in json.dumps(sorted(findings))  # no AWS managed policy on any role


def test_cdk_nag_would_stop_a_violation(tmp_path: Path) -> None:
    app, stack = build_app(dict(SYNTH_CONTEXT), outdir=str(tmp_path))
    sqs.Queue(stack, "Unencrypted", encryption=sqs.QueueEncryption.UNENCRYPTED)
    with pytest.raises(Exception, match="AwsSolutions-SQS2"):
        app.synth()


def managed_template() -> dict[str, Any]:
    _, stack = build_app({**SYNTH_CONTEXT, "managedTargets": ["dxcon-aaaa1111", "dxlag-bbbb2222"], "rotationDays": 7})
    return CdkTemplate.from_stack(stack).to_json()


def test_managed_targets_get_a_tagged_kms_encrypted_secret_rotated_on_schedule() -> None:
    resources = managed_template()["Resources"]
    secrets = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SecretsManager::Secret"]
    assert sorted(s["Name"] for s in secrets) == ["macsec/dxcon-aaaa1111", "macsec/dxlag-bbbb2222"]
    (key,) = [k for k, r in resources.items() if r["Type"] == "AWS::KMS::Key"]
    for secret in secrets:
        assert secret["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
        assert {"Key": "macsec:target", "Value": secret["Name"].removeprefix("macsec/")} in secret["Tags"]
        assert "SecretString" not in secret  # CloudFormation generates a value, refused as InvalidKeyMaterial
    schedules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SecretsManager::RotationSchedule"]
    assert len(schedules) == 2
    for schedule in schedules:
        assert schedule["RotationRules"]["ScheduleExpression"] == "rate(7 days)"
        assert "RotateSecret" in json.dumps(schedule["RotationLambdaARN"])
        assert schedule["RotateImmediatelyOnUpdate"] is False


def test_alarms_cover_failed_timed_out_and_throttled_executions_and_the_dead_letter_queue(template: Template) -> None:
    alarms = list(template.resources("AWS::CloudWatch::Alarm").values())
    metrics = sorted(a["Properties"]["MetricName"] for a in alarms)
    assert metrics == [
        "ApproximateNumberOfMessagesVisible",
        "DriftedTargets",
        "ExecutionThrottled",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "RouterWaitSeconds",
    ]
    (topic,) = template.resources("AWS::SNS::Topic")
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
        # A rotation waiting on the router longer than routerWaitAlarmSeconds (default 1800); the rest on any event.
        router_wait = alarm["Properties"]["MetricName"] == "RouterWaitSeconds"
        assert alarm["Properties"]["Threshold"] == (1800 if router_wait else 1)


def test_the_topic_and_the_dead_letter_queue_are_encrypted(template: Template) -> None:
    (topic,) = template.resources("AWS::SNS::Topic").values()
    assert "KmsMasterKeyId" in topic["Properties"]
    (queue,) = template.resources("AWS::SQS::Queue").values()
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    rules = [r for r in template.resources("AWS::Events::Rule").values() if "EventPattern" in r["Properties"]]
    assert len(rules) == 3
    for rule in rules:
        if "EventBusName" in rule["Properties"]:  # the router automation's confirmations: tests/infra/test_router.py
            continue
        (target,) = rule["Properties"]["Targets"]
        assert "Intake" in json.dumps(target["Arn"])
        assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    invoke_configs = template.resources("AWS::Lambda::EventInvokeConfig").values()
    assert len(invoke_configs) == 2  # the intake's and the router confirmation's
    assert all("OnFailure" in config["Properties"]["DestinationConfig"] for config in invoke_configs)


def test_the_drift_check_runs_on_the_configured_schedule(template: Template) -> None:
    rules = template.resources("AWS::Events::Rule").values()
    (schedule,) = [r["Properties"] for r in rules if "ScheduleExpression" in r["Properties"]]
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    assert "DriftCheck" in json.dumps(schedule["Targets"])


def test_a_notification_email_subscribes_to_the_topic() -> None:
    _, stack = build_app({**SYNTH_CONTEXT, "notificationEmail": "netops@example.com"})
    resources = CdkTemplate.from_stack(stack).to_json()["Resources"]
    (subscription,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "netops@example.com")


@pytest.mark.parametrize(
    ("context", "says"),
    [
        ({"managedTargets": "dxcon-aaaa1111,vpc-1"}, "managedTargets"),
        ({"managedTargets": "dxcon-aaaa1111,dxcon-aaaa1111"}, "twice"),
        ({"rotationDays": 0}, "rotationDays"),
        ({"stackName": "1bad"}, "stackName"),
        ({"encryptionSettleSeconds": -1}, "encryptionSettleSeconds"),
        ({"encryptionSettleSeconds": "soon"}, "encryptionSettleSeconds"),
        ({"encryptionSettleSeconds": 1801}, "encryptionSettleSeconds"),
        ({"encryptionSettleSeconds": 1800, "maxTargetsPerSecret": 5}, "history events"),
    ],
)
def test_bad_deployment_settings_are_refused_naming_the_key(context: dict[str, Any], says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        DeploymentSettings.from_context(context)


def test_key_readers_are_read_from_a_list_or_a_comma_separated_string() -> None:
    readers = ("arn:aws:iam::111122223333:role/router-automation", "arn:aws-us-gov:iam::123456789012:user/ops/netops")
    assert DeploymentSettings.from_context({"keyReaders": ",".join(readers)}).key_readers == readers
    assert DeploymentSettings.from_context({"keyReaders": list(readers)}).key_readers == readers
    assert DeploymentSettings.from_context({}).key_readers == ()
    assert DeploymentSettings.from_context({"secretPrefix": "network/macsec/"}).secret_prefix == "network/macsec/"


def test_the_settle_period_reaches_the_functions_that_judge_encryption(template: Template) -> None:
    # A longer settle lengthens every removal and restore wait: the history bound still holds, or synth says so.
    custom = DeploymentSettings.from_context({"encryptionSettleSeconds": 90, "associationTimeoutSeconds": 900})
    assert custom.encryption_settle_seconds == 90
    for function in template.resources("AWS::Lambda::Function").values():
        assert function["Properties"]["Environment"]["Variables"]["ENCRYPTION_SETTLE_SECONDS"] == "30"
