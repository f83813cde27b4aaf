"""The embedded AWS runs a callback design as AWS does, on the virtual clock (local/tasktokens.py, local/express.py).

Each test runs a tiny plain-ASL definition on moto's executor with the runner's patches, through the harness of
test_runner_strictness.py, and asserts what the Step Functions Developer Guide and API Reference document. The
test's thread takes part in the virtual clock: `clock.sleep(t)` lets time run while every execution is parked,
which is how a watcher answers "at t = 100 s".
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.clock import Alarm, VirtualClock
from local.express import express_runs
from tests.workflow.test_runner_strictness import ACCOUNT, REGION, Outcome, World, function
from tests.workflow.test_runner_strictness import world as world  # noqa: PLC0414 (the fixture, reused)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"
REAL_SECONDS = 5.0  # hours of virtual waiting must cost no more than a moment of real time


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def create(definition: dict[str, Any], machine_type: str = "STANDARD") -> str:
    name = f"m-{uuid.uuid4().hex[:8]}"
    arn: str = sfn().create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=ROLE, type=machine_type
    )["stateMachineArn"]
    return arn


def start(definition: dict[str, Any], execution_input: Any = None, machine_type: str = "STANDARD") -> str:
    machine = create(definition, machine_type)
    arn: str = sfn().start_execution(stateMachineArn=machine, input=json.dumps(execution_input or {}))["executionArn"]
    return arn


def ended(world: World, arn: str) -> Outcome:
    """What World.run reads, for an execution this test drove while it ran."""
    return world.outcome(arn)


def parked(world: World, **task: Any) -> tuple[dict[str, Any], list[str]]:
    """A Lambda task (`lambda:invoke.waitForTaskToken`) whose function hands `$$.Task.Token` to the test, as a
    design hands it to its watcher; Catch on `caught` names, if given."""
    tokens: list[str] = []
    world.functions["park"] = lambda event: tokens.append(event["token"]) or {"parked": True}
    catch = task.pop("catch", None)
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": function("park"), "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
        **task,
    }
    if catch:
        state["Catch"] = [{"ErrorEquals": catch, "ResultPath": "$.caught", "Next": "Caught"}]
    return {"StartAt": "Wait", "States": {"Wait": state, "Caught": {"Type": "Pass", "End": True}}}, tokens


def until_parked(world: World) -> None:
    """Lets every execution run until it waits (the test's own sleep ends once nobody else is busy)."""
    world.clock.sleep(0)


def rejected(call: Any) -> str:
    with pytest.raises(ClientError) as error:
        call()
    return str(error.value.response["Error"]["Code"])


# ---- 0. the clock's part: a sleep another thread can end early (local/clock.py: park, ring) ----


def test_a_ring_ends_a_park_early_and_hands_participation_over() -> None:
    """A parked thread is no busy participant (time jumps past it to the next wake-up); the ringer makes it
    busy in the same step, so time cannot move between the answer and the task going on."""
    clock, alarm, seen = VirtualClock(), Alarm(), []

    def parked_task() -> None:
        seen.append((clock.park(3600, alarm), clock.elapsed()))
        clock.sleep(10)
        seen.append((True, clock.elapsed()))
        clock.leave()

    clock.join()  # this test's thread
    clock.join()  # the task's, before it starts
    task = threading.Thread(target=parked_task)
    task.start()
    clock.sleep(100)  # only the task is left, parked until 3600: time runs to this sleep's end
    clock.ring(alarm)
    threading.Event().wait(0.05)  # the task is busy now: nothing may move while this thread also is
    assert seen == [(True, 100.0)] and clock.elapsed() == 100
    clock.leave()
    task.join(timeout=5)
    assert seen == [(True, 100.0), (True, 110.0)]


def test_a_ring_before_the_park_is_kept() -> None:
    clock, alarm = VirtualClock(), Alarm()
    clock.join()
    clock.ring(alarm)
    assert clock.park(3600, alarm) is True
    assert clock.elapsed() == 0
    assert clock.park(5, alarm) is False and clock.elapsed() == 5  # used once
    clock.leave()


# ---- 1. .waitForTaskToken waits on the virtual clock ----


def test_an_answer_at_100_virtual_seconds_ends_a_one_hour_wait_at_100_in_no_real_time(world: World) -> None:
    """Wait for a Callback with Task Token (connect-to-resource#connect-wait-token): the task pauses "until it
    receives the task token back with a SendTaskSuccess"; its output becomes the task's result. moto waited on
    the real clock, and counted the parked execution busy, so no virtual time could pass."""
    definition, tokens = parked(world, TimeoutSeconds=3600)
    began = time.monotonic()
    arn = start(definition)
    world.clock.sleep(100)  # the watcher's tick
    assert len(tokens) == 1
    sfn().send_task_success(taskToken=tokens[0], output=json.dumps({"associated": True}))
    outcome = ended(world, arn)
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output == {"associated": True}
    assert outcome.virtual_seconds == 100
    assert time.monotonic() - began < REAL_SECONDS


def test_a_function_may_answer_its_own_token_before_the_task_waits(world: World) -> None:
    """A watcher that finds the condition already true answers at once, inside the call that handed it the
    token: the task must not then wait for an answer that already came."""
    world.functions["check"] = lambda event: (
        sfn().send_task_success(taskToken=event["token"], output='{"already": true}') and {"answered": True}
    )
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": function("check"), "Payload": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": 3600,
                "End": True,
            }
        },
    }
    outcome = ended(world, start(definition))
    assert (outcome.status, outcome.output, outcome.virtual_seconds) == ("SUCCEEDED", {"already": True}, 0)


