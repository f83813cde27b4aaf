"""Waiting on the virtual clock: task tokens, and the executions a `.sync` task starts.

moto 5.2.5 waits for a `.waitForTaskToken` answer on the real clock (`CallbackEndpoint.wait(timeout)`, a
heartbeat `Event.wait`), so a task that waits an hour costs an hour, and an execution that parks is counted
busy the whole time; it also bounds the task's thread by TimeoutSeconds of real time. It accepts a second
answer for the same token, never says TaskTimedOut, drops the `cause` of SendTaskFailure, reports a missed
heartbeat as States.Timeout, hands a retried task its failed attempt's token (and answer), and
`states:startExecution.sync` polls DescribeExecution every 0.5 real seconds.

Here a waiting task parks on the virtual clock (`VirtualClock.park`): like a Wait state it is not a busy
participant, so time moves while it waits, and the answer, or the end of the execution it waits for, rings
it awake in the same step. Sources, Step Functions Developer Guide: "Wait for a Callback with Task Token"
(connect-to-resource.html#connect-wait-token), "Handling errors in Step Functions workflows"
(concepts-error-handling.html); API Reference: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat.
`tests/workflow/test_runner_callbacks.py` runs each case.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.api import (
    HistoryEventType,
    InvalidOutput,
    TaskTimedOut,
    TaskTimedOutEventDetails,
)
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout, TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackOutcome,
    CallbackOutcomeFailure,
    CallbackOutcomeSuccess,
    CallbackOutcomeTimedOut,
    CallbackPoolManager,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from . import express
from .clock import Alarm, VirtualClock

HEARTBEAT_TIMEOUT = StatesErrorNameType.StatesHeartbeatTimeout.to_name()
TIMEOUT = StatesErrorNameType.StatesTimeout.to_name()


class HeartbeatTimeoutName(StatesErrorName):  # type: ignore[misc]  # moto is untyped
    """States.HeartbeatTimeout, which a Retrier or Catcher on States.Timeout takes too: the States Language
    spec defines States.Timeout as "ran longer than TimeoutSeconds, or failed to heartbeat for a time longer
    than HeartbeatSeconds", and Step Functions added the narrower name later, for Catch and Retry (Error
    handling: "HeartbeatTimeout is available inside the Catch and Retry fields"; aws-cdk#16084)."""

    def __init__(self) -> None:
        super().__init__(typ=StatesErrorNameType.StatesHeartbeatTimeout)

    def matches(self, error_name: str | None) -> bool:
        return error_name in (HEARTBEAT_TIMEOUT, TIMEOUT)

    # ErrorEqualsDecl tests `name in error_equals`: Python asks this subclass's __eq__ first.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorName) and self.matches(other.error_name)

    __hash__ = None  # type: ignore[assignment]  # like every ErrorName


def is_callback_task(state: Any) -> bool:
    return isinstance(state, StateTaskServiceCallback) and state.resource.condition is not None


def waits_virtually(state: Any) -> bool:
    """A task whose wait (and TimeoutSeconds) is on the virtual clock here: `.waitForTaskToken`, and the
    `.sync` of `states:startExecution`. Other services' `.sync` stay moto's, bounded in real time."""
    return is_callback_task(state) and (
        state.resource.condition == ResourceCondition.WaitForTaskToken or isinstance(state, StateTaskServiceSfn)
    )


def task_timeout(state: ExecutionState, timeout_seconds: int) -> float:
    """The Task state's TimeoutSeconds. moto makes it 60 when only HeartbeatSeconds is given; the Developer
    Guide (Task workflow state) says the default is 99999999 either way."""
    return float(TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS if state.timeout.is_default_value() else timeout_seconds)


def heartbeat_failure(state: StateTaskService, env: Environment) -> FailureEventException:
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=HeartbeatTimeoutName(),
            event_type=HistoryEventType.TaskTimedOut,
            event_details=EventDetails(
                taskTimedOutEventDetails=TaskTimedOutEventDetails(
                    resourceType=state._get_sfn_resource_type(),
                    resource=state._get_sfn_resource(),
                    error=HEARTBEAT_TIMEOUT,
                )
            ),
        )
    )


