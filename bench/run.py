"""make bench: cost and speed of a rotation, against the naive design, cold start, and a fleet.

Writes bench/results.json and prints a table. Everything runs on the embedded AWS and its virtual clock;
prices are the published us-east-1 list prices (Standard transitions, Lambda requests, GB-seconds).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from bench.reference import NaiveTemplate
from local.clock import EPOCH
from local.scenario import parse
from local.simulation import run_scenario
from local.template import synthesize

ROOT = Path(__file__).resolve().parent.parent
PRICE_TRANSITION = 25.0 / 1_000_000
PRICE_REQUEST = 0.20 / 1_000_000
PRICE_GB_SECOND = 0.0000166667
MEMORY_GB = 256 / 1024
HANDLERS = ["prepare", "associate", "check_association", "remove_old_keys", "report", "intake", "acquire_lock"]


def key(label: str) -> dict[str, str]:
    return {
        "ckn": hashlib.sha256(f"ckn{label}".encode()).hexdigest(),
        "cak": hashlib.sha256(f"cak{label}".encode()).hexdigest(),
    }


def one_rotation(association_seconds: int, naive: bool) -> dict[str, Any]:
    old, new = key("old"), key("new")
    scenario = parse(
        {
            "connections": [{"id": "dxcon-aaaa1111", "keys": [old]}],
            "secrets": [
                {
                    "name": "macsec/dxcon-aaaa1111",
                    "tags": {"macsec:target": "dxcon-aaaa1111"},
                    "versions": [
                        {"id": "v1", "value": old, "stages": ["AWSPREVIOUS"]},
                        {"id": "v2", "value": new, "stages": ["AWSCURRENT"]},
                    ],
                }
            ],
            "behaviour": {"associationSeconds": association_seconds, "disassociationSeconds": 5},
            "events": [{"type": "console", "name": "rotate", "input": {"secretId": "macsec/dxcon-aaaa1111"}}],
        }
    )
    template = NaiveTemplate(synthesize()) if naive else None
    report = run_scenario(scenario, with_history=True, template=template)
    (execution,) = report["executions"]
    assert execution["status"] == "SUCCEEDED", execution
    entered = {}
    for event in report["history"]["rotate"]:
        if event["type"].endswith("StateEntered"):
            entered.setdefault(event["stateEnteredEventDetails"]["name"], event["timestamp"].timestamp() - EPOCH)
    associated_at = entered["AssociateNewKey"] + association_seconds
    billed_seconds = report["lambdaBilledMs"] / 1000
    cost = (
        execution["transitions"] * PRICE_TRANSITION
        + report["lambdaInvocations"] * PRICE_REQUEST
        + billed_seconds * MEMORY_GB * PRICE_GB_SECOND
    )
    return {
        "transitions": execution["transitions"],
        "lambdaInvocations": report["lambdaInvocations"],
        "lambdaBilledMs": report["lambdaBilledMs"],
        "directConnectCalls": sum(report["apiCalls"].values()),
        "detectionLatencySeconds": round(entered["TightenEncryption"] - associated_at, 3),
        "costPerRotationUsd": round(cost, 8),
        "virtualSeconds": execution["stoppedAt"] - execution["startedAt"],
    }


def import_seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'functions'}"}
    runs = [
        float(subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(runs)


def cold_start() -> dict[str, Any]:
    boto3_alone = import_seconds("import boto3")
    handlers = {name: import_seconds(f"import macsec_rotation.handlers.{name}") for name in HANDLERS}
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
        for path in sorted((ROOT / "functions").rglob("*.py")):
            package.write(path, path.relative_to(ROOT / "functions"))
    return {
        "importBoto3Seconds": round(boto3_alone, 4),
        "handlerImportSeconds": {k: round(v, 4) for k, v in handlers.items()},
        "worstImportRatio": round(max(handlers.values()) / boto3_alone, 2),
        "assetBytes": len(archive.getvalue()),
    }


def fleet(targets: int = 50, association_seconds: int = 120, rate: int = 5) -> dict[str, Any]:
    connections, secrets, events = [], [], []
    for n in range(targets):
        target = f"dxcon-{n:08d}"
        old, new = key(f"old{n}"), key(f"new{n}")
        connections.append({"id": target, "keys": [old]})
        secrets.append(
            {
                "name": f"macsec/{target}",
                "tags": {"macsec:target": target},
                "versions": [
                    {"id": "v1", "value": old, "stages": ["AWSPREVIOUS"]},
                    {"id": "v2", "value": new, "stages": ["AWSCURRENT"]},
                ],
            }
        )
        events.append({"at": 0, "type": "RotationSucceeded", "secret": f"macsec/{target}"})
    report = run_scenario(
        parse(
            {
                "connections": connections,
                "secrets": secrets,
                "events": events,
                "behaviour": {
                    "associationSeconds": association_seconds,
                    "disassociationSeconds": 5,
                    "apiRatePerSecond": rate,
                },
            }
        )
    )
    # Fewest Direct Connect calls a target needs: associate, one describe that sees it associated,
    # disassociate the old key, one describe that sees it gone.
    lower_bound = association_seconds + targets * 4 / rate
    total = max(e["stoppedAt"] for e in report["executions"])
    return {
        "targets": targets,
        "executions": len(report["executions"]),
        "failed": sum(e["status"] != "SUCCEEDED" for e in report["executions"]),
        "virtualSeconds": total,
        "lowerBoundSeconds": lower_bound,
        "ratioToLowerBound": round(total / lower_bound, 2),
        "throttledCalls": sum(report["throttled"].values()),
        "directConnectCalls": sum(report["apiCalls"].values()),
    }


def main() -> int:
    results: dict[str, Any] = {"rotation": {}, "naive": {}}
    for seconds in (10, 120, 900):
        results["rotation"][str(seconds)] = one_rotation(seconds, naive=False)
        results["naive"][str(seconds)] = one_rotation(seconds, naive=True)
    results["ratioToNaive"] = {
        seconds: {
            figure: round(value / naive, 2) if (naive := results["naive"][seconds][figure]) else None
            for figure, value in ours.items()
        }
        for seconds, ours in results["rotation"].items()
    }
    results["costRatioToNaive"] = {s: r["costPerRotationUsd"] for s, r in results["ratioToNaive"].items()}
    results["coldStart"] = cold_start()
    results["fleet"] = fleet()
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


def table(results: dict[str, Any]) -> str:
    lines = [
        "| association | transitions | invocations | billed ms | DX calls | detection latency | cost | vs naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for seconds, ours in results["rotation"].items():
        naive = results["naive"][seconds]
        lines.append(
            f"| {seconds} s | {ours['transitions']} ({naive['transitions']}) | {ours['lambdaInvocations']} "
            f"({naive['lambdaInvocations']}) | {ours['lambdaBilledMs']} | {ours['directConnectCalls']} "
            f"({naive['directConnectCalls']}) | {ours['detectionLatencySeconds']:.0f} s "
            f"({naive['detectionLatencySeconds']:.0f} s) | ${ours['costPerRotationUsd']:.6f} | "
            f"{results['costRatioToNaive'][seconds]}x |"
        )
    cold, fleet_result = results["coldStart"], results["fleet"]
    lines += [
        "",
        f"Cold start: worst handler import {cold['worstImportRatio']}x `import boto3` "
        f"({cold['importBoto3Seconds']}s); asset {cold['assetBytes'] / 1024:.0f} KB.",
        f"Fleet: {fleet_result['targets']} targets at {fleet_result['throttledCalls']} throttled calls, "
        f"{fleet_result['failed']} failed; {fleet_result['virtualSeconds']:.0f} s against a lower bound of "
        f"{fleet_result['lowerBoundSeconds']:.0f} s ({fleet_result['ratioToLowerBound']}x).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