def test_an_aws_sdk_dynamodb_put_item_parks_until_answered(world: World) -> None:
    """AWS SDK integrations support Wait for Callback (integrate-optimized, "AWS SDK integrations": Request
    Response, Wait for Callback). The item carries the token; a watcher reads it and answers."""
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="waits",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    definition = {
        "StartAt": "Park",
        "States": {
            "Park": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem.waitForTaskToken",
                "Parameters": {
                    "TableName": "waits",
                    "Item": {"pk": {"S": "dxcon-1"}, "token": {"S.$": "$$.Task.Token"}},
                },
                "TimeoutSeconds": 900,
                "End": True,
            }
        },
    }
    arn = start(definition)
    world.clock.sleep(60)
    item = boto3.client("dynamodb", region_name=REGION).get_item(TableName="waits", Key={"pk": {"S": "dxcon-1"}})
    sfn().send_task_success(taskToken=item["Item"]["token"]["S"], output='{"state": "associated"}')
    outcome = ended(world, arn)
    assert (outcome.status, outcome.output, outcome.virtual_seconds) == ("SUCCEEDED", {"state": "associated"}, 60)


def test_the_optimized_dynamodb_integration_has_no_callback_pattern(world: World) -> None:
    """Integrating optimized services, table: Amazon DynamoDB, Wait for Callback "Not supported" (only the AWS
    SDK integration above has it). AWS rejects the definition; moto ran a putItem that failed at run time."""
    definition = {
        "StartAt": "Park",
        "States": {
            "Park": {
                "Type": "Task",
                "Resource": "arn:aws:states:::dynamodb:putItem.waitForTaskToken",
                "Parameters": {"TableName": "waits", "Item": {"token": {"S.$": "$$.Task.Token"}}},
                "End": True,
            }
        },
    }
    assert rejected(lambda: create(definition)) == "InvalidDefinition"


def test_no_answer_within_timeout_seconds_is_states_timeout(world: World) -> None:
    """Task state TimeoutSeconds: the task fails with States.Timeout (a TaskTimedOut event); the token is then
    closed: API Reference, TaskTimedOut, "the task associated with the token has already been closed"."""
    definition, tokens = parked(world, TimeoutSeconds=600)
    began = time.monotonic()
    outcome = ended(world, start(definition))
    assert (outcome.status, outcome.error, outcome.virtual_seconds) == ("FAILED", "States.Timeout", 600)
    assert time.monotonic() - began < REAL_SECONDS
    assert rejected(lambda: sfn().send_task_success(taskToken=tokens[0], output="{}")) == "TaskTimedOut"