@dataclass
class Ticket:
    """One task token: open until answered, given up on by its task, or its execution ends."""

    alarm: Alarm = field(default_factory=Alarm)
    outcome: CallbackOutcome | None = None
    closed: bool = False
    last_beat: float | None = None  # virtual seconds of the last SendTaskHeartbeat


class TaskTokens:
    """Every token the executions issued, and what became of it: what the Send* APIs answer from, and
    what a waiting task parks on."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._tickets: dict[str, Ticket] = {}
        self._owned: dict[int, list[str]] = {}  # id() of an execution's CallbackPoolManager -> its tokens
        self._lock = threading.Lock()

    def issue(self, token: str, owner: object) -> None:
        with self._lock:
            self._tickets[token] = Ticket()
            self._owned.setdefault(id(owner), []).append(token)

    def knows(self, token: str) -> bool:
        with self._lock:
            return token in self._tickets

    def _open(self, token: str) -> Ticket:
        ticket = self._tickets[token]
        if ticket.closed:  # API Reference, TaskTimedOut: "the task associated with the token has already been closed"
            raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'", "TaskTimedOut")
        return ticket

    def answer(self, token: str, outcome: CallbackOutcome) -> None:
        with self._lock:
            ticket = self._open(token)
            ticket.outcome, ticket.closed = outcome, True
        self._clock.ring(ticket.alarm)  # the waiting task goes on in this step

    def heartbeat(self, token: str) -> None:
        """SendTaskHeartbeat "resets the Heartbeat clock". It rings nothing: the task looks at the time of
        the last beat when its heartbeat deadline comes."""
        with self._lock:
            self._open(token).last_beat = self._clock.elapsed()

    def settle(self, token: str) -> CallbackOutcome | None:
        """Closes a token whose task stops waiting; an answer that came first is returned."""
        with self._lock:
            ticket = self._tickets[token]
            ticket.closed = True
            return ticket.outcome

    def close_owned_by(self, owner: object) -> None:
        """An execution that ended leaves no token open."""
        with self._lock:
            for token in self._owned.pop(id(owner), []):
                self._tickets[token].closed = True

    def wait(
        self, state: StateTaskServiceCallback, env: Environment, token: str, timeout_seconds: int
    ) -> CallbackOutcome:
        """Parks until SendTaskSuccess or SendTaskFailure, or until TimeoutSeconds pass (States.Timeout), or
        HeartbeatSeconds pass without SendTaskHeartbeat (States.HeartbeatTimeout); each beat restarts that."""
        with self._lock:
            ticket = self._tickets[token]
        heartbeat = math.inf
        if state.heartbeat is not None:
            state.heartbeat.eval(env=env)
            heartbeat = float(env.stack.pop())
        started = self._clock.elapsed()
        timeout_at = started + task_timeout(state, timeout_seconds)
        while ticket.outcome is None:
            now = self._clock.elapsed()
            beat_due = (started if ticket.last_beat is None else ticket.last_beat) + heartbeat
            if now >= timeout_at or now >= beat_due or not env.is_running():
                answered = self.settle(token)
                if answered is not None:  # an answer in the same instant wins
                    return answered
                if now < timeout_at and env.is_running():
                    raise heartbeat_failure(state, env)
                return CallbackOutcomeTimedOut(callback_id=token)
            self._clock.park(min(timeout_at, beat_due) - now, ticket.alarm)
        return ticket.outcome


@dataclass
class ChildResolver:
    """moto's `.sync` resolver (DescribeExecution of the child), with the child it asks about."""

    execution_arn: str
    resolve: Callable[[], Any]

    def __call__(self) -> Any:
        return self.resolve()


