"""Runs a scenario: seeds the emulated account, delivers its events, and reports what happened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from infra.settings import SettingsError

from .clock import EPOCH
from .directconnect import Connection, KeyHolder, Lag, OperationFault
from .lambdas import FunctionFault
from .runner import LocalAws
from .scenario import FunctionFaultSpec, KeyStuckSpec, Scenario, ScenarioError, ServiceFaultSpec, TargetSpec
from .service_faults import ServiceFault
from .template import Template, synthesize

STATE_ENTERED_SUFFIX = "StateEntered"


def run_scenario(scenario: Scenario, with_history: bool = False, template: Template | None = None) -> dict[str, Any]:
    """Run it; `with_history` adds every execution's full history (for scanning, not for display);
    `template` replaces the synthesized one (the benchmark's reference design)."""
    with scenario_world(scenario, template) as aws:
        report = _report(aws)
        if with_history:
            report["history"] = {r.name: aws.history(r.arn) for r in aws.executions.values()}
        return report


@contextmanager
def scenario_world(scenario: Scenario, template: Template | None = None) -> Iterator[LocalAws]:
    """The embedded AWS after the scenario's events have played out and every execution has ended."""
    try:
        template = template or synthesize(tuple(sorted(scenario.settings.items())))
    except SettingsError as error:
        raise ScenarioError(f"settings: {error}") from None
    with LocalAws(region=scenario.region, account=scenario.account, template=template) as aws:
        secret_arns = _seed(aws, scenario)
        _play(aws, scenario, secret_arns)
        aws.wait_for_executions()
        yield aws


def _play(aws: LocalAws, scenario: Scenario, secret_arns: dict[str, str]) -> None:
    for event in sorted(scenario.events, key=lambda e: e.at):
        aws.advance_to(event.at)
        if event.type == "console":
            assert event.input is not None
            aws.start_execution(_console_input(scenario, event.input), name=event.name)
        elif event.type == "RotationSucceeded":
            assert event.secret
            aws.deliver_event(_service_event(aws, secret_arns[event.secret], "RotationSucceeded"))
        elif event.type == "rotate":
            assert event.secret
            rotated = aws.rotate_secret(secret_arns[event.secret])
            if rotated:
                _router_automation(aws, scenario, event.secret)
            outcome = "RotationSucceeded" if rotated else "RotationFailed"
            aws.deliver_event(_service_event(aws, secret_arns[event.secret], outcome))
        elif event.type == "connectionState":
            assert event.target and event.state
            aws.dx.settle()
            aws.dx.find(event.target).state = event.state  # type: ignore[attr-defined]
        elif event.type == "dropKey":
            assert event.target
            aws.dx.drop_newest_key(event.target)
        elif event.type == "deleteSecret":
            assert event.secret
            aws.client("secretsmanager").delete_secret(
                SecretId=secret_arns[event.secret], ForceDeleteWithoutRecovery=True
            )
        elif event.type == "PutSecretValue":
            assert event.secret
            aws.deliver_event(_put_secret_value(aws, secret_arns[event.secret], event.value, event.stages))


# ---- seeding ----


def _seed(aws: LocalAws, scenario: Scenario) -> dict[str, str]:
    dx = aws.dx
    dx.behaviour.association_seconds = scenario.behaviour.association_seconds
    dx.behaviour.disassociation_seconds = scenario.behaviour.disassociation_seconds
    dx.behaviour.api_rate_per_second = scenario.behaviour.api_rate_per_second
    secret_arns = {secret.name: _create_secret(aws, secret) for secret in scenario.secrets}

    for spec in scenario.connections:
        connection = Connection(spec.id, spec.id, spec.mac_sec_capable, spec.encryption_mode, state=spec.state)
        dx.add_connection(connection)
        _seed_keys(aws, connection, spec, scenario)
    for lag_spec in scenario.lags:
        lag = Lag(
            lag_spec.id,
            lag_spec.id,
            lag_spec.mac_sec_capable,
            lag_spec.encryption_mode,
            member_ids=list(lag_spec.members),
            state=lag_spec.state,
        )
        dx.add_lag(lag)
        _seed_keys(aws, lag, lag_spec, scenario)
    for item in scenario.faults:
        if isinstance(item, KeyStuckSpec):
            dx.find(item.target).stuck_state = item.key_stuck
        elif isinstance(item, ServiceFaultSpec):
            aws.service_faults.append(ServiceFault(item.operation, item.error, item.times))
        elif isinstance(item, FunctionFaultSpec):
            aws.dispatcher.faults.append(FunctionFault(item.function, item.kind, item.times, item.when))
        else:
            dx.faults.operations.append(OperationFault(item.operation, item.error, item.times))
    return secret_arns


def _seed_keys(aws: LocalAws, holder: KeyHolder, spec: TargetSpec, scenario: Scenario) -> None:
    for key in spec.keys:
        aws.dx.seed_key(holder, key.ckn, key.cak)
    if spec.router_ckns is not None:
        router = set(spec.router_ckns)
    else:  # by default the peer router already holds every key the scenario knows for this target
        router = {k.ckn for k in spec.keys}
        for secret in scenario.secrets:
            if holder.target_id in secret.tags.get("macsec:target", "").split(","):
                values = [v.value for v in secret.versions]
                values += [e.value for e in scenario.events if e.type == "PutSecretValue" and e.secret == secret.name]
                router |= {v["ckn"] for v in values if isinstance(v, dict) and isinstance(v.get("ckn"), str)}
    holder.router_ckns = {c.lower() for c in router}


def _router_automation(aws: LocalAws, scenario: Scenario, secret_name: str) -> None:
    """Targets whose router follows their secret learn its new AWSCURRENT CKN."""
    secret = scenario.secret(secret_name)
    value = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=secret_name)["SecretString"])
    for spec in [*scenario.connections, *scenario.lags]:
        if spec.router_follows_secret and spec.id in secret.tags.get("macsec:target", "").split(","):
            aws.dx.find(spec.id).router_ckns.add(str(value["ckn"]).lower())


