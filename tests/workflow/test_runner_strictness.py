"""The runner fails where AWS fails, even when moto would let a catch-everything workflow carry on.

Each test runs a tiny plain-ASL definition on moto's executor with the runner's patches (local/patches.py,
which enters local/strict.py) and asserts what AWS does. Sources: the Step Functions Developer Guide,
"Error handling in Step Functions" (concepts-error-handling: "A States.Runtime error is not retriable,
and will always cause the execution to fail. A retry or catch on States.ALL will not catch States.Runtime
errors"; States.ALL "can't catch the States.DataLimitExceeded terminal error"; states may report errors
with other names, which "must not begin with the States. prefix"), "Choice workflow state" (state-choice)
and "Fail workflow state" (state-fail), and the Amazon States Language specification (states-language.net).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import patches
from local.clock import VirtualClock
from local.runner import MOTO_CONFIG

REGION, ACCOUNT = "us-east-1", "123456789012"
Handler = Callable[[Any], Any]


def function(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def catch_all(next_state: str = "Caught") -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": next_state}]


CAUGHT = {"Type": "Pass", "End": True}


@dataclass
class Outcome:
    status: str
    error: str | None
    cause: str | None
    output: Any
    states: list[str]  # entered, in order
    virtual_seconds: float


@dataclass
class World:
    """moto with the runner's patches, a virtual clock, and Lambda functions that are Python callables."""

    clock: VirtualClock
    functions: dict[str, Handler] = field(default_factory=dict)
    invocations: list[str] = field(default_factory=list)
    _ended: dict[str, threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, function_name: str, body: bytes | str) -> tuple[bytes, str | None]:
        name = function_name.rsplit(":", 1)[-1]
        self.invocations.append(name)
        try:
            return json.dumps(self.functions[name](json.loads(body or "{}"))).encode(), None
        except Exception as error:  # the Lambda runtime's answer for an unhandled error
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode(), "Unhandled"

    def _event(self, arn: str) -> threading.Event:
        with self._lock:
            return self._ended.setdefault(arn, threading.Event())

    def finished(self, arn: str) -> None:
        self._event(arn).set()

    def run(self, definition: dict[str, Any], execution_input: Any = None) -> Outcome:
        client = boto3.client("stepfunctions", region_name=REGION)
        machine = client.create_state_machine(
            name=f"m-{uuid.uuid4().hex[:8]}",
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
        )["stateMachineArn"]
        arn = client.start_execution(stateMachineArn=machine, input=json.dumps(execution_input or {}))["executionArn"]
        return self.outcome(arn)

    def outcome(self, arn: str) -> Outcome:
        """How the execution ended, once it has (the clock goes on meanwhile)."""
        client = boto3.client("stepfunctions", region_name=REGION)
        with self.clock.idle():
            assert self._event(arn).wait(timeout=30), "the execution did not end"
        described = client.describe_execution(executionArn=arn)
        events = client.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        return Outcome(
            status=described["status"],
            error=described.get("error"),
            cause=described.get("cause"),
            output=json.loads(described["output"]) if "output" in described else None,
            states=[e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e],
            virtual_seconds=self.clock.elapsed(),
        )


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "MOTO_ACCOUNT_ID": ACCOUNT,
    }.items():
        monkeypatch.setenv(key, value)
    clock = VirtualClock()
    with mock_aws(config=MOTO_CONFIG):
        built = World(clock)
        with patches.applied(clock, built.invoke, built.finished):
            clock.join()  # the test's thread takes part until it waits for an execution
            try:
                yield built
            finally:
                clock.leave()


def assert_runtime_failure(outcome: Outcome) -> None:
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime"), (outcome.error, outcome.cause)
    assert "Caught" not in outcome.states, "a Catch took States.Runtime"


# ---- 1. a missing `.$` path is States.Runtime, past every Catch ----

MISSING_PATH_DEFINITIONS = {
    "Task Parameters": {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": function("echo"),
                "Parameters": {"target.$": "$.tagret"},
                "Catch": catch_all(),
                "End": True,
            },
            "Caught": CAUGHT,
        },
    },
    "Task ResultSelector": {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": function("echo"),
                "ResultSelector": {"status.$": "$.statsu"},
                "Catch": catch_all(),
                "End": True,
            },
            "Caught": CAUGHT,
        },
    },
    "Map ItemSelector": {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.targets",
                "ItemSelector": {"target.$": "$$.Map.Item.Value", "owner.$": "$.onwer"},
                "ItemProcessor": {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}},
                "Catch": catch_all(),
                "End": True,
            },
            "Caught": CAUGHT,
        },
    },
    "Pass Parameters": {
        "StartAt": "Shape",
        "States": {"Shape": {"Type": "Pass", "Parameters": {"target.$": "$.tagret"}, "End": True}},
    },
}


