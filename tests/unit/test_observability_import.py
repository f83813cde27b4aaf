"""The X-Ray SDK is imported at the first traced invocation, not at a handler's import (bench: importRatio), and
that invocation still traces every AWS call it makes. Each check runs in a fresh interpreter with the variables
Lambda sets (LAMBDA_TASK_ROOT makes the Tracer active), so no module or patch state leaks into the other tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"


def lambda_like(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN", "LAMBDA_"))}
    return env | {
        "PYTHONPATH": f"{ROOT}{os.pathsep}{FUNCTIONS}",
        "LAMBDA_TASK_ROOT": str(FUNCTIONS),
        "AWS_LAMBDA_FUNCTION_NAME": "Associate",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",  # nothing is sent: the test's emitter keeps the segments
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "POWERTOOLS_SERVICE_NAME": "macsec-key-rotation",
        "POWERTOOLS_METRICS_NAMESPACE": "MacsecKeyRotation",
        **extra,
    }


def run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_handler_imports_the_xray_sdk() -> None:
    out = run(
        """
        import pkgutil, importlib, sys
        import macsec_rotation.handlers as handlers
        for module in pkgutil.iter_modules(handlers.__path__):
            importlib.import_module(f"macsec_rotation.handlers.{module.name}")
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("aws_xray_sdk", "wrapt", "asyncio")))
        """,
        lambda_like(),
    )
    assert out.strip() == "[]"


FIRST_INVOCATION = """
    import sys
    import boto3
    from botocore.stub import Stubber
    from local.lambdas import LambdaContext
    from macsec_rotation.handlers._step import step_handler
    from macsec_rotation.observability import tracer

    # Made before the first invocation, so before botocore is patched: the patch must still reach it.
    client = boto3.client("directconnect")
    stub = Stubber(client)
    stub.add_response("describe_connections", {"connections": []})
    stub.activate()
    assert "aws_xray_sdk" not in sys.modules and not tracer.disabled

    sent = []

    @step_handler
    def step(event, context):
        import botocore.client
        from aws_xray_sdk.core import xray_recorder

        print("patched:", getattr(botocore.client, "_xray_enabled", False))
        xray_recorder.emitter.send_entity = sent.append  # keep what would go to the daemon
        client.describe_connections()
        return {}

    step({}, LambdaContext(function_name="Associate", invoked_function_arn="arn:aws:lambda:us-east-1:1:function:a"))
    print("subsegments:", sorted(s.name for s in sent))
    print("streamed:", tracer.provider.recorder.streaming_threshold)
"""


def test_the_first_invocation_patches_botocore_before_the_step_and_traces_its_calls() -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    out = run(FIRST_INVOCATION, lambda_like(_X_AMZN_TRACE_ID=trace)).splitlines()
    assert "patched: True" in out
    # the AWS call's subsegment (named after the service) and the handler's own, each sent on its own
    assert "subsegments: ['## step', 'directconnect']" in out
    assert "streamed: 0" in out


def test_a_disabled_tracer_patches_nothing() -> None:
    out = run(
        """
        from local.lambdas import LambdaContext
        from macsec_rotation.handlers._step import step_handler
        from macsec_rotation.observability import tracer

        @step_handler
        def step(event, context):
            import botocore.client
            print("patched:", getattr(botocore.client, "_xray_enabled", False))
            return {}

        step({}, LambdaContext(function_name="Associate", invoked_function_arn="arn:aws:lambda:us-east-1:1:function:a"))
        print("disabled:", tracer.disabled)
        """,
        lambda_like(POWERTOOLS_TRACE_DISABLED="true"),
    ).splitlines()
    assert "patched: False" in out
    assert out[-1] == "disabled: True"
