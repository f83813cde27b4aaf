"""Express workflows, and what Step Functions itself checks and converts at an integration.

moto 5.2.5 runs an EXPRESS state machine as a Standard one (`StateMachineInstance.__init__` sets `sm_type`
to STANDARD whatever the type): no five-minute limit, and StartSyncExecution answers 404. It passes the
Parameters of `aws-sdk:` and `states:` tasks to botocore as written (`StateTaskService._normalise_parameters`
is a no-op), where AWS takes them in PascalCase and converts them to the API's own casing; it accepts an
integration pattern the service does not offer (`dynamodb:putItem.waitForTaskToken` runs as a putItem that
fails); and it names every AWS SDK service error `<Service>.<Service>Exception`.

Sources, Step Functions Developer Guide: "Choosing workflow type" and "Synchronous and Asynchronous Express
Workflows" (concepts-express-synchronous.html), "Integrating optimized services with Step Functions"
(integrate-optimized.html, connect-supported-services.html), "Learning to use AWS service SDK integrations"
(supported-services-awssdk.html); API Reference: StartSyncExecution, CreateStateMachine.
`tests/workflow/test_runner_callbacks.py` runs each case.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import math
import re
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import botocore.session
from botocore.exceptions import ClientError, UnknownServiceError
from moto import backend_index
from moto.core.responses import ActionResult
from moto.stepfunctions import urls as stepfunctions_urls
from moto.stepfunctions.models import StateMachineInstance
from moto.stepfunctions.parser.api import (
    InvalidDefinition,
    InvalidExecutionInput,
    StateMachineType,
    StateMachineTypeNotSupported,
)
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.program.program import Program
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.backend.execution import SyncExecution
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.parser.utils import TMP_THREADS
from moto.stepfunctions.responses import StepFunctionResponse

from .clock import Alarm, VirtualClock

EXPRESS_LIMIT = 300.0  # "Choosing workflow type": an Express execution runs for at most five minutes
BILLING_INCREMENT_MS = 100  # Express duration is billed in 100 ms increments (DOMAIN.md; Step Functions pricing)
SYNC_ENDPOINT = r"https?://sync-states\.(.+)\.amazonaws.com"  # StartSyncExecution's hostPrefix "sync-"

# Integration patterns each service offers besides Request Response ("Integrating optimized services",
# table; AWS SDK integrations: Wait for Callback only). Services not listed are left to moto.
PATTERNS: dict[str, frozenset[str]] = {
    "aws-sdk": frozenset({"waitForTaskToken"}),
    "apigateway": frozenset({"waitForTaskToken"}),
    "batch": frozenset({"sync"}),
    "dynamodb": frozenset(),
    "ecs": frozenset({"sync", "waitForTaskToken"}),
    "events": frozenset({"waitForTaskToken"}),
    "glue": frozenset({"sync"}),
    "lambda": frozenset({"waitForTaskToken"}),
    "sns": frozenset({"waitForTaskToken"}),
    "sqs": frozenset({"waitForTaskToken"}),
    "states": frozenset({"sync", "sync:2", "waitForTaskToken"}),
}


@dataclass(frozen=True)
class ExpressRun:
    """One Express execution's duration on the virtual clock, for pricing."""

    execution_arn: str
    started_at: float  # virtual seconds into the run
    stopped_at: float
    timed_out: bool

    @property
    def billed_milliseconds(self) -> int:
        """Rounded up to the next 100 ms; a run that took no virtual time still bills one increment."""
        increments = math.ceil(round((self.stopped_at - self.started_at) * 1000 / BILLING_INCREMENT_MS, 6))
        return max(1, increments) * BILLING_INCREMENT_MS


_runs: weakref.WeakKeyDictionary[VirtualClock, list[ExpressRun]] = weakref.WeakKeyDictionary()
_runs_lock = threading.Lock()


def express_runs(clock: VirtualClock) -> list[ExpressRun]:
    """Every Express execution that ran on `clock`, in the order they ended."""
    with _runs_lock:
        return list(_runs.get(clock, []))