def _secret_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _create_secret(aws: LocalAws, secret: Any) -> str:
    client = aws.client("secretsmanager")
    versions = sorted(secret.versions, key=lambda v: "AWSCURRENT" in v.stages)  # current last
    first, *rest = versions
    arn: str = client.create_secret(
        Name=secret.name,
        SecretString=_secret_string(first.value),
        ClientRequestToken=secret.version_id(first.id),
        Tags=[{"Key": k, "Value": v} for k, v in secret.tags.items()],
    )["ARN"]
    for version in rest:
        client.put_secret_value(
            SecretId=arn,
            SecretString=_secret_string(version.value),
            ClientRequestToken=secret.version_id(version.id),
            VersionStages=version.stages or ["AWSCURRENT"],
        )
    wanted = {secret.version_id(v.id): set(v.stages) for v in secret.versions}
    actual = {k: set(v) for k, v in client.describe_secret(SecretId=arn)["VersionIdsToStages"].items()}
    for version_id, stages in wanted.items():
        missing = stages - actual.get(version_id, set())
        for stage in missing:  # e.g. an explicit AWSPREVIOUS on a version that was never current
            client.update_secret_version_stage(
                SecretId=arn, VersionStage=stage, MoveToVersionId=version_id, **_remove_from(actual, stage, version_id)
            )
            actual = {k: set(v) for k, v in client.describe_secret(SecretId=arn)["VersionIdsToStages"].items()}
    return arn


def _remove_from(actual: dict[str, set[str]], stage: str, version_id: str) -> dict[str, str]:
    holder = next((v for v, stages in actual.items() if stage in stages and v != version_id), None)
    return {"RemoveFromVersionId": holder} if holder else {}


def _console_input(scenario: Scenario, given: dict[str, Any]) -> dict[str, Any]:
    """Scenario version labels ("v1") become the real version ids Secrets Manager uses."""
    result = dict(given)
    label, secret_id = given.get("versionId"), given.get("secretId")
    names = {s.name for s in scenario.secrets}
    if isinstance(label, str) and secret_id in names:
        labels = {v.id for v in scenario.secret(secret_id).versions}
        if label in labels:
            result["versionId"] = scenario.secret(secret_id).version_id(label)
    return result


# ---- Secrets Manager events, as EventBridge delivers them ----