def test_no_heartbeat_within_heartbeat_seconds_is_states_heartbeat_timeout(world: World) -> None:
    """Error handling, States.HeartbeatTimeout: "A Task state failed to send a heartbeat for a period longer
    than the HeartbeatSeconds value". moto reported States.Timeout."""
    definition, _ = parked(world, TimeoutSeconds=3600, HeartbeatSeconds=60)
    outcome = ended(world, start(definition))
    assert (outcome.status, outcome.error, outcome.virtual_seconds) == ("FAILED", "States.HeartbeatTimeout", 60)


@pytest.mark.parametrize("name", ["States.HeartbeatTimeout", "States.Timeout", "States.ALL"])
def test_a_heartbeat_timeout_is_caught_by_its_name_and_by_states_timeout(world: World, name: str) -> None:
    """States Language spec: States.Timeout is a Task that "failed to heartbeat for a time longer than the
    HeartbeatSeconds value" too, and the narrower States.HeartbeatTimeout came later for Catch and Retry
    (aws-cdk#16084: a Catch on States.Timeout "includes both Task timeout and Task Heartbeat timeout")."""
    definition, _ = parked(world, TimeoutSeconds=3600, HeartbeatSeconds=60, catch=[name])
    outcome = ended(world, start(definition))
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["caught"]["Error"] == "States.HeartbeatTimeout"


@pytest.mark.parametrize("timeout", [{"TimeoutSeconds": 3600}, {}])
def test_each_heartbeat_restarts_the_heartbeat_count(world: World, timeout: dict[str, int]) -> None:
    """SendTaskHeartbeat "resets the Heartbeat clock" (API Reference). Without TimeoutSeconds the task's
    timeout is the Task state's default, 99999999 seconds (Developer Guide, Task workflow state), where moto
    made it 60 whenever HeartbeatSeconds was set."""
    definition, tokens = parked(world, HeartbeatSeconds=60, **timeout)
    arn = start(definition)
    for _ in range(3):
        world.clock.sleep(50)
        sfn().send_task_heartbeat(taskToken=tokens[0])
    world.clock.sleep(50)  # 200 s: more than three heartbeat periods
    sfn().send_task_success(taskToken=tokens[0], output='{"done": true}')
    outcome = ended(world, arn)
    assert (outcome.status, outcome.output, outcome.virtual_seconds) == ("SUCCEEDED", {"done": True}, 200)


def test_heartbeats_that_stop_let_the_task_time_out_one_period_after_the_last(world: World) -> None:
    definition, tokens = parked(world, TimeoutSeconds=3600, HeartbeatSeconds=60)
    arn = start(definition)
    world.clock.sleep(50)
    sfn().send_task_heartbeat(taskToken=tokens[0])
    outcome = ended(world, arn)
    assert (outcome.error, outcome.virtual_seconds) == ("States.HeartbeatTimeout", 110)


def test_timeout_seconds_bounds_the_task_however_often_it_beats(world: World) -> None:
    definition, tokens = parked(world, TimeoutSeconds=120, HeartbeatSeconds=60)
    arn = start(definition)
    for _ in range(2):
        world.clock.sleep(45)
        sfn().send_task_heartbeat(taskToken=tokens[0])
    outcome = ended(world, arn)
    assert (outcome.error, outcome.virtual_seconds) == ("States.Timeout", 120)


def test_a_slow_real_second_is_not_a_virtual_one(world: World) -> None:
    """TimeoutSeconds counts virtual time only: moto also bounded the task's thread by TimeoutSeconds of real
    time, which a long simulation (or a slow machine) could pass while the virtual clock had not."""
    definition, tokens = parked(world, TimeoutSeconds=1)
    world.functions["park"] = lambda event: time.sleep(1.5) or tokens.append(event["token"]) or {}
    arn = start(definition)
    world.clock.sleep(0.5)
    sfn().send_task_success(taskToken=tokens[0], output='{"in_time": true}')
    outcome = ended(world, arn)
    assert (outcome.status, outcome.output) == ("SUCCEEDED", {"in_time": True}), (outcome.error, outcome.cause)