@pytest.mark.parametrize("where", list(MISSING_PATH_DEFINITIONS))
def test_a_missing_path_fails_the_execution_even_under_a_catch_all(world: World, where: str) -> None:
    """Error handling in Step Functions: "A retry or catch on States.ALL will not catch States.Runtime
    errors". AWS reports a `.$` field whose path selects nothing as States.Runtime, "The JSONPath '$.x'
    specified for the field 'x.$' could not be found in the input" (an AWS execution's error quoted in
    aws-samples/serverless-coffee-workshop#15; the States Language spec's appendix calls it
    States.ParameterPathFailure). moto reported it as States.TaskFailed in a Lambda task, and its Catch took it."""
    world.functions["echo"] = lambda event: {"status": "ok", **event}
    outcome = world.run(MISSING_PATH_DEFINITIONS[where], {"target": "dxcon-1", "owner": "me", "targets": ["a"]})
    assert_runtime_failure(outcome)
    assert "could not be found in the input" in (outcome.cause or "")


# ---- 2. a Choice on a missing variable is States.Runtime, unless guarded with IsPresent ----

CHOICE = {
    "StartAt": "Route",
    "States": {
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.status", "StringEquals": "done", "Next": "Done"}],
            "Default": "Other",
        },
        "Done": {"Type": "Succeed"},
        "Other": {"Type": "Succeed"},
    },
}


def test_a_choice_on_a_missing_variable_fails_the_execution_instead_of_taking_the_default(world: World) -> None:
    """Choice state (Developer Guide, "Choice State Example"): "If the state input doesn't contain the $.type
    field, the execution fails and an error is displayed in the execution history"; its IsPresent example
    evaluates StringEquals "only ... when $.keyThatMightNotExist exists", and the States Language spec exempts
    only IsPresent ("no exception is thrown and the Choice Rule just returns false"). moto took Default."""
    outcome = world.run(CHOICE, {"stauts": "done"})
    assert_runtime_failure(outcome)
    assert "Other" not in outcome.states
    assert "$.status" in (outcome.cause or "")


def test_a_choice_error_inside_a_map_passes_the_maps_catch_all(world: World) -> None:
    """The catch-everything design: the Map's Catch on States.ALL must not turn a Choice on a missing field
    (States.Runtime, Error handling in Step Functions) into the failure branch."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": CHOICE, "Catch": catch_all(), "End": True},
            "Caught": CAUGHT,
        },
    }
    assert_runtime_failure(world.run(definition, {"items": [{"status": "done"}, {"state": "done"}]}))


# ---- 3. States.ALL never catches nor retries States.Runtime or States.DataLimitExceeded ----


def test_a_retry_on_states_all_does_not_retry_a_runtime_error(world: World) -> None:
    """Error handling in Step Functions: "A States.Runtime error is not retriable". A retry would have
    waited 100 virtual seconds and entered the Catch afterwards."""
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": function("echo"),
                "Parameters": {"target.$": "$.tagret"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100, "MaxAttempts": 3}],
                "Catch": catch_all(),
                "End": True,
            },
            "Caught": CAUGHT,
        },
    }
    outcome = world.run(definition, {"target": "dxcon-1"})
    assert_runtime_failure(outcome)
    assert outcome.virtual_seconds == 0
    assert world.invocations == []


def test_naming_states_runtime_in_a_catch_does_not_catch_it_either(world: World) -> None:
    """Error handling in Step Functions: States.Runtime "will always cause the execution to fail"."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": CHOICE,
                "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": CAUGHT,
        },
    }
    assert_runtime_failure(world.run(definition, {"items": [{}]}))


def test_states_all_does_not_catch_data_limit_exceeded(world: World) -> None:
    """Error handling in Step Functions: States.ALL "can't catch the States.DataLimitExceeded terminal
    error". Each iteration's output (two copies of 150 KB) passes the 256 KB state payload quota."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Double",
                    "States": {
                        "Double": {"Type": "Pass", "Parameters": {"a.$": "$.blob", "b.$": "$.blob"}, "End": True}
                    },
                },
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 100}],
                "Catch": catch_all(),
                "End": True,
            },
            "Caught": CAUGHT,
        },
    }
    outcome = world.run(definition, {"items": [{"blob": "x" * 150_000}]})
    assert (outcome.status, outcome.error) == ("FAILED", "States.DataLimitExceeded"), outcome.cause
    assert "Caught" not in outcome.states
    assert outcome.virtual_seconds == 0


# ---- 4. a Fail state's error: a string, and never a name of the States. family ----


def fail_in_map(error_path: str, cause_path: str = "$.cause") -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "TargetFailed",
                    "States": {"TargetFailed": {"Type": "Fail", "ErrorPath": error_path, "CausePath": cause_path}},
                },
                "Catch": catch_all(),
                "End": True,
            },
            "Caught": CAUGHT,
        },
    }


@pytest.mark.parametrize("name", ["States.Runtime", "States.TaskFailed", "States.Whatever"])
def test_a_fail_state_naming_a_states_error_fails_the_execution_loudly(world: World, name: str) -> None:
    """Error handling in Step Functions: error names a state reports "must not begin with the States.
    prefix"; AWS documents no outcome for a Fail state that does. moto raised a ValueError that, inside a
    Map, became an error the Map's Catch on States.ALL took: here the execution fails, saying why."""
    outcome = world.run(
        fail_in_map("$.failure.error", "$.failure.cause"), {"items": [{"failure": {"error": name, "cause": "boom"}}]}
    )
    assert_runtime_failure(outcome)
    assert name in (outcome.cause or "") and "must not begin with 'States.'" in (outcome.cause or "")


