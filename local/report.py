"""The report of a local run: executions, API calls, targets, time without encryption, logs, timeline."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from macsec_rotation.gateways.locks import ABORT_PREFIX

from .clock import EPOCH
from .runner import LocalAws

STATE_ENTERED_SUFFIX = "StateEntered"


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


def _locks(aws: LocalAws) -> dict[str, str]:
    """Targets whose rotation lock is still held after the run, and by which execution."""
    held = {}
    for table in [name for name in aws.template.tables() if name.startswith("TargetLocks")]:
        for item in aws.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]:
            if item["target"]["S"].startswith(ABORT_PREFIX):
                continue  # an operator's abort request, not a lock
            held[item["target"]["S"]] = item.get("owner", {}).get("S", "")
    return held


def _bus_events(aws: LocalAws) -> list[dict[str, Any]]:
    """Every event put on EventBridge, in order (the workflow's for the router automation, the automation's
    confirmations): virtual time, bus, source, detail-type and detail (identifiers only: no CAK is ever put)."""
    return [
        {"at": e["at"], "bus": e["bus"], "source": e["source"], "detailType": e["detailType"], "detail": e["detail"]}
        for e in aws.bus_events
    ]


def _about(detail: Any) -> str:
    if not isinstance(detail, dict):
        return ""
    ckns = [str(detail["ckn"])] if "ckn" in detail else [str(c) for c in detail.get("ckns") or []]
    return " ".join([str(detail.get("target", "")), *(c[:12] + "…" for c in ckns)])


def build_report(aws: LocalAws) -> dict[str, Any]:
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
    bus_events = _bus_events(aws)
    timeline += [
        (e["at"], f"    event {e['detailType']!r} on {e['bus']} {_about(e['detail'])}".rstrip()) for e in bus_events
    ]
    targets = aws.dx.snapshot()
    return {
        "executions": executions,
        "apiCalls": dict(sorted(aws.dx.calls.items())),
        "throttled": dict(sorted(aws.dx.throttled.items())),
        "lambdaInvocations": sum(aws.dispatcher.invocations.values()),
        "stepInvocations": {
            aws.dispatcher.functions[logical_id].step: count for logical_id, count in aws.dispatcher.invocations.items()
        },
        "lambdaBilledMs": aws.dispatcher.billed_ms,
        "targets": targets,
        "encryptionDownSeconds": {k: round(v, 3) for k, v in sorted(aws.dx.encryption_down_seconds.items())},
        "keylessSeconds": {k: round(v, 3) for k, v in sorted(aws.dx.keyless_seconds.items())},
        "virtualSeconds": round(aws.clock.elapsed(), 3),
        "notifications": aws.notifications,
        "secrets": _secrets_view(aws),
        "deadLetters": len(aws.dead_letters),
        "busEvents": bus_events,
        "actorFailures": list(aws.actors.failures),
        "locks": _locks(aws),
        "logs": list(aws.logs.lines),
        "timeline": [f"{t:9.1f}s  {text}" for t, text in sorted(timeline, key=lambda item: item[0])],
    }
