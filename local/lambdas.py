"""Runs the project's handlers in-process, as the template's Lambda functions would run them."""

from __future__ import annotations

import importlib
import io
import json
import math
import os
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .template import FunctionSpec, Template


class LogSink(io.TextIOBase):
    """Collects whole lines written from any thread: Powertools log records and EMF metrics."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            buffered = self._partial.pop(threading.get_ident(), "") + text
            *complete, rest = buffered.split("\n")
            self.lines.extend(line for line in complete if line.strip())
            if rest:
                self._partial[threading.get_ident()] = rest
        return len(text)


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that Powertools reads."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class FunctionFault:
    """The next `times` invocations of the step `function` crash (the runtime exits) or time out,
    `before` the handler runs or `after` it ran (its work done, its answer lost)."""

    function: str
    kind: str  # "crash" | "timeout"
    times: int
    when: str = "before"

    @property
    def error_type(self) -> str:
        return "Sandbox.Timedout" if self.kind == "timeout" else "Runtime.ExitError"


class LambdaDispatcher:
    def __init__(self, template: Template, sink: LogSink, region: str, account: str) -> None:
        self.functions = template.functions(region, account)
        self.sink = sink
        self.invocations: Counter[str] = Counter()
        self.errors: list[tuple[str, str]] = []  # (function, error type) of every failed invocation
        self.faults: list[FunctionFault] = []
        self.billed_ms = 0  # Lambda bills each invocation's duration rounded up to the millisecond
        self._running = threading.local()
        for spec in self.functions.values():
            module_file = spec.asset_dir / (spec.module.replace(".", "/") + ".py")
            if not module_file.is_file():
                raise RuntimeError(f"{spec.logical_id}: handler {spec.handler} is not in its asset {spec.asset_dir}")

    def shared_environment(self) -> dict[str, str]:
        """One process hosts every function, so their environments are merged: a variable set by several
        functions must have one value (they are built by one helper); one set by a single function
        (the intake's state machine ARN) is simply there for all."""
        merged: dict[str, str] = {}
        for spec in self.functions.values():
            for key, value in spec.environment.items():
                if merged.setdefault(key, value) != value:
                    raise RuntimeError(f"functions disagree on {key}; the local runner needs one shared environment")
        return merged

    @contextmanager
    def environment(self) -> Iterator[None]:
        shared = self.shared_environment()
        saved = {key: os.environ.get(key) for key in shared}
        os.environ.update(shared)
        # functions/ is importable only once the runner has put it on sys.path
        from macsec_rotation.observability import logger, metrics  # noqa: PLC0415

        metrics.namespace = shared.get("POWERTOOLS_METRICS_NAMESPACE", metrics.namespace)
        metrics.service = shared.get("POWERTOOLS_SERVICE_NAME", metrics.service)
        previous_stream = logger.registered_handler.setStream(self.sink)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            logger.registered_handler.setStream(previous_stream)  # type: ignore[attr-defined]
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def in_function(self) -> bool:
        """True in a thread that is running one of the functions (not the scenario driver or the report)."""
        return getattr(self._running, "depth", 0) > 0

    def function_for_step(self, step: str) -> FunctionSpec:
        """The function that runs `step` (e.g. rotate_secret, the rotation function)."""
        (spec,) = (s for s in self.functions.values() if s.step == step)
        return spec

    def spec_for(self, function_name: str) -> FunctionSpec:
        logical_id = function_name.rsplit(":", 1)[-1]
        if logical_id not in self.functions:
            raise KeyError(f"no function {logical_id} in the template")
        return self.functions[logical_id]

    def invoke(self, function_name: str, body: bytes | str) -> tuple[bytes, str | None]:
        spec = self.spec_for(function_name)
        self.invocations[spec.logical_id] += 1
        handler = getattr(importlib.import_module(spec.module), spec.handler.rsplit(".", 1)[-1])
        context = LambdaContext(function_name=spec.logical_id, invoked_function_arn=function_name)
        event: Any = json.loads(body or "{}")
        fault = self._take_fault(spec)
        if fault and fault.when == "before":
            return self._failed(spec, fault.error_type, f"injected {fault.kind} before the handler ran")
        started = time.perf_counter()
        self._running.depth = getattr(self._running, "depth", 0) + 1
        try:
            result = handler(event, context)
        except Exception as error:  # what the Lambda runtime returns for an unhandled error
            payload = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            self.errors.append((spec.logical_id, type(error).__name__))
            return json.dumps(payload).encode(), "Unhandled"
        finally:
            self._running.depth -= 1
            self.billed_ms += max(1, math.ceil((time.perf_counter() - started) * 1000))
        if fault:
            return self._failed(spec, fault.error_type, f"injected {fault.kind} after the handler ran")
        return json.dumps(result).encode(), None

    def _take_fault(self, spec: FunctionSpec) -> FunctionFault | None:
        for fault in self.faults:
            if fault.function == spec.step and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _failed(self, spec: FunctionSpec, error_type: str, message: str) -> tuple[bytes, str | None]:
        self.errors.append((spec.logical_id, error_type))
        return json.dumps({"errorType": error_type, "errorMessage": message}).encode(), "Unhandled"