def task_resources(definition: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(state name, Resource) of every Task state, nested ones (Map, Parallel) included."""
    for name, state in definition.get("States", {}).items():
        if not isinstance(state, dict):
            continue  # moto's own validation answers
        if state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
            yield name, state["Resource"]
        for inner in (state.get("Iterator"), state.get("ItemProcessor"), *state.get("Branches", [])):
            if isinstance(inner, dict):
                yield from task_resources(inner)


def unsupported_pattern(resource: str, machine_type: str) -> str | None:
    """Why CreateStateMachine rejects `resource`, or None. Express workflows "only support Request
    Response integrations"; the other patterns exist only where the integrations table says so."""
    match = re.fullmatch(r"arn:[\w-]+:states:::(aws-sdk|[\w-]+):[^.]+(?:\.(.+))?", resource)
    if match is None or match.group(2) is None:
        return None
    service, pattern = match.groups()
    if machine_type == StateMachineType.EXPRESS:
        return f"Express state machine does not support '.{pattern}' service integration"
    if service in PATTERNS and pattern not in PATTERNS[service]:
        return (
            f"The resource provided {resource} is not recognized. The value is not a valid resource ARN, "
            "or the resource is not available in this region."
        )
    return None


@functools.lru_cache(maxsize=64)
def _operation(service: str, action: str) -> Any:
    """botocore's model of `service`'s `action` (snake_case), or None when botocore does not know it."""
    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return None
    for name in model.operation_names:
        if botocore.xform_name(name) == action:
            return model.operation_model(name)
    return None


def _converts(state: StateTaskService) -> bool:
    # Optimized integrations other than `states:` take the API's own names already; they stay untouched.
    return isinstance(state, (StateTaskServiceAwsSdk, StateTaskServiceSfn))


_original_instance_init = StateMachineInstance.__init__
_original_create = StepFunctionsParserBackend.create_state_machine
_original_program_eval = Program.eval
_original_exception_name = StateTaskServiceAwsSdk._normalise_exception_name


class ExpressExecutions:
    """Runs Express executions on the virtual clock, and records each one's duration for billing."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        with _runs_lock:
            self._runs = _runs.setdefault(clock, [])

    def run_program(self, program: Program, env: Environment) -> None:
        """An Express execution ends TIMED_OUT after five minutes (or its own TimeoutSeconds) of virtual
        time. The program runs in a thread that takes part on its own; this one parks until it ends."""
        clock = self._clock
        limit = EXPRESS_LIMIT
        if program.timeout_seconds is not None:
            limit = min(limit, float(program.timeout_seconds.timeout_seconds))
        started = clock.elapsed()
        ended = Alarm()
        env.next_state_name = program.start_at.start_at_name
        clock.join()

        def run() -> None:
            try:
                EvalComponent.eval(program, env)
            finally:
                clock.ring(ended)
                clock.leave()

        worker = threading.Thread(target=run, daemon=True)
        TMP_THREADS.append(worker)
        worker.start()
        timed_out = not clock.park(limit, ended)
        if timed_out:
            env.set_timed_out()  # the thread stops at its next state, and records ExecutionTimedOut
        arn = env.states.context_object.context_object_data["Execution"]["Id"]
        with _runs_lock:
            self._runs.append(ExpressRun(arn, started, clock.elapsed(), timed_out))

    def start_sync(self, response: StepFunctionResponse) -> ActionResult:
        """StartSyncExecution (API Reference): runs an EXPRESS execution in the caller's thread and answers
        its result; a STANDARD state machine is StateMachineTypeNotSupported. moto has the execution classes
        (SyncExecution) but no route or handler. Dates and billingDetails are on the virtual clock."""
        backend: StepFunctionsParserBackend = response.stepfunction_backend
        machine = backend.describe_state_machine(response._get_param("stateMachineArn"))
        if machine.type != StateMachineType.EXPRESS:
            raise StateMachineTypeNotSupported(
                "This operation is not supported by this type of state machine", "StateMachineTypeNotSupported"
            )
        execution_input = response._get_param("input") or "{}"
        try:
            json.loads(execution_input)
        except ValueError as error:
            raise InvalidExecutionInput(str(error), "InvalidExecutionInput") from None
        name = response._get_param("name") or str(uuid.uuid4())
        execution = SyncExecution(
            name=name,
            sm_type=StateMachineType.EXPRESS,
            role_arn=machine.roleArn,
            exec_arn=f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:"
            f"{machine.name}:{name}:{uuid.uuid4()}",
            account_id=backend.account_id,
            region_name=backend.region_name,
            state_machine=copy.deepcopy(machine, {id(machine.executions): [], id(machine.backend): machine.backend}),
            start_date=self._date(),
            cloud_watch_logging_session=None,
            activity_store={},
            input_data=execution_input,
            trace_header=response._get_param("traceHeader"),
        )
        started = self._clock.elapsed()
        execution.start()  # SyncExecutionWorker runs it here, to its end
        execution.stop_date = self._date()
        output = dict(execution.to_start_sync_execution_output())
        billed = ExpressRun(execution.exec_arn, started, self._clock.elapsed(), timed_out=False).billed_milliseconds
        output["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed}
        return ActionResult(output)

    def _date(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self._clock.now(), tz=datetime.UTC)


def instance_init(self: StateMachineInstance, *args: Any, **kwargs: Any) -> None:
    """Wraps `StateMachineInstance.__init__`, which keeps `type` for DescribeStateMachine but runs every
    execution as STANDARD (`sm_type`)."""
    _original_instance_init(self, *args, **kwargs)
    self.sm_type = self.type


def create_state_machine(
    self: StepFunctionsParserBackend, name: str, definition: str, *args: Any, **kwargs: Any
) -> Any:
    """Wraps CreateStateMachine: an integration pattern the workflow type or the service does not offer is an
    InvalidDefinition, as on AWS, instead of a task that fails (or waits for nothing) at run time."""
    machine_type = kwargs.get("sm_type") or StateMachineType.STANDARD
    try:
        parsed = json.loads(definition)
    except ValueError:
        parsed = None  # moto's own validation answers
    for state, resource in task_resources(parsed if isinstance(parsed, dict) else {}):
        reason = unsupported_pattern(resource, machine_type)
        if reason:
            raise InvalidDefinition(
                f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {reason} at /States/{state}/Resource'",
                "InvalidDefinition",
            )
    return _original_create(self, name, definition, *args, **kwargs)


def normalise_parameters(
    self: StateTaskService,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """Replaces the no-op `StateTaskService._normalise_parameters` for `aws-sdk:` and `states:` tasks.
    "Parameters in Step Functions are expressed in PascalCase, even if the native service API is in camelCase"
    (AWS SDK integrations): each is renamed to botocore's member and its value converted to the member's shape
    (a JSON object where the API takes a string), with moto's own (LocalStack's) converter."""
    operation = _converts(self) and _operation(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    if operation and operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def normalise_response(
    self: StateTaskService,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    """Replaces the no-op `StateTaskService._normalise_response`: the result comes back in PascalCase
    (`ExecutionArn`, which moto's own `.sync` resolvers read), nested members included, and as JSON: state
    data holds no datetime, so a timestamp becomes epoch milliseconds (as in a `.sync` task's StartDate)."""
    operation = _converts(self) and _operation(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    if operation and operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)
        _epoch_millis(response)


def _epoch_millis(value: Any) -> None:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in list(items):
        if isinstance(item, datetime.datetime):
            value[key] = round(item.timestamp() * 1000)
        else:
            _epoch_millis(item)


def exception_name(service: str, error: Exception) -> str:
    """Replaces `StateTaskServiceAwsSdk._normalise_exception_name`. AWS names a service error
    `ServiceName.ErrorName`, adding an Exception suffix where the API's name has none (AWS SDK integrations:
    `AcmPca.ResourceNotFoundException`, `S3.BucketAlreadyExistsException`); moto named every ClientError
    `<Service>.<Service>Exception`, which no Catch written from the docs matches."""
    if isinstance(error, ClientError):
        code = str(error.response["Error"]["Code"])
        return f"{service}.{code if code.endswith('Exception') else code + 'Exception'}"
    return str(_original_exception_name(service, error))


@contextmanager
def applied(clock: VirtualClock) -> Iterator[None]:
    executions = ExpressExecutions(clock)

    def program_eval(self: Program, env: Environment) -> None:
        """Wraps `Program.eval`, which bounds an execution by its TimeoutSeconds of REAL time: Express
        executions run on the virtual clock (above); Standard ones stay moto's."""
        if env.is_frame() or env.execution_type != StateMachineType.EXPRESS:
            _original_program_eval(self, env)
        else:
            executions.run_program(self, env)

    def start_sync_execution(self: StepFunctionResponse) -> ActionResult:
        return executions.start_sync(self)

    # StartSyncExecution goes to sync-states.<region>.amazonaws.com, which moto does not route.
    routes = [*backend_index.backend_url_patterns, ("stepfunctions", re.compile(SYNC_ENDPOINT))]
    with ExitStack() as stack:
        for target, name, replacement in (
            (StateMachineInstance, "__init__", instance_init),
            (StepFunctionsParserBackend, "create_state_machine", create_state_machine),
            (Program, "eval", program_eval),
            (StateTaskService, "_normalise_parameters", normalise_parameters),
            (StateTaskService, "_normalise_response", normalise_response),
            (StateTaskServiceAwsSdk, "_normalise_exception_name", staticmethod(exception_name)),
            (backend_index, "backend_url_patterns", routes),
            (stepfunctions_urls, "url_bases", [*stepfunctions_urls.url_bases, SYNC_ENDPOINT]),
        ):
            stack.enter_context(mock.patch.object(target, name, replacement))
        stack.enter_context(
            mock.patch.object(StepFunctionResponse, "start_sync_execution", start_sync_execution, create=True)
        )
        yield
