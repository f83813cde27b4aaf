"""The watcher: an Express workflow (Tick, then Wait watcherTickSeconds, while anything waits) that one execution
at a time runs under a lease, started by the first task that parks and by its own predecessor.

Express rather than a Lambda function that sleeps: a watcher spends nearly all its life waiting between ticks, and
an Express workflow's waiting is billed at 64 MB (about $1.04e-6 a second) where a sleeping 128 MB arm64 function
costs $1.67e-6 a second; each tick's Lambda runs a fraction of a second. Express runs at most five minutes, so a
watcher hands over to a successor after four.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .settings import DeploymentSettings


def watcher_name(settings: DeploymentSettings) -> str:
    return f"{settings.stack_name}-watcher"


def watcher_arn(scope: Construct, settings: DeploymentSettings) -> str:
    """Built from the name (the Tick function starts its own successor: a reference to the resource would be a
    cycle)."""
    arn: str = Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=watcher_name(settings),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return arn


class Watcher(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, settings: DeploymentSettings, tick: lambda_.IFunction
    ) -> None:
        super().__init__(scope, construct_id)
        run = tasks.LambdaInvoke(
            self,
            "Tick",
            lambda_function=tick,
            payload=sfn.TaskInput.from_object(
                {
                    "watcher": sfn.JsonPath.string_at("$$.Execution.Name"),
                    # when its starter started it (epoch seconds), by the clock the functions share
                    "startedAt": sfn.JsonPath.number_at("$$.Execution.Input.startedAt"),
                    # until when this watcher holds its lease, as its last tick wrote it (0 at first: take it)
                    "leaseUntil": sfn.JsonPath.number_at("$.leaseUntil"),
                    # when it last heartbeat every parked task (0 at first: at once)
                    "beatenAt": sfn.JsonPath.number_at("$.beatenAt"),
                }
            ),
            payload_response_only=True,
            retry_on_service_exceptions=True,
        )
        wait = sfn.Wait(self, "UntilNextTick", time=sfn.WaitTime.seconds_path("$.waitSeconds"))
        wait.next(run)
        run.next(
            sfn.Choice(self, "StillWatching?")
            .when(sfn.Condition.string_equals("$.next", "tick"), wait)
            .otherwise(sfn.Succeed(self, "Done"))
        )
        self.log_group = logs.LogGroup(
            self, "Logs", removal_policy=RemovalPolicy.RETAIN, retention=logs.RetentionDays.THREE_MONTHS
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=watcher_name(settings),
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_chainable(run),
            timeout=Duration.minutes(5),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ERROR),
        )