def _envelope(aws: LocalAws, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"local-{len(aws.executions)}-{aws.clock.elapsed():.0f}",
        "detail-type": detail_type,
        "source": "aws.secretsmanager",
        "account": aws.account,
        "time": datetime.fromtimestamp(aws.clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": aws.region,
        "resources": [],
        "detail": detail,
    }


def _service_event(aws: LocalAws, secret_arn: str, name: str) -> dict[str, Any]:
    return _envelope(
        aws,
        "AWS Service Event via CloudTrail",
        {
            "eventVersion": "1.08",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": name,
            "awsRegion": aws.region,
            "additionalEventData": {"SecretId": secret_arn},
        },
    )


def _put_secret_value(aws: LocalAws, secret_arn: str, value: Any, stages: list[str] | None) -> dict[str, Any]:
    request: dict[str, Any] = {"SecretId": secret_arn, "SecretString": _secret_string(value)}
    if stages:
        request["VersionStages"] = stages
    response = aws.client("secretsmanager").put_secret_value(**request)
    parameters: dict[str, Any] = {"secretId": secret_arn, "clientRequestToken": response["VersionId"]}
    if stages:
        parameters["versionStages"] = stages
    return _envelope(
        aws,
        "AWS API Call via CloudTrail",
        {
            "eventVersion": "1.08",
            "eventSource": "secretsmanager.amazonaws.com",
            "eventName": "PutSecretValue",
            "awsRegion": aws.region,
            "requestParameters": parameters,  # CloudTrail never records the value
            "responseElements": {
                "arn": secret_arn,
                "versionId": response["VersionId"],
                "versionStages": response["VersionStages"],
            },
        },
    )


# ---- the report ----


def _seconds(timestamp: datetime) -> float:
    return round(timestamp.timestamp() - EPOCH, 3)


def _secrets_view(aws: LocalAws) -> dict[str, Any]:
    """Customer secrets after the run: stages, the current CKN and the names of the current value's
    fields. Never a value other than the CKN."""
    client = aws.client("secretsmanager")
    view = {}
    for listed in client.list_secrets()["SecretList"]:
        if any(t["Key"] == "aws:secretsmanager:owningService" for t in listed.get("Tags", [])):
            continue  # Direct Connect's own secrets
        try:
            current = json.loads(client.get_secret_value(SecretId=listed["ARN"])["SecretString"])
        except (ValueError, KeyError):
            current = None
        view[listed["Name"]] = {
            "versions": client.describe_secret(SecretId=listed["ARN"])["VersionIdsToStages"],
            "currentCkn": current.get("ckn") if isinstance(current, dict) else None,
            "currentFields": sorted(current) if isinstance(current, dict) else [],
        }
    return view


def _report(aws: LocalAws) -> dict[str, Any]:
    executions = []
    timeline: list[tuple[float, str]] = []
    for record in sorted(aws.executions.values(), key=lambda r: (r.started_at, r.name)):
        described = aws.describe(record.arn)
        history = aws.history(record.arn)
        entered = [e for e in history if e["type"].endswith(STATE_ENTERED_SUFFIX)]
        executions.append(
            {
                "name": record.name,
                "status": described["status"],
                "error": described.get("error"),
                "cause": described.get("cause"),
                "input": json.loads(described.get("input") or "null"),
                "output": json.loads(described["output"]) if described.get("output") else None,
                "startedAt": _seconds(history[0]["timestamp"]),
                "stoppedAt": _seconds(history[-1]["timestamp"]),
                "transitions": len(entered),
                "states": [e["stateEnteredEventDetails"]["name"] for e in entered],
            }
        )
        timeline += [
            (_seconds(e["timestamp"]), f"{record.name}  > {e['stateEnteredEventDetails']['name']}") for e in entered
        ]
        timeline.append(
            (
                _seconds(history[-1]["timestamp"]),
                f"{record.name}  = {described['status']} {described.get('error') or ''}".rstrip(),
            )
        )
    timeline += [(round(t - EPOCH, 3), f"    {op} {target} -> {outcome}") for t, op, target, outcome in aws.dx.api_log]
    targets = aws.dx.snapshot()
    return {
        "executions": executions,
        "apiCalls": dict(sorted(aws.dx.calls.items())),
        "throttled": dict(sorted(aws.dx.throttled.items())),
        "lambdaInvocations": sum(aws.dispatcher.invocations.values()),
        "lambdaBilledMs": aws.dispatcher.billed_ms,
        "targets": targets,
        "encryptionDownSeconds": {k: round(v, 3) for k, v in sorted(aws.dx.encryption_down_seconds.items())},
        "keylessSeconds": {k: round(v, 3) for k, v in sorted(aws.dx.keyless_seconds.items())},
        "virtualSeconds": round(aws.clock.elapsed(), 3),
        "notifications": aws.notifications,
        "secrets": _secrets_view(aws),
        "deadLetters": len(aws.dead_letters),
        "logs": list(aws.logs.lines),
        "timeline": [f"{t:9.1f}s  {text}" for t, text in sorted(timeline, key=lambda item: item[0])],
    }


__all__ = ["ScenarioError", "run_scenario"]
