"""The rotation state machine: states, retries, catches and loop bounds.

Every loop is a Wait -> check Lambda -> Choice round whose check counts attempts against a bound
computed from the settings, so no execution can run away from the 25,000-event history limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .settings import DeploymentSettings

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.TooManyRequestsException",
]
# A crashed or timed-out invocation may have done its work or not; every step is safe to run again.
LAMBDA_RUNTIME_ERRORS = ["Sandbox.Timedout", "Runtime.ExitError", "Lambda.Unknown"]
# Handlers raise these names for what the SDK's own retries did not absorb (functions/errors.py).
TRANSIENT_ERRORS = [
    "ThrottlingException",
    "TooManyRequestsException",
    "DirectConnectServerException",
    "DirectConnectBusy",
]
# (errors, first interval in seconds, attempts): exponential backoff (x2, at most 120 s) with full jitter.
RETRIES = [(LAMBDA_SERVICE_ERRORS, 2, 6), (LAMBDA_RUNTIME_ERRORS, 5, 2), (TRANSIENT_ERRORS, 5, 10)]
# Once old keys are being removed, giving up on a crashed step can leave a link without encryption: the
# removal, its check and the restore retry a crash or time-out as long as a transient error.
SAFETY_NET_STEPS = ("RemoveOldKeys", "WaitForRemoval", "RestorePreviousKey")
SAFETY_NET_RUNTIME_ATTEMPTS = 10
POLL_SECONDS = sfn.WaitTime.seconds_path("$.poll.intervalSeconds")
# A parked task misses its heartbeat when no watcher answers for it (the watcher beats every 20 s).
PARKED_HEARTBEAT_SECONDS = 60
PARKED_TIMEOUT_MARGIN_SECONDS = 300


class RotationWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: DeploymentSettings,
        functions: Mapping[str, lambda_.IFunction],
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions

        failed = sfn.Fail(self, "RotationFailed", error_path="$.error", cause_path="$.cause")
        report_failure = (
            self._step("ReportFailure", "report_failure")
            .next(self._notify(topic, "NotifyFailure", "MACsec key rotation failed", failed))
            .next(failed)
        )

        prepare = self._step("Prepare", "prepare")
        prepare.add_catch(report_failure, errors=["States.ALL"], result_path="$.failure")

        rotate_targets = sfn.Map(
            self,
            "RotateEachTarget",
            items_path="$.targets",
            max_concurrency=settings.max_concurrent_targets,
            result_path="$.results",
        )
        rotate_targets.item_processor(self._target_rotation(settings))
        rotate_targets.add_catch(report_failure, errors=["States.ALL"], result_path="$.failure")

        succeeded = sfn.Succeed(self, "RotationSucceeded")
        rotate = (
            rotate_targets.next(self._step("Report", "report"))
            .next(self._notify(topic, "NotifyResult", "MACsec key rotation finished", succeeded))
            .next(succeeded)
        )
        # A dry run ("dryRun": true): Prepare's plan, then each target's decision, as the output; no lock is
        # taken and nothing changes. Prepare always sets dryRun, so the Choice never reads a missing field.
        plan = self._step("Plan", "plan")
        plan.add_catch(report_failure, errors=["States.ALL"], result_path="$.failure")
        plan.next(sfn.Succeed(self, "DryRunDone"))
        definition = prepare.next(
            sfn.Choice(self, "DryRun?").when(sfn.Condition.boolean_equals("$.dryRun", True), plan).otherwise(rotate)
        )
        self.log_group = logs.LogGroup(
            self, "ExecutionLogs", removal_policy=RemovalPolicy.RETAIN, retention=logs.RetentionDays.THREE_MONTHS
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(12),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )

    def _target_rotation(self, settings: DeploymentSettings) -> sfn.IChainable:
        """One target, under its lock: associate, wait for `associated`, tighten, remove old keys, check,
        restore. Every way out releases the lock; an unexpected error on any step is caught for that."""
        target_failed = sfn.Fail(self, "TargetFailed", error_path="$.failure.error", cause_path="$.failure.cause")
        failed = self._step("ReleaseLockAfterFailure", "release_lock")
        failed.next(target_failed)
        done = self._step("ReleaseLock", "release_lock").next(sfn.Pass(self, "TargetDone"))

        def step(state_name: str, name: str) -> tasks.LambdaInvoke:
            return self._step(state_name, name, on_error=failed)

        # Removal loop and its safety net: the restore step re-associates what is missing and checks, in a loop.
        wait_for_restore = sfn.Wait(self, "WaitForRestore", time=POLL_SECONDS)
        restore = step("RestorePreviousKey", "restore_previous")
        wait_for_restore.next(restore)
        restore.next(
            sfn.Choice(self, "EncryptionBack?")
            .when(sfn.Condition.string_equals("$.status", "restoring"), wait_for_restore)
            .otherwise(failed)
        )
        # The removal wait: parked until the watcher sees the old keys gone and encryption settled, or down.
        removal_timed_out = sfn.Pass(
            self,
            "RemovalNeverSettled",
            result=sfn.Result.from_object(
                {
                    "error": "DisassociationTimeout",
                    "cause": "No watcher answered the removal wait within its timeout; the new key is associated. "
                    "Check every port's encryption status, then re-run to confirm.",
                }
            ),
            result_path="$.failure",
        )
        removal_timed_out.next(failed)
        wait_for_removal = self._parked(
            "WaitForRemoval", "removed", settings.removal_seconds, removal_timed_out, failed
        )
        wait_for_removal.next(
            sfn.Choice(self, "OldKeysGone?")
            .when(sfn.Condition.string_equals("$.status", "removed"), done)
            .when(sfn.Condition.string_equals("$.status", "encryptionDown"), restore)
            .otherwise(failed)  # timedOut, targetGone: with the failure
        )
        clean_up = (
            step("TightenEncryption", "tighten_encryption")
            .next(step("RemoveOldKeys", "remove_old_keys"))
            .next(wait_for_removal)
        )

        # The association wait: parked until the watcher sees the new key associated (or gone, or out of time).
        roll_back = step("RollBackNewKey", "roll_back")
        roll_back.next(failed)
        wait_for_association = self._parked(
            "WaitForAssociation", "associated", settings.association_timeout_seconds, roll_back, failed
        )
        wait_for_association.next(
            sfn.Choice(self, "NewKeyAssociated?")
            .when(sfn.Condition.string_equals("$.status", "associated"), clean_up)
            # timedOut, dropped, or aborted by an operator: the new key goes, the old ones stay.
            .otherwise(roll_back)
        )

        # The router side (routerConfirmation callback): ask the router automation, then park until it confirms;
        # nothing is tightened or removed before. No confirmation in time, or an abort: the new key goes.
        wait_for_router = self._router_round(settings, failed)
        wait_for_router.next(
            sfn.Choice(self, "RouterConfirmed?")
            .when(sfn.Condition.string_equals("$.status", "routerConfirmed"), wait_for_association)
            .otherwise(roll_back)  # routerNotConfirmed, aborted
        )
        ask_router = step("AskRouter", "ask_router").next(wait_for_router)
        callback = sfn.Condition.string_equals("$.routerConfirmation", "callback")
        router_then_association = (
            sfn.Choice(self, "AskRouter?").when(callback, ask_router).otherwise(wait_for_association)
        )
        associate = step("AssociateNewKey", "associate").next(router_then_association)

        where_to_start = (
            sfn.Choice(self, "WhereToStart?")
            .when(sfn.Condition.string_equals("$.status", "aborted"), failed)  # an operator's abort, lock held
            .when(sfn.Condition.string_equals("$.action", "AlreadyCurrent"), done)
            .when(sfn.Condition.string_equals("$.action", "Superseded"), done)
            .when(sfn.Condition.and_(sfn.Condition.string_equals("$.action", "CleanUp"), callback), ask_router)
            .when(sfn.Condition.string_equals("$.action", "CleanUp"), clean_up)
            .when(sfn.Condition.string_equals("$.action", "AwaitAssociation"), router_then_association)
            .otherwise(associate)
        )

        # The lock: wait (bounded) while another execution rotates this target, then decide afresh.
        acquire = self._step(
            "AcquireLock",
            "acquire_lock",
            payload=sfn.TaskInput.from_object(
                {"item": sfn.JsonPath.entire_payload, "executionId": sfn.JsonPath.string_at("$$.Execution.Id")}
            ),
        )  # no catch: nothing is held yet, an error fails the target as it is
        wait_for_lock = sfn.Wait(self, "WaitForLock", time=POLL_SECONDS)
        wait_for_lock.next(acquire)
        acquire.next(
            sfn.Choice(self, "LockAcquired?")
            .when(
                sfn.Condition.string_equals("$.status", "locked"),
                step("PlanTarget", "plan_target").next(where_to_start),
            )
            .when(sfn.Condition.string_equals("$.status", "waitingForLock"), wait_for_lock)
            # An operator's abort while waiting: nothing held, nothing changed.
            .when(
                sfn.Condition.string_equals("$.status", "aborted"),
                sfn.Fail(self, "TargetAborted", error_path="$.failure.error", cause_path="$.failure.cause"),
            )
            .otherwise(sfn.Fail(self, "TargetBusy", error_path="$.failure.error", cause_path="$.failure.cause"))
        )
        return acquire

    def _parked(
        self,
        state_name: str,
        condition: str,
        timeout_seconds: int,
        on_timeout: sfn.IChainable,
        failed: sfn.IChainable,
    ) -> tasks.LambdaInvoke:
        """A wait: the execution parks on `condition` and the watcher answers with the state data once it resolved
        (at the latest at the timeout, as timedOut). A task whose watcher stopped answering misses its heartbeat and
        parks again, which starts a new watcher; the task's own timeout is a last resort past the watcher's."""
        task = tasks.LambdaInvoke(
            self,
            state_name,
            lambda_function=self._functions["park"],
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "condition": condition,
                    "timeoutSeconds": timeout_seconds,
                    "taskToken": sfn.JsonPath.task_token,
                    "item": sfn.JsonPath.entire_payload,
                }
            ),
            heartbeat_timeout=sfn.Timeout.duration(Duration.seconds(PARKED_HEARTBEAT_SECONDS)),
            task_timeout=sfn.Timeout.duration(Duration.seconds(timeout_seconds + PARKED_TIMEOUT_MARGIN_SECONDS)),
            retry_on_service_exceptions=False,
        )
        self._retry(task, state_name)
        park_again = sfn.Pass(self, f"{state_name}Again")
        park_again.next(task)
        task.add_catch(park_again, errors=["States.HeartbeatTimeout"], result_path=sfn.JsonPath.DISCARD)
        timed_out = sfn.Pass(
            self, f"{state_name}TimedOut", result=sfn.Result.from_string("timedOut"), result_path="$.status"
        )
        timed_out.next(on_timeout)
        task.add_catch(timed_out, errors=["States.Timeout"], result_path=sfn.JsonPath.DISCARD)
        task.add_catch(failed, errors=["States.ALL"], result_path="$.caught")
        return task

    def _router_round(self, settings: DeploymentSettings, failed: sfn.IChainable) -> tasks.LambdaInvoke:
        """One round of the router wait: the function parks the task token (or answers it at once) and the answer
        (routerConfirmed, routerNotConfirmed, aborted) becomes $.status. A round that times out starts the next,
        which renews the lock and checks the deadline; so the wait is bounded by routerConfirmationTimeoutSeconds."""
        task = tasks.LambdaInvoke(
            self,
            "WaitForRouter",
            lambda_function=self._functions["wait_for_router"],
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {"taskToken": sfn.JsonPath.task_token, "item": sfn.JsonPath.entire_payload}
            ),
            result_path="$.status",
            task_timeout=sfn.Timeout.duration(Duration.seconds(settings.router_round_seconds)),
            retry_on_service_exceptions=False,
        )
        self._retry(task, "WaitForRouter")
        # (through a Pass state: a Catch that names its own state is valid ASL, but moto 5.2.5 then follows the
        # state's Next instead)
        next_round = sfn.Pass(self, "NextRouterRound")
        next_round.next(task)
        task.add_catch(next_round, errors=["States.Timeout"], result_path=sfn.JsonPath.DISCARD)
        task.add_catch(failed, errors=["States.ALL"], result_path="$.caught")
        return task

    def _notify(self, topic: sns.ITopic, state_name: str, subject: str, after: sfn.State) -> tasks.SnsPublish:
        """Publish the state (results, or error and cause: identifiers only) to the topic. A notification
        that cannot be sent must not change the rotation's outcome, so its failure is caught."""
        publish = tasks.SnsPublish(
            self,
            state_name,
            topic=topic,
            subject=subject,
            message=sfn.TaskInput.from_json_path_at("$"),
            result_path=sfn.JsonPath.DISCARD,
        )
        publish.add_retry(
            errors=["States.ALL"],
            interval=Duration.seconds(2),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        publish.add_catch(after, errors=["States.ALL"], result_path=sfn.JsonPath.DISCARD)
        return publish

    @staticmethod
    def _retry(task: tasks.LambdaInvoke, state_name: str) -> None:
        safety_net = state_name in SAFETY_NET_STEPS
        for errors, first_interval, attempts in RETRIES:
            crash_in_safety_net = safety_net and errors is LAMBDA_RUNTIME_ERRORS
            task.add_retry(
                errors=errors,
                interval=Duration.seconds(first_interval),
                max_attempts=SAFETY_NET_RUNTIME_ATTEMPTS if crash_in_safety_net else attempts,
                backoff_rate=2,
                max_delay=Duration.seconds(120),
                jitter_strategy=sfn.JitterType.FULL,
            )

    def _step(
        self,
        state_name: str,
        step: str,
        payload: sfn.TaskInput | None = None,
        on_error: sfn.IChainable | None = None,
    ) -> tasks.LambdaInvoke:
        """A Lambda step with the standard retries; an error that survives them goes to `on_error` (with
        the caught error under $.caught) when given: inside an iteration, to release the lock."""
        task = tasks.LambdaInvoke(
            self,
            state_name,
            lambda_function=self._functions[step],
            payload=payload,
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        self._retry(task, state_name)
        if on_error is not None:
            task.add_catch(on_error, errors=["States.ALL"], result_path="$.caught")
        return task
