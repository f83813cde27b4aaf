"""Where moto's ASL interpreter is kinder than AWS to a workflow that catches everything, it is made strict.

A design that ends every path in `Catch: States.ALL` hides its own mistakes on moto: a typo in a `.$` path
or a Choice on a field that is not there becomes an error the catch handles. On AWS both are `States.Runtime`,
which no Catch or Retry takes, and the execution fails. Each replacement below cites what AWS documents;
where AWS documents a rule but not what breaking it does, the execution fails with `States.Runtime` and a
cause that says so, so the mistake can never pass silently. `tests/workflow/test_runner_strictness.py`
runs each case.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJsonPath
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
    ComparisonOperatorType,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import ComparisonVariable
from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import NoSuchVariable
from moto.stepfunctions.parser.asl.component.state.choice.state_choice import StateChoice
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
from moto.stepfunctions.parser.asl.component.state.fail.state_fail import StateFail
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

RUNTIME = StatesErrorNameType.StatesRuntime.to_name()
DATA_LIMIT = StatesErrorNameType.StatesStatesDataLimitExceeded.to_name()
RESERVED_PREFIX = "States."

_original_error_equals = ErrorEqualsDecl._eval_body
_original_json_path = StringJsonPath._eval_body
_original_choice = StateChoice._eval_state


def states_failure(
    env: Environment, cause: str, typ: StatesErrorNameType = StatesErrorNameType.StatesRuntime
) -> FailureEvent:
    return FailureEvent(
        env=env,
        error_name=StatesErrorName(typ=typ),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(error=typ.to_name(), cause=cause)),
    )


def runtime_error(env: Environment, cause: str) -> FailureEventException:
    return FailureEventException(states_failure(env, cause))


class MissingPath(NoSuchJsonPathError, FailureEventException):  # type: ignore[misc]  # moto is untyped
    """A path that selects nothing: still the NoSuchJsonPathError that InputPath, OutputPath, SecondsPath and
    the timeouts turn into their own States.Runtime, and now also a States.Runtime failure everywhere else."""

    def __init__(self, env: Environment, missing: NoSuchJsonPathError) -> None:
        NoSuchJsonPathError.__init__(self, missing.json_path, missing.data)
        field = env.next_field_name if str(env.next_field_name).endswith(".$") else None  # else a class name
        cause = (
            f"The JSONPath '{missing.json_path}'{f' specified for the field {field!r}' if field else ''} could "
            f"not be found in the input '{to_json_str(missing.data)}'"
        )
        FailureEventException.__init__(self, states_failure(env, cause))


def json_path_value(self: StringJsonPath, env: Environment) -> None:
    """Wraps `StringJsonPath._eval_body`, which reads a `.$` path of Parameters, ItemSelector or
    ResultSelector. moto raises a plain exception, which a Lambda task reports as States.TaskFailed and other
    states as States.Runtime, both taken by `States.ALL`. AWS fails with States.Runtime ("The JSONPath '$.x'
    specified for the field 'x.$' could not be found in the input ..."), past every Catch."""
    try:
        _original_json_path(self, env)
    except NoSuchJsonPathError as missing:
        raise MissingPath(env, missing) from None


def error_equals(self: ErrorEqualsDecl, env: Environment) -> None:
    """Replaces `ErrorEqualsDecl._eval_body`, the match of one Retrier's or Catcher's ErrorEquals, for which
    `States.ALL` matches everything. AWS ("Error handling in Step Functions", error names): "A States.Runtime
    error is not retriable, and will always cause the execution to fail. A retry or catch on States.ALL will
    not catch States.Runtime errors"; `States.ALL` "can't catch the States.DataLimitExceeded terminal error"."""
    name = getattr(env.stack[-1], "error_name", None)
    if name == RUNTIME:
        env.stack.pop()
        env.stack.append(False)
    elif name == DATA_LIMIT:  # AWS documents only the wildcard's blindness: an explicit name still matches
        env.stack.pop()
        env.stack.append(any(n.error_name == DATA_LIMIT for n in self.error_names))
    else:
        _original_error_equals(self, env)


def comparison_variable(self: ComparisonVariable, env: Environment) -> None:
    """Replaces `ComparisonVariable._eval_body`: moto compares a missing Variable as a value that matches
    nothing, so the Choice takes its Default. AWS (Choice state; the States Language spec) fails the
    execution: only `IsPresent` tests a path that "fails to match anything in the input" without an error.
    `And`/`Or` stop at the first deciding rule, so an `IsPresent` guard before the comparison still works."""
    self.variable.eval(env)
    if (
        isinstance(env.stack[-1], NoSuchVariable)
        and self.comparison_function.operator_type is not ComparisonOperatorType.IsPresent
    ):
        path = self.variable.string_sampler.literal_value
        raise runtime_error(env, f"Invalid path '{path}': the Choice rule's Variable is not in the state input.")
    self.comparison_function.eval(env)


def choice_state(self: StateChoice, env: Environment) -> None:
    """Wraps `StateChoice._eval_state`: with no rule matched and no Default, moto raises a RuntimeError, which
    would now be an uncatchable States.Runtime. The States Language spec: "The interpreter will throw a
    runtime States.NoChoiceMatched error", which a Map's or Parallel's Catch may take."""
    try:
        _original_choice(self, env)
    except RuntimeError as error:
        if self.default_state is not None or not str(error.args[0] if error.args else "").startswith("No branching"):
            raise
        cause = f"No Choice rule of '{self.name}' matched, and it has no Default."
        raise FailureEventException(states_failure(env, cause, StatesErrorNameType.StatesNoChoiceMatched)) from None


def fail_state(self: StateFail, env: Environment) -> None:
    """Replaces `StateFail._eval_state`. AWS (Fail state) requires ErrorPath and CausePath to select a string,
    and error names a state reports "must not begin with the States. prefix" (Error handling). moto puts a
    null into the execution's error, and rejects a `States.` name with a ValueError that, inside a Map,
    ends as an error the Map's Catch takes. AWS documents no outcome for either: the execution fails."""
    details = TaskFailedEventDetails()
    for field, decl in (("error", self.error), ("cause", self.cause)):
        if decl is None:
            continue
        decl.eval(env=env)
        value = env.stack.pop()
        if not isinstance(value, str):
            raise runtime_error(
                env,
                f"The Fail state's {field.capitalize()} resolved to {json.dumps(value)}, not a string; AWS requires "
                "a string and documents no outcome otherwise, so the local runner fails the execution.",
            )
        details[field] = value
    error = details.get("error")
    if error and error.startswith(RESERVED_PREFIX):
        raise runtime_error(
            env,
            f"The Fail state reported the error name '{error}'; names a state reports must not begin with "
            f"'{RESERVED_PREFIX}', and AWS documents no outcome otherwise, so the local runner fails the execution.",
        )
    raise FailureEventException(
        FailureEvent(
            env=env,
            error_name=CustomErrorName(error) if error else None,
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(taskFailedEventDetails=details),
        )
    )


def propagated_error_name(error_name: Any) -> ErrorName:
    """Replaces `CustomErrorName` where a Map iteration's or a Parallel branch's error becomes the state's:
    moto wraps every name as a custom one, which rejects `States.*`, so an iteration that failed with
    `States.Timeout` (catchable) or `States.Runtime` (not) became a ValueError. The name passes on as it is."""
    if isinstance(error_name, str) and error_name.startswith(RESERVED_PREFIX):
        return StatesErrorName.from_name(error_name)  # an unknown States.* name stays a loud ValueError
    return CustomErrorName(error_name)


@contextmanager
def applied() -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(ErrorEqualsDecl, "_eval_body", error_equals))
        stack.enter_context(mock.patch.object(StringJsonPath, "_eval_body", json_path_value))
        stack.enter_context(mock.patch.object(ComparisonVariable, "_eval_body", comparison_variable))
        stack.enter_context(mock.patch.object(StateChoice, "_eval_state", choice_state))
        stack.enter_context(mock.patch.object(StateFail, "_eval_state", fail_state))
        stack.enter_context(mock.patch.object(iteration_worker, "CustomErrorName", propagated_error_name))
        stack.enter_context(mock.patch.object(branches_decl, "CustomErrorName", propagated_error_name))
        yield
