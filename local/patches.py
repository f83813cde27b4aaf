"""The few places where moto's Step Functions executor meets time, threads and Lambda.

Each patch is applied only inside `applied()`: Wait states, Retry intervals and the SDK's backoff
sleep on the virtual clock, and history events carry virtual timestamps; every thread that works
for an execution (the execution itself and each inline Map worker) is a participant of the clock;
Lambda tasks call the project's handlers; the interpreter fails where AWS fails and moto would not
(`local/strict.py`). Where moto repeats work for every execution or task (parsing the definition and
each JSONPath, making boto3 clients), it is done once; `tests/workflow/test_runner_fidelity.py` checks
the shortcuts against the APIs they skip.
"""

from __future__ import annotations

import datetime
import functools
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import botocore.endpoint
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import inline_iteration_component
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sns
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.utils import TMP_THREADS

from . import strict, tasktokens
from .clock import VirtualClock, VirtualTimeModule

# (function name or ARN, event body) -> (response payload, function error or None)
Invoke = Callable[[str, bytes | str], tuple[bytes, str | None]]
# (execution ARN) -> None, called in the execution's thread when it ends
Finished = Callable[[str], None]


class MapParticipation:
    """An inline Map state waits for its iterations, which run in worker threads. While it waits it is not
    a participant; the last worker to end hands participation back to it in the same step, so the clock
    can never jump between the iterations finishing and the Map state going on."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._pools: dict[int, dict[str, int]] = {}
        self._lock = threading.Lock()
        self._original_await_jobs = JobPool.await_jobs

    def launch_worker(self, component: Any, env: Any, eval_input: Any, job_pool: Any) -> Any:
        worker = component._create_worker(env=env, eval_input=eval_input, job_pool=job_pool)
        with self._lock:
            pool = self._pools.setdefault(id(job_pool), {"alive": 0, "waiting": 0})
            pool["alive"] += 1
        self._clock.join()

        def run() -> None:
            try:
                worker.eval()
            finally:
                with self._lock:
                    pool["alive"] -= 1
                    if pool["alive"] == 0 and pool["waiting"]:
                        pool["waiting"] = 0
                        self._clock.join()  # on behalf of the Map state
                self._clock.leave()

        thread = threading.Thread(target=run, daemon=True)
        TMP_THREADS.append(thread)
        thread.start()
        return worker

    def await_jobs(self, job_pool: JobPool) -> None:
        with self._lock:
            pool = self._pools.get(id(job_pool))
            if pool and pool["alive"]:
                pool["waiting"] = 1
                self._clock.leave()
        self._original_await_jobs(job_pool)


@functools.lru_cache(maxsize=8)
def _parsed(definition: str) -> Any:
    """moto parses the definition again for every execution (a third of a run's time). The parsed program
    is read-only while it runs (moto already shares one between the iterations of a Map), so one parse
    serves every execution of the same definition."""
    return _original_parse(definition)


_original_parse = AmazonStateLanguageParser.parse
_original_client_for = lambda_eval_utils.boto_client_for
ORIGINAL_TASK_INVOKE = lambda_eval_utils._invoke_lambda_function  # through moto's Lambda API
_clients_lock = threading.Lock()


@functools.lru_cache(maxsize=32)
def _cached_client(region: str, service: str) -> Any:
    return _original_client_for(region, service, None)


def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's executor builds a new boto3 client for every task; one per Region and service serves them
    all, in every run (moto's interception is global; its state lives in the backends)."""
    with _clients_lock:
        return _cached_client(region, service)


# moto builds a JSONPath parser (its LR tables included) for every path it evaluates; a parsed path is
# read-only, so each distinct path is parsed once.
_json_path_ext = functools.lru_cache(maxsize=512)(json_path.parse)
_json_path = functools.lru_cache(maxsize=512)(result_path.parse)


@contextmanager
def applied(clock: VirtualClock, invoke: Invoke, finished: Finished) -> Iterator[None]:
    virtual_time = VirtualTimeModule(clock)

    def wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
        clock.sleep(wait_seconds)

    def start_execution(self: ExecutionWorker) -> None:
        arn = self._evaluation_details.execution_details.arn
        clock.join()  # before the thread exists, so time cannot move past its first step

        def run() -> None:
            try:
                self._execution_logic()
            finally:
                finished(arn)
                clock.leave()

        thread = threading.Thread(target=run, daemon=True, name=f"execution-{arn.rsplit(':', 1)[-1]}")
        TMP_THREADS.append(thread)
        thread.start()

    def lambda_invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: dict[str, str]
    ) -> bytes:
        payload, function_error = invoke(function_name, body)
        if function_error:
            response_headers["x-amz-function-error"] = function_error
        return payload

    def task_invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        """A Lambda task, without the round trip through moto's Lambda API (a tenth of a run): the
        response the executor reads from Invoke, built from the same handler call."""
        payload, function_error = invoke(parameters["FunctionName"], parameters.get("Payload") or b"{}")
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": lambda_eval_utils._from_payload(io.BytesIO(payload)),
        }
        if function_error:
            response["FunctionError"] = function_error
        return response

    def history_timestamp() -> datetime.datetime:
        return datetime.datetime.fromtimestamp(clock.now(), tz=datetime.UTC)

    with ExitStack() as stack:
        stack.enter_context(strict.applied())
        stack.enter_context(mock.patch.object(AmazonStateLanguageParser, "parse", staticmethod(_parsed)))
        stack.enter_context(mock.patch.object(json_path, "parse", _json_path_ext))
        stack.enter_context(mock.patch.object(result_path, "parse", _json_path))
        stack.enter_context(mock.patch.object(EventManager, "_get_current_timestamp", staticmethod(history_timestamp)))
        stack.enter_context(mock.patch.object(WaitFunction, "_wait_interval", wait_interval))
        stack.enter_context(mock.patch.object(lambda_eval_utils, "boto_client_for", client_for))
        stack.enter_context(mock.patch.object(state_task_service_sns, "boto_client_for", client_for))
        stack.enter_context(mock.patch.object(retrier_decl, "time", virtual_time))
        stack.enter_context(mock.patch.object(botocore.endpoint, "time", virtual_time))
        stack.enter_context(mock.patch.object(ExecutionWorker, "start", start_execution))
        map_states = MapParticipation(clock)

        # Plain functions, so that the patched methods still receive the component or pool as `self`.
        def launch_worker(component: Any, env: Any, eval_input: Any, job_pool: Any) -> Any:
            return map_states.launch_worker(component, env, eval_input, job_pool)

        def await_jobs(job_pool: JobPool) -> None:
            map_states.await_jobs(job_pool)

        stack.enter_context(
            mock.patch.object(inline_iteration_component.InlineIterationComponent, "_launch_worker", launch_worker)
        )
        stack.enter_context(mock.patch.object(JobPool, "await_jobs", await_jobs))
        stack.enter_context(mock.patch.object(LambdaSimpleBackend, "invoke", lambda_invoke))
        stack.enter_context(mock.patch.object(lambda_eval_utils, "_invoke_lambda_function", task_invoke))
        stack.enter_context(tasktokens.applied(clock))  # callback waits, .sync, Express: local/tasktokens.py
        yield