class ExecutionEnds:
    """Alarms rung when an execution ends: what a `.sync` task waits for instead of polling."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._alarms: dict[str, list[Alarm]] = {}
        self._lock = threading.Lock()

    def ended(self, execution_arn: str) -> None:
        with self._lock:
            alarms = list(self._alarms.get(execution_arn, []))
        for alarm in alarms:
            self._clock.ring(alarm)

    def wait(self, state: ExecutionState, env: Environment, child: ChildResolver, timeout_seconds: int) -> Any:
        """Parks until the child execution ends (or TimeoutSeconds pass: None), then answers its result."""
        timeout_at = self._clock.elapsed() + task_timeout(state, timeout_seconds)
        alarm = Alarm()
        with self._lock:  # before the first look, so that no end is missed
            self._alarms.setdefault(child.execution_arn, []).append(alarm)
        try:
            while env.is_running():
                result = child()
                if result is not None or self._clock.elapsed() >= timeout_at:
                    return result
                self._clock.park(timeout_at - self._clock.elapsed(), alarm)
            return None
        finally:
            with self._lock:
                self._alarms[child.execution_arn].remove(alarm)


_original_add = CallbackPoolManager.add
_original_eval_execution = StateTaskService._eval_execution
_original_evaluate_with_timeout = ExecutionState._evaluate_with_timeout
_original_timeout_body = Timeout._eval_body
_original_eval_sync = StateTaskServiceCallback._eval_sync
_original_build_sync = StateTaskServiceSfn._build_sync_resolver
_original_build_sync2 = StateTaskServiceSfn._build_sync2_resolver
_original_terminated = BaseExecutionWorkerCommunication.terminated
_original_send_success = StepFunctionsParserBackend.send_task_success
_original_send_failure = StepFunctionsParserBackend.send_task_failure
_original_send_heartbeat = StepFunctionsParserBackend.send_task_heartbeat
_unbounded = threading.local()  # set while a callback task's outer wait reads its timeout


def evaluate_with_timeout(self: ExecutionState, env: Environment) -> None:
    """Wraps `ExecutionState._evaluate_with_timeout`, which bounds a task's thread by TimeoutSeconds of REAL
    time. A task that waits on the virtual clock enforces TimeoutSeconds there; the real bound could only fire
    wrongly, when a long simulation takes more real seconds than the task has virtual ones."""
    _unbounded.next = waits_virtually(self)
    try:
        _original_evaluate_with_timeout(self, env)
    finally:
        _unbounded.next = False


def timeout_body(self: Timeout, env: Environment) -> None:
    """Wraps `Timeout._eval_body`: the first timeout read after `evaluate_with_timeout` flagged a callback
    task is the outer wait's, and becomes None (threading.Event.wait(None): until the task ends)."""
    if getattr(_unbounded, "next", False):
        _unbounded.next = False
        env.stack.append(None)
    else:
        _original_timeout_body(self, env)


def build_sync(self: StateTaskServiceSfn, env: Environment, **kwargs: Any) -> ChildResolver:
    child = env.stack[-1]["ExecutionArn"]  # StartExecution's response, which the builder pops
    return ChildResolver(child, _original_build_sync(self, env=env, **kwargs))


def build_sync2(self: StateTaskServiceSfn, env: Environment, **kwargs: Any) -> ChildResolver:
    child = env.stack[-1]["ExecutionArn"]
    return ChildResolver(child, _original_build_sync2(self, env=env, **kwargs))


def send_task_failure_response(self: StepFunctionResponse) -> Any:
    """Replaces `StepFunctionResponse.send_task_failure`, which passed `error` on and dropped `cause`."""
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