def test_a_fail_state_naming_a_states_error_at_the_top_level_fails_loudly_too(world: World) -> None:
    """moto already failed here (its ValueError became States.Runtime); the cause now says why."""
    definition = {"StartAt": "Failed", "States": {"Failed": {"Type": "Fail", "Error": "States.Timeout", "Cause": "x"}}}
    outcome = world.run(definition)
    assert (outcome.status, outcome.error) == ("FAILED", "States.Runtime")
    assert "States.Timeout" in (outcome.cause or "")


@pytest.mark.parametrize("failure", [{"error": None, "cause": "boom"}, {"error": "Broken", "cause": None}])
def test_a_fail_state_whose_error_or_cause_path_selects_null_fails_loudly(
    world: World, failure: dict[str, Any]
) -> None:
    """Fail state: ErrorPath and CausePath, "When resolved, the reference path must select a field that
    contains a string value"; AWS documents no outcome otherwise. moto failed with a null error, which the
    Map's Catch on States.ALL took."""
    outcome = world.run(fail_in_map("$.error", "$.cause"), {"items": [failure]})
    assert_runtime_failure(outcome)
    assert "not a string" in (outcome.cause or "")


# ---- what AWS lets through still goes through ----


def test_present_paths_a_choice_on_a_present_variable_and_an_is_present_guard_work(world: World) -> None:
    world.functions["echo"] = lambda event: {"status": "done", "got": event}
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": function("echo"),
                "Parameters": {"target.$": "$.target"},
                "ResultSelector": {"status.$": "$.status", "target.$": "$.got.target"},
                "Catch": catch_all(),
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.retry", "IsPresent": True},
                            {"Variable": "$.retry", "BooleanEquals": True},
                        ],
                        "Next": "Caught",
                    },
                    {"Variable": "$.status", "StringEquals": "done", "Next": "Done"},
                ],
                "Default": "Caught",
            },
            "Done": {"Type": "Succeed"},
            "Caught": CAUGHT,
        },
    }
    outcome = world.run(definition, {"target": "dxcon-1"})
    assert (outcome.status, outcome.output) == ("SUCCEEDED", {"status": "done", "target": "dxcon-1"})
    assert outcome.states == ["Call", "Route", "Done"]


def test_a_custom_error_is_retried_and_caught_and_an_iterations_error_keeps_its_name(world: World) -> None:
    """A handler's exception name is the error name Retry and Catch match; an iteration's error is the Map's
    (States Language spec, Map State: an iteration's unhandled error fails the Map, whose Catch may handle it)."""

    def broken(event: Any) -> Any:
        raise LookupError("no such target")

    world.functions["broken"] = broken
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Call",
                    "States": {
                        "Call": {
                            "Type": "Task",
                            "Resource": function("broken"),
                            "Retry": [{"ErrorEquals": ["LookupError"], "IntervalSeconds": 10, "MaxAttempts": 1}],
                            "End": True,
                        }
                    },
                },
                "Catch": [
                    {"ErrorEquals": ["KeyError"], "Next": "Wrong"},
                    {"ErrorEquals": ["LookupError"], "ResultPath": "$.caught", "Next": "Caught"},
                ],
                "End": True,
            },
            "Wrong": {"Type": "Fail", "Error": "WrongCatcher"},
            "Caught": CAUGHT,
        },
    }
    outcome = world.run(definition, {"items": [{}]})
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["caught"]["Error"] == "LookupError"
    assert world.invocations == ["broken", "broken"]  # one retry
    assert outcome.virtual_seconds >= 10


def test_a_states_error_from_an_iteration_reaches_the_maps_catch_by_its_name(world: World) -> None:
    """States Language spec: "The interpreter will throw a runtime States.NoChoiceMatched error if a Choice
    State fails to match a Choice Rule and no "Default" transition was specified". moto raised a RuntimeError,
    and made any States.* error of an iteration a ValueError: both States.Runtime, no longer catchable."""
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Pick",
                    "States": {
                        "Pick": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "y", "Next": "Ok"}]},
                        "Ok": {"Type": "Succeed"},
                    },
                },
                "Catch": [{"ErrorEquals": ["States.NoChoiceMatched"], "ResultPath": "$.caught", "Next": "Caught"}],
                "End": True,
            },
            "Caught": CAUGHT,
        },
    }
    outcome = world.run(definition, {"items": [{"x": "z"}]})
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["caught"]["Error"] == "States.NoChoiceMatched"


def test_a_fail_state_with_a_custom_error_in_a_map_is_caught(world: World) -> None:
    outcome = world.run(
        fail_in_map("$.failure.error", "$.failure.cause"),
        {"items": [{"failure": {"error": "TargetBusy", "cause": "locked"}}]},
    )
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["caught"] == {"Error": "TargetBusy", "Cause": "locked"}
