"""Runs a scenario: seeds the emulated account, delivers its events, and reports what happened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infra.settings import SettingsError
from macsec_rotation.gateways.locks import LocksGateway

from .directconnect import Behaviour, Connection, KeyHolder, Lag, OperationFault
from .eventbridge import RouterAutomation, router_bus
from .events import put_secret_value, secret_string, service_event
from .lambdas import FunctionFault
from .preflight_world import seed_account
from .report import build_report
from .runner import LocalAws
from .scenario import FunctionFaultSpec, KeyStuckSpec, Scenario, ScenarioError, ServiceFaultSpec, TargetSpec
from .service_faults import ServiceFault
from .template import Template, synthesize


def run_scenario(scenario: Scenario, with_history: bool = False, template: Template | None = None) -> dict[str, Any]:
    """Run it; `with_history` adds every execution's full history (for scanning, not for display);
    `template` replaces the synthesized one (the benchmark's reference design)."""
    with scenario_world(scenario, template) as aws:
        return report_with_history(aws) if with_history else build_report(aws)


def report_with_history(aws: LocalAws) -> dict[str, Any]:
    """The report plus every execution's full history (for scanning, not for display)."""
    report = build_report(aws)
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
            aws.deliver_event(service_event(aws, secret_arns[event.secret], "RotationSucceeded"))
        elif event.type == "rotate":
            assert event.secret
            rotated = aws.rotate_secret(secret_arns[event.secret])
            if rotated:
                _router_automation(aws, scenario, event.secret)
            outcome = "RotationSucceeded" if rotated else "RotationFailed"
            aws.deliver_event(service_event(aws, secret_arns[event.secret], outcome))
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
        elif event.type == "abort":  # as `macsec-rotation abort NAME` does it
            assert event.name
            LocksGateway(aws.client("dynamodb"), lock_table_name(aws)).request_abort(
                execution_arn(aws.state_machine_arn, event.name), aws.clock.now()
            )
        elif event.type == "PutSecretValue":
            assert event.secret
            aws.deliver_event(put_secret_value(aws, secret_arns[event.secret], event.value, event.stages))


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def lock_table_name(aws: LocalAws) -> str:
    """The stack's lock table (its logical id is its name here)."""
    (table,) = [name for name in aws.template.tables() if name.startswith("TargetLocks")]
    return table


# ---- seeding ----


def _seed(aws: LocalAws, scenario: Scenario) -> dict[str, str]:
    dx = aws.dx
    dx.behaviour = Behaviour(**scenario.behaviour.model_dump())  # same field names, every knob
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
            steps = {spec.step for spec in aws.dispatcher.functions.values()}
            if item.function not in steps:  # a fault that could never fire would prove nothing
                raise ValueError(f"a fault names function {item.function!r}, which the stack has not: {sorted(steps)}")
            aws.dispatcher.faults.append(FunctionFault(item.function, item.kind, item.times, item.when))
        else:
            dx.faults.operations.append(OperationFault(item.operation, item.error, item.times, item.message))
    seed_account(aws, scenario.account_setup, secret_arns)
    _router_automations(aws, scenario)
    return secret_arns


def _seed_keys(aws: LocalAws, holder: KeyHolder, spec: TargetSpec, scenario: Scenario) -> None:
    holder.tags = dict(spec.tags) if spec.tags is not None else _binding(spec.id, scenario)
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
    aws.dx.seed_router_ckns(holder, router)


def _binding(target_id: str, scenario: Scenario) -> dict[str, str]:
    """The macsec:secret tag of a target the scenario gives no tags: the first secret naming it, by its
    macsec:target tag or as the target of a console start."""
    named = [s.name for s in scenario.secrets if target_id in _split(s.tags.get("macsec:target", ""))]
    for event in scenario.events:
        started = event.input or {}
        if target_id in _split(str(started.get("target") or "")) and started.get("secretId"):
            named.append(str(started["secretId"]))
    return {"macsec:secret": named[0]} if named else {}


def _split(ids: str) -> list[str]:
    return [part.strip() for part in ids.split(",") if part.strip()]


def _router_automation(aws: LocalAws, scenario: Scenario, secret_name: str) -> None:
    """Targets whose router follows their secret learn its new AWSCURRENT CKN."""
    secret = scenario.secret(secret_name)
    value = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=secret_name)["SecretString"])
    for spec in [*scenario.connections, *scenario.lags]:
        if spec.router_follows_secret and spec.id in secret.tags.get("macsec:target", "").split(","):
            aws.dx.add_router_ckn(spec.id, str(value["ckn"]))


def _router_automations(aws: LocalAws, scenario: Scenario) -> None:
    """The targets' router automations listen to the workflow's events (local/eventbridge.py)."""
    specs = [spec for spec in [*scenario.connections, *scenario.lags] if spec.router_automation]
    if not specs:
        return
    bus = router_bus(aws.template.rules(aws.region, aws.account))
    if bus is None:
        raise ScenarioError("routerAutomation: the stack has no rule for 'MACsec Router Key Installed'")
    for spec in specs:
        automation = spec.router_automation
        assert automation is not None
        aws.bridge.subscribe(
            RouterAutomation(
                target=spec.id,
                delay_seconds=automation.delay_seconds,
                confirms=automation.confirms,
                install=aws.dx.add_router_ckn,
                put_events=aws.client("events").put_events,
                router_bus=bus,
                participants=aws.actors,
                ckn=automation.ckn,
            )
        )


def _create_secret(aws: LocalAws, secret: Any) -> str:
    client = aws.client("secretsmanager")
    versions = sorted(secret.versions, key=lambda v: "AWSCURRENT" in v.stages)  # current last
    first, *rest = versions
    arn: str = client.create_secret(
        Name=secret.name,
        SecretString=secret_string(first.value),
        ClientRequestToken=secret.version_id(first.id),
        Tags=[{"Key": k, "Value": v} for k, v in secret.tags.items()],
    )["ARN"]
    for version in rest:
        client.put_secret_value(
            SecretId=arn,
            SecretString=secret_string(version.value),
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


__all__ = ["ScenarioError", "run_scenario"]