def test_send_task_failure_is_the_tasks_error_and_a_catch_takes_it_by_name(world: World) -> None:
    """Wait for a Callback: SendTaskFailure fails the task with the given error and cause. moto dropped the
    cause (StepFunctionResponse.send_task_failure passed only `error`)."""
    definition, tokens = parked(world, TimeoutSeconds=3600, catch=["Router.Refused"])
    arn = start(definition)
    world.clock.sleep(30)
    sfn().send_task_failure(taskToken=tokens[0], error="Router.Refused", cause="the router has no such CKN")
    outcome = ended(world, arn)
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["caught"] == {"Error": "Router.Refused", "Cause": "the router has no such CKN"}
    assert outcome.virtual_seconds == 30


def test_send_task_failure_uncaught_fails_the_execution_with_that_error_and_cause(world: World) -> None:
    definition, tokens = parked(world, TimeoutSeconds=3600)
    arn = start(definition)
    until_parked(world)
    sfn().send_task_failure(taskToken=tokens[0], error="Router.Refused", cause="no such CKN")
    outcome = ended(world, arn)
    assert (outcome.status, outcome.error, outcome.cause) == ("FAILED", "Router.Refused", "no such CKN")


def test_a_token_is_answered_once_and_an_unknown_one_not_at_all(world: World) -> None:
    """API Reference, SendTaskSuccess errors: InvalidToken, "The provided token is not valid"; TaskTimedOut,
    "The task token has either expired or the task associated with the token has already been closed";
    InvalidOutput, "The provided JSON output data is not valid". moto accepted a second answer and a second
    SendTaskFailure after the execution had ended."""
    definition, tokens = parked(world, TimeoutSeconds=3600)
    arn = start(definition)
    until_parked(world)
    assert rejected(lambda: sfn().send_task_success(taskToken=tokens[0], output="not json")) == "InvalidOutput"
    sfn().send_task_success(taskToken=tokens[0], output='{"first": true}')
    for again in (
        lambda: sfn().send_task_success(taskToken=tokens[0], output='{"second": true}'),
        lambda: sfn().send_task_failure(taskToken=tokens[0], error="Late"),
        lambda: sfn().send_task_heartbeat(taskToken=tokens[0]),
    ):
        assert rejected(again) == "TaskTimedOut"
    assert ended(world, arn).output == {"first": True}
    assert rejected(lambda: sfn().send_task_failure(taskToken=tokens[0], error="Late")) == "TaskTimedOut"
    assert rejected(lambda: sfn().send_task_success(taskToken="no-such-token", output="{}")) == "InvalidToken"


def test_a_retried_callback_task_waits_on_a_new_token(world: World) -> None:
    """A retry is a new attempt of the task (Error handling, Retry); moto kept the token of the failed attempt,
    whose answer then ended the next attempt at once. Here the failed attempt's token is closed."""
    definition, tokens = parked(world, TimeoutSeconds=3600)
    definition["States"]["Wait"]["Retry"] = [{"ErrorEquals": ["Router.Busy"], "IntervalSeconds": 10}]
    arn = start(definition)
    world.clock.sleep(5)
    sfn().send_task_failure(taskToken=tokens[0], error="Router.Busy")
    world.clock.sleep(20)
    assert len(tokens) == 2 and tokens[0] != tokens[1]
    assert rejected(lambda: sfn().send_task_success(taskToken=tokens[0], output="{}")) == "TaskTimedOut"
    sfn().send_task_success(taskToken=tokens[1], output='{"attempt": 2}')
    outcome = ended(world, arn)
    assert (outcome.status, outcome.output, outcome.virtual_seconds) == ("SUCCEEDED", {"attempt": 2}, 25)


def test_many_parked_executions_are_answered_in_one_tick(world: World) -> None:
    """The design's watcher: one tick answers every parked execution; each resumes at that instant."""
    definition, tokens = parked(world, TimeoutSeconds=3600)
    machine = create(definition)
    arns = [sfn().start_execution(stateMachineArn=machine)["executionArn"] for _ in range(20)]
    world.clock.sleep(300)
    for token in tokens:
        sfn().send_task_success(taskToken=token, output='{"ok": true}')
    outcomes = [ended(world, arn) for arn in arns]
    assert {o.status for o in outcomes} == {"SUCCEEDED"}
    assert world.clock.elapsed() == 300


