"""Cold start: what importing each handler costs against `import boto3` alone, measured as in Lambda.

Each figure is the median of several fresh interpreters, each timing one import statement. "As in Lambda" means
the environment a Lambda sandbox gives the function at init: AWS_LAMBDA_FUNCTION_NAME and the other AWS_LAMBDA_*
variables, AWS_EXECUTION_ENV=AWS_Lambda_python3.11, AWS_REGION, credentials, the X-Ray daemon address when tracing
is active, no _X_AMZN_TRACE_ID (an invocation sets it, not the init), the function's own variables from the
template (POWERTOOLS_* among them) and only the function's code on PYTHONPATH. Outside Lambda the same imports
behave differently (the X-Ray SDK builds a client at import), so that figure is kept beside it, for comparison.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

from local.template import Template

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
RUNS = 5
REGION = "us-east-1"
ACCOUNT = "123456789012"
# Libraries a handler's import pulls in, timed alone (as in Lambda) to show which one stands in the way.
LIBRARIES = {
    "powertools": "from aws_lambda_powertools import Logger, Metrics, Tracer",
    "pydantic": "import pydantic",
    "xraySdk": "import aws_xray_sdk.core",
}


def lambda_environment(template: Template, logical_id: str | None) -> dict[str, str]:
    """The environment Lambda gives the function at init (logical_id None: a bare function of the stack)."""
    env = {
        "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": str(FUNCTIONS),
        "LAMBDA_TASK_ROOT": str(FUNCTIONS),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": logical_id or "Function",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{logical_id or 'Function'}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/29/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
    if logical_id is None:
        return env
    props = template.resources("AWS::Lambda::Function")[logical_id]["Properties"]
    env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = str(props.get("MemorySize", 128))
    if props.get("TracingConfig", {}).get("Mode") == "Active":
        env["AWS_XRAY_DAEMON_ADDRESS"] = "169.254.79.129:2000"
        env["AWS_XRAY_CONTEXT_MISSING"] = "LOG_ERROR"
    env.update(template.functions(REGION, ACCOUNT)[logical_id].environment)
    return env


def _outside_lambda_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_LAMBDA_", "AWS_EXECUTION_ENV", "_X_AMZN"))}
    return {**env, "PYTHONPATH": f"{ROOT}:{FUNCTIONS}"}


def _once(statement: str, env: dict[str, str], setup: str = "pass") -> float:
    code = f"{setup}; import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def _medians(jobs: dict[str, tuple[str, dict[str, str]]], runs: int = RUNS) -> dict[str, float]:
    """Interleaved rounds (every statement once per round), so a busy moment of the machine spreads over all.
    A library that is not installed (its import fails) is left out."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(runs):
        for name, (statement, env) in jobs.items():
            try:
                samples[name].append(_once(statement, env))
            except subprocess.CalledProcessError:
                if not name.startswith("library:"):
                    raise
    return {name: statistics.median(values) for name, values in samples.items() if values}


def cold_start(template: Template) -> dict[str, Any]:
    handlers = {  # one function per handler module
        spec.step: logical_id for logical_id, spec in sorted(template.functions(REGION, ACCOUNT).items(), reverse=True)
    }
    bare = lambda_environment(template, None)
    first = next(iter(handlers.values()))
    jobs: dict[str, tuple[str, dict[str, str]]] = {"boto3": ("import boto3", bare)}
    jobs |= {
        f"handler:{step}": (f"import macsec_rotation.handlers.{step}", lambda_environment(template, logical_id))
        for step, logical_id in sorted(handlers.items())
    }
    jobs |= {
        f"library:{name}": (statement, lambda_environment(template, first)) for name, statement in LIBRARIES.items()
    }
    medians = _medians(jobs)
    boto3_alone = medians["boto3"]
    handler_seconds = {name.split(":", 1)[1]: v for name, v in medians.items() if name.startswith("handler:")}
    heaviest = max(handler_seconds, key=handler_seconds.__getitem__)
    outside = _medians(
        {
            "boto3": ("import boto3", _outside_lambda_environment()),
            "heaviest": (f"import macsec_rotation.handlers.{heaviest}", _outside_lambda_environment()),
        }
    )
    return {
        "importBreakdown": import_breakdown(heaviest, lambda_environment(template, handlers[heaviest])),
        "firstInvocationTracingSeconds": first_invocation_tracing(
            heaviest, lambda_environment(template, handlers[heaviest])
        ),
        "measuredAs": "Lambda environment (AWS_LAMBDA_FUNCTION_NAME, AWS_EXECUTION_ENV, template variables), "
        f"median of {RUNS} fresh interpreters",
        "importBoto3Seconds": round(boto3_alone, 4),
        "handlerImportSeconds": {k: round(v, 4) for k, v in sorted(handler_seconds.items())},
        "heaviestHandler": heaviest,
        "worstImportRatio": round(handler_seconds[heaviest] / boto3_alone, 2),
        "librarySeconds": {
            name.split(":", 1)[1]: round(v, 4) for name, v in medians.items() if name.startswith("library:")
        },
        "outsideLambda": {
            "importBoto3Seconds": round(outside["boto3"], 4),
            "heaviestHandlerSeconds": round(outside["heaviest"], 4),
            "ratio": round(outside["heaviest"] / outside["boto3"], 2),
        },
        "assetBytes": asset_bytes(),
    }


def first_invocation_tracing(step: str, env: dict[str, str]) -> float:
    """What the X-Ray SDK costs the heaviest handler now that it is not imported with it: its first invocation
    imports the SDK and patches botocore (observability.XRayOnFirstUse) before the step runs. As in Lambda, after
    the handler's import, median of RUNS fresh interpreters. Not part of importRatio: kept beside it so the cost
    that moved out of the import stays in sight."""
    setup = f"import macsec_rotation.handlers.{step}; from macsec_rotation.observability import tracer"
    samples = [_once("tracer.provider.recorder", env, setup) for _ in range(RUNS)]
    return round(statistics.median(samples), 4)


def import_breakdown(step: str, env: dict[str, str], top: int = 8) -> dict[str, float]:
    """Where the heaviest handler's import time goes, as in Lambda: `python -X importtime`, the seconds spent in
    each top-level package's own modules (self time, so the figures add up to the whole), median of RUNS runs,
    largest first."""
    runs: list[dict[str, float]] = []
    for _ in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import macsec_rotation.handlers.{step}"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        totals: dict[str, float] = {}
        for line in done.stderr.splitlines():
            parts = line[len("import time:") :].split("|") if line.startswith("import time:") else []
            if len(parts) != 3 or not parts[0].strip().isdigit():
                continue  # the header
            package = parts[2].strip().split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(parts[0]) / 1_000_000
        runs.append(totals)
    packages = {name for run in runs for name in run}
    medians = {name: statistics.median(run.get(name, 0.0) for run in runs) for name in packages}
    return {name: round(v, 4) for name, v in sorted(medians.items(), key=lambda kv: -kv[1])[:top]}


def asset_bytes() -> int:
    archive = BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
        for path in sorted(FUNCTIONS.rglob("*.py")):
            package.write(path, path.relative_to(FUNCTIONS))
    return len(archive.getvalue())