@contextmanager
def applied(clock: VirtualClock) -> Iterator[None]:
    tokens = TaskTokens(clock)
    ends = ExecutionEnds(clock)

    def add(self: CallbackPoolManager, callback_id: str) -> Any:
        endpoint = _original_add(self, callback_id)
        tokens.issue(callback_id, owner=self)
        return endpoint

    def eval_execution(self: StateTaskService, env: Environment) -> None:
        """Wraps `StateTaskService._eval_execution`, one attempt of a Task. moto issues one token per state
        and reuses it on every retry, so the answer to a failed attempt would answer the next one at once.
        Each attempt gets a token of its own here, and the one before is closed."""
        context = env.states.context_object.context_object_data
        if is_callback_task(self) and context["State"]["RetryCount"] > 0 and "Task" in context:
            tokens.settle(context["Task"]["Token"])
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        _original_eval_execution(self, env)

    def wait_for_task_token(
        self: StateTaskServiceCallback,
        env: Environment,
        timeout_seconds: int,
        callback_endpoint: Any,
        heartbeat_endpoint: Any,
    ) -> CallbackOutcome:
        """Replaces `StateTaskServiceCallback._eval_wait_for_task_token` (real-clock waits)."""
        return tokens.wait(self, env, callback_endpoint.callback_id, timeout_seconds)

    def eval_sync(self: StateTaskServiceCallback, env: Environment, sync_resolver: Any, **kwargs: Any) -> Any:
        """Replaces `StateTaskServiceCallback._eval_sync` for `states:startExecution.sync` and `.sync:2`:
        instead of a DescribeExecution every 0.5 real seconds, the task parks until the child ends."""
        if not isinstance(sync_resolver, ChildResolver):
            return _original_eval_sync(self, env=env, sync_resolver=sync_resolver, **kwargs)
        result = ends.wait(self, env, sync_resolver, kwargs["timeout_seconds"])
        callback_id = getattr(kwargs["callback_endpoint"], "callback_id", "")
        return CallbackOutcomeTimedOut(callback_id=callback_id) if result is None and env.is_running() else result

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        _original_terminated(self)
        tokens.close_owned_by(self.execution.exec_worker.env.callback_pool_manager)
        ends.ended(self.execution.exec_arn)

    def send_task_success(self: StepFunctionsParserBackend, task_token: str, outcome: str) -> Any:
        if not tokens.knows(task_token):  # an activity's, or none at all: moto answers (InvalidToken)
            return _original_send_success(self, task_token, outcome)
        try:
            json.loads(outcome)
        except (TypeError, ValueError):
            raise InvalidOutput("The provided JSON output data is not valid.", "InvalidOutput") from None
        return tokens.answer(task_token, CallbackOutcomeSuccess(callback_id=task_token, output=outcome))

    def send_task_failure(
        self: StepFunctionsParserBackend, task_token: str, error: str | None = None, cause: str | None = None
    ) -> Any:
        if not tokens.knows(task_token):
            return _original_send_failure(self, task_token, error=error, cause=cause)
        return tokens.answer(task_token, CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause))

    def send_task_heartbeat(self: StepFunctionsParserBackend, task_token: str) -> Any:
        return tokens.heartbeat(task_token) if tokens.knows(task_token) else _original_send_heartbeat(self, task_token)

    with ExitStack() as stack:
        for target, name, replacement in (
            (CallbackPoolManager, "add", add),
            (StateTaskService, "_eval_execution", eval_execution),
            (ExecutionState, "_evaluate_with_timeout", evaluate_with_timeout),
            (Timeout, "_eval_body", timeout_body),
            (StateTaskServiceCallback, "_eval_wait_for_task_token", wait_for_task_token),
            (StateTaskServiceCallback, "_eval_sync", eval_sync),
            (StateTaskServiceSfn, "_build_sync_resolver", build_sync),
            (StateTaskServiceSfn, "_build_sync2_resolver", build_sync2),
            (BaseExecutionWorkerCommunication, "terminated", terminated),
            (StepFunctionsParserBackend, "send_task_success", send_task_success),
            (StepFunctionsParserBackend, "send_task_failure", send_task_failure),
            (StepFunctionsParserBackend, "send_task_heartbeat", send_task_heartbeat),
            (StepFunctionResponse, "send_task_failure", send_task_failure_response),
        ):
            stack.enter_context(mock.patch.object(target, name, replacement))
        stack.enter_context(express.applied(clock))
        yield