# ---- 2. Express workflows ----

PASS = {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "Parameters": {"echo.$": "$.value"}, "End": True}}}


def waits(seconds: int) -> dict[str, Any]:
    return {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": seconds, "End": True}}}


def test_an_express_state_machine_stays_express_and_runs_with_start_sync_execution(world: World) -> None:
    """API Reference, StartSyncExecution: "Starts a Synchronous Express state machine execution", answering its
    status and output, and billingDetails (billedDurationInMilliseconds). moto ran Express as Standard and had
    no route for the sync-states endpoint (404)."""
    machine = create(PASS, "EXPRESS")
    assert sfn().describe_state_machine(stateMachineArn=machine)["type"] == "EXPRESS"
    result = sfn().start_sync_execution(stateMachineArn=machine, input='{"value": 7}')
    assert (result["status"], json.loads(result["output"])) == ("SUCCEEDED", {"echo": 7})
    assert ":express:" in result["executionArn"]
    assert result["billingDetails"] == {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": 100}


def test_start_sync_execution_is_only_for_express(world: World) -> None:
    """API Reference, StartSyncExecution: "StartSyncExecution is not available for STANDARD workflows"."""
    machine = create(PASS)
    assert rejected(lambda: sfn().start_sync_execution(stateMachineArn=machine)) == "StateMachineTypeNotSupported"


def test_an_express_execution_ends_timed_out_after_five_virtual_minutes(world: World) -> None:
    """Choosing workflow type: an Express execution lasts at most five minutes; StartSyncExecution's status is
    then TIMED_OUT. The run is billed for the five minutes it ran."""
    machine = create(waits(400), "EXPRESS")
    began = time.monotonic()
    result = sfn().start_sync_execution(stateMachineArn=machine)
    assert result["status"] == "TIMED_OUT"
    assert world.clock.elapsed() == 300
    assert result["billingDetails"]["billedDurationInMilliseconds"] == 300_000
    assert time.monotonic() - began < REAL_SECONDS


def test_an_asynchronous_express_execution_times_out_too_and_its_duration_is_recorded(world: World) -> None:
    """Synchronous and Asynchronous Express Workflows: StartExecution starts an asynchronous one, with the same
    five-minute limit. Each Express run's virtual start and stop are kept for pricing (express_runs)."""
    short, long = start(waits(42), machine_type="EXPRESS"), start(waits(400), machine_type="EXPRESS")
    assert ended(world, short).status == "SUCCEEDED"
    assert ended(world, long).status == "TIMED_OUT"
    runs = {run.execution_arn: run for run in express_runs(world.clock)}
    assert (runs[short].started_at, runs[short].stopped_at, runs[short].billed_milliseconds) == (0, 42, 42_000)
    assert (runs[long].stopped_at, runs[long].timed_out, runs[long].billed_milliseconds) == (300, True, 300_000)


@pytest.mark.parametrize("pattern", ["waitForTaskToken", "sync:2"])
def test_an_express_state_machine_offers_request_response_only(world: World, pattern: str) -> None:
    """Integrating optimized services: "Express Workflows only support Request Response integrations"."""
    resource = (
        "arn:aws:states:::lambda:invoke.waitForTaskToken"
        if pattern == "waitForTaskToken"
        else "arn:aws:states:::states:startExecution.sync:2"
    )
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    assert rejected(lambda: create(definition, "EXPRESS")) == "InvalidDefinition"


# ---- 3. aws-sdk parameters and states:startExecution.sync:2 ----


def test_aws_sdk_parameters_in_pascal_case_reach_a_camel_case_api(world: World) -> None:
    """AWS SDK integrations: "Parameters in Step Functions are expressed in PascalCase, even if the native
    service API is in camelCase" (their example: StateMachineArn); the result comes back in PascalCase too.
    moto passed `StateMachineArn` to botocore, which wants `stateMachineArn`."""
    target = create(PASS, "EXPRESS")
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:describeStateMachine",
                "Parameters": {"StateMachineArn.$": "$.machine"},
                "ResultSelector": {"name.$": "$.Name", "type.$": "$.Type"},
                "End": True,
            }
        },
    }
    outcome = ended(world, start(definition, {"machine": target}))
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output == {"name": target.rsplit(":", 1)[-1], "type": "EXPRESS"}


def test_aws_sdk_dynamodb_get_item_and_its_errors_by_their_documented_names(world: World) -> None:
    """The brief's example, `aws-sdk:dynamodb:getItem` with TableName and Key; and AWS SDK integrations' error
    names, ServiceName.ErrorName (`DynamoDb.ConditionalCheckFailedException`), where moto said
    `DynamoDb.DynamoDbException` for every error."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="locks", Item={"pk": {"S": "dxcon-1"}, "owner": {"S": "run-1"}})
    definition = {
        "StartAt": "Read",
        "States": {
            "Read": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:getItem",
                "Parameters": {"TableName": "locks", "Key": {"pk": {"S": "dxcon-1"}}},
                "ResultSelector": {"owner.$": "$.Item.owner.S"},
                "ResultPath": "$.read",
                "Next": "Take",
            },
            "Take": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
                "Parameters": {
                    "TableName": "locks",
                    "Item": {"pk": {"S": "dxcon-1"}, "owner": {"S": "run-2"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                },
                "Catch": [
                    {
                        "ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"],
                        "ResultPath": "$.taken",
                        "Next": "Held",
                    }
                ],
                "End": True,
            },
            "Held": {"Type": "Pass", "End": True},
        },
    }
    outcome = ended(world, start(definition))
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["read"] == {"owner": "run-1"}
    assert outcome.output["taken"]["Error"] == "DynamoDb.ConditionalCheckFailedException"


def parent_of(child: str, **task: Any) -> dict[str, Any]:
    return {
        "StartAt": "Child",
        "States": {
            "Child": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child, "Input": {"seconds.$": "$.seconds"}},
                "End": True,
                **task,
            }
        },
    }


CHILD = {
    "StartAt": "Pause",
    "States": {
        "Pause": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"waited.$": "$.seconds"}, "End": True},
    },
}


def test_start_execution_sync_2_waits_for_the_child_on_the_virtual_clock(world: World) -> None:
    """Start a new AWS Step Functions state machine execution (connect-stepfunctions): `.sync:2` waits for the
    child and returns its description with Output as JSON, in PascalCase. A Standard parent may run an Express
    child this way (DOMAIN.md). moto passed `StateMachineArn` to botocore as is (States.Runtime), and would
    have polled every 0.5 real seconds."""
    child = create(CHILD, "EXPRESS")
    began = time.monotonic()
    outcome = ended(world, start(parent_of(child), {"seconds": 240}))
    assert outcome.status == "SUCCEEDED", (outcome.error, outcome.cause)
    assert outcome.output["Status"] == "SUCCEEDED"
    assert outcome.output["Output"] == {"waited": 240}
    assert outcome.output["StateMachineArn"] == child
    assert isinstance(outcome.output["StartDate"], int)  # epoch milliseconds: state data is JSON
    assert outcome.virtual_seconds == 240
    assert time.monotonic() - began < REAL_SECONDS


def test_start_execution_sync_2_times_out_at_the_tasks_timeout_seconds(world: World) -> None:
    child = create(CHILD)
    outcome = ended(world, start(parent_of(child, TimeoutSeconds=60), {"seconds": 1800}))
    assert (outcome.status, outcome.error) == ("FAILED", "States.Timeout")
    assert outcome.states == ["Child"]


def test_start_execution_sync_2_reports_a_failed_child_as_task_failed(world: World) -> None:
    """connect-stepfunctions: a child that fails fails the parent's task (States.TaskFailed)."""
    child = create({"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Child.Failed", "Cause": "x"}}})
    definition = parent_of(child)
    definition["States"]["Child"]["Parameters"]["Input"] = {}
    outcome = ended(world, start(definition))
    assert (outcome.status, outcome.error) == ("FAILED", "States.TaskFailed")
