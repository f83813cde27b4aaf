"""The rotation state machine: states, retries and catches.

Every wait (association, removal, restore, lock, router) parks the execution on a condition the watcher answers
(`_parked`), with a timeout; no state loops on a timer. The settings bound how many events a wait can write
(infra/settings.py), so no execution can run away from the 25,000-event history limit.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from .settings import PARKED_HEARTBEAT_SECONDS, SLOW_CONDITIONS, SLOW_PARKED_HEARTBEAT_SECONDS, DeploymentSettings

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
SAFETY_NET_STEPS = ("CleanUp", "WaitForRemoval", "RestorePreviousKey", "WaitForRestore")
SAFETY_NET_RUNTIME_ATTEMPTS = 10
PARKED_TIMEOUT_MARGIN_SECONDS = 300


class RotationWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: DeploymentSettings,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self._functions = functions

        failed = sfn.Fail(self, "RotationFailed", error_path="$.error", cause_path="$.cause")
        report_failure = self._step("ReportFailure", "report_failure").next(failed)  # and notifies

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

        # Report notifies (a failed notification does not change the outcome) and is the last state.
        rotate = rotate_targets.next(self._step("Report", "report"))
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
        """One target, under its lock: begin (lock, decide, associate), wait for `associated`, clean up (tighten,
        remove old keys), wait until they are gone and encryption settled, restore if it went down. Every way out
        releases the lock; an unexpected error on any step is caught for that."""
        target_failed = sfn.Fail(self, "TargetFailed", error_path="$.failure.error", cause_path="$.failure.cause")
        failed = self._step("ReleaseLockAfterFailure", "release_lock", payload=self._with_execution_id())
        failed.next(target_failed)
        done = self._step("ReleaseLock", "release_lock", payload=self._with_execution_id())
        # TargetBusy and TargetAborted: no lock is held (never taken, or given back by Begin).
        busy = sfn.Fail(self, "TargetBusy", error_path="$.failure.error", cause_path="$.failure.cause")
        aborted = sfn.Fail(self, "TargetAborted", error_path="$.failure.error", cause_path="$.failure.cause")

        def step(state_name: str, name: str) -> tasks.LambdaInvoke:
            return self._step(state_name, name, on_error=failed)

        # The safety net: the restore step re-associates what is missing, then parks until the watcher sees the keys
        # back and encryption settled, or sends it back to the step (a key to associate again).
        restore = step("RestorePreviousKey", "restore_previous")
        restore_timed_out = self._failure(
            "RestoreNeverSettled",
            "EncryptionDown",
            "No watcher answered the restore within its timeout: encryption may still be down. Check every port's "
            "encryption status and load the new key on the peer router now.",
        )
        restore_timed_out.next(failed)
        wait_for_restore = self._parked(
            "WaitForRestore", "restored", settings.restore_seconds, restore_timed_out, failed
        )
        wait_for_restore.next(
            sfn.Choice(self, "RestoreGoesAgain?")
            .when(sfn.Condition.string_equals("$.status", "restoring"), restore)
            .otherwise(failed)  # restored (reverted), restoreTimedOut, targetGone: with the failure
        )
        restore.next(
            sfn.Choice(self, "EncryptionBack?")
            .when(sfn.Condition.string_equals("$.status", "waitingForRestore"), wait_for_restore)
            .otherwise(failed)  # unrestorable
        )
        # The removal wait: parked until the watcher sees the old keys gone and encryption settled, or down.
        removal_timed_out = self._failure(
            "RemovalNeverSettled",
            "DisassociationTimeout",
            "No watcher answered the removal wait within its timeout; the new key is associated. Check every port's "
            "encryption status, then re-run to confirm.",
        )
        removal_timed_out.next(failed)
        # Removed: on to the lock's release; encryption down: the restore (diverted); timed out, target gone: failed.
        wait_for_removal = self._parked(
            "WaitForRemoval",
            "removed",
            settings.removal_seconds,
            removal_timed_out,
            failed,
            diverted=("EncryptionDown", restore),
        )
        wait_for_removal.next(done)
        clean_up = step("CleanUp", "clean_up").next(wait_for_removal)

        # The association wait: parked until the watcher sees the new key associated (or gone, or out of time).
        roll_back = step("RollBackNewKey", "roll_back")
        roll_back.next(failed)
        # Associated: on to the clean-up; timed out, dropped, aborted by an operator, target gone: diverted to the
        # roll-back (the new key goes, the old ones stay).
        wait_for_association = self._parked(
            "WaitForAssociation",
            "associated",
            settings.association_timeout_seconds,
            roll_back,
            failed,
            diverted=("KeyNotAssociated", roll_back),
        )
        wait_for_association.next(clean_up)

        # The router side (routerConfirmation callback): ask the router automation, then park until it confirms
        # (the confirmation answers at once; the watcher at the deadline, or on an abort); nothing is tightened or
        # removed before. No confirmation in time, or an abort: the new key goes.
        router_timed_out = sfn.Pass(
            self, "RouterNeverConfirmed", result=sfn.Result.from_string("routerNotConfirmed"), result_path="$.status"
        )
        router_timed_out.next(roll_back)
        wait_for_router = self._parked(
            "WaitForRouter", "routerConfirmed", settings.router_confirmation_timeout_seconds, router_timed_out, failed
        )
        wait_for_router.next(
            sfn.Choice(self, "RouterConfirmed?")
            .when(sfn.Condition.string_equals("$.status", "routerConfirmed"), wait_for_association)
            .otherwise(roll_back)  # routerNotConfirmed, aborted
        )
        ask_router = step("AskRouter", "ask_router").next(wait_for_router)
        callback = sfn.Condition.string_equals("$.routerConfirmation", "callback")

        # Begin: take the lock (or wait for it: the watcher takes it for this execution once it is free, at most as
        # long as the holder's lock can live), decide afresh under it, and associate the new key if that is the
        # decision.
        begin = self._step("Begin", "begin", payload=self._with_execution_id(), on_error=failed)
        where_to_start = sfn.Choice(self, "WhereToStart?")
        lock_timed_out = self._failure(
            "LockNeverFreed",
            "TargetBusy",
            "Another execution held the target's lock for as long as a lock can live; nothing was changed. Check "
            "that execution, then start this rotation again.",
        )
        lock_timed_out.next(busy)
        wait_for_lock = self._parked("WaitForLock", "lockFree", settings.lock_ttl_seconds, lock_timed_out, failed)
        wait_for_lock.next(
            sfn.Choice(self, "LockTaken?")
            .when(sfn.Condition.string_equals("$.status", "locked"), begin)
            .when(sfn.Condition.string_equals("$.status", "aborted"), aborted)  # nothing held, nothing changed
            .otherwise(busy)
        )
        (
            where_to_start.when(sfn.Condition.string_equals("$.status", "waitingForLock"), wait_for_lock)
            .when(sfn.Condition.string_equals("$.status", "aborted"), aborted)  # an operator's abort, nothing held
            .when(sfn.Condition.string_equals("$.action", "AlreadyCurrent"), done)
            .when(sfn.Condition.string_equals("$.action", "Superseded"), done)
            .when(sfn.Condition.and_(sfn.Condition.string_equals("$.action", "CleanUp"), callback), ask_router)
            .when(sfn.Condition.string_equals("$.action", "CleanUp"), clean_up)
            .when(callback, ask_router)
            .otherwise(wait_for_association)  # associated by Begin, or an earlier run's key still associating
        )
        begin.next(where_to_start)
        return begin

    @staticmethod
    def _with_execution_id() -> sfn.TaskInput:
        """The state data and the execution's id: the lock's owner, whether or not the data says it holds it."""
        execution_id: str = sfn.JsonPath.string_at("$$.Execution.Id")
        payload: sfn.TaskInput = sfn.TaskInput.from_object(
            {"item": sfn.JsonPath.entire_payload, "executionId": execution_id}
        )
        return payload

    def _parked(
        self,
        state_name: str,
        condition: str,
        timeout_seconds: int,
        on_timeout: sfn.IChainable,
        failed: sfn.IChainable,
        diverted: tuple[str, sfn.IChainable] | None = None,
    ) -> tasks.LambdaInvoke:
        """A wait: the execution parks on `condition` and the watcher answers with the state data once it resolved
        (at the latest at the timeout, as timedOut). A task whose watcher stopped answering misses its heartbeat and
        parks again, which starts a new watcher; the task's own timeout is a last resort past the watcher's."""
        heartbeat = SLOW_PARKED_HEARTBEAT_SECONDS if condition in SLOW_CONDITIONS else PARKED_HEARTBEAT_SECONDS
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
            heartbeat_timeout=sfn.Timeout.duration(Duration.seconds(heartbeat)),
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
        if diverted is not None:  # the wait ended otherwise than its usual way: its answer under $.answer
            error, then = diverted
            task.add_catch(then, errors=[error], result_path="$.answer")
        task.add_catch(failed, errors=["States.ALL"], result_path="$.caught")
        return task

    def _failure(self, state_name: str, error: str, cause: str) -> sfn.Pass:
        """A Pass that sets $.failure, for a way out that no Lambda step describes (a parked task's last-resort
        timeout)."""
        return sfn.Pass(
            self,
            state_name,
            result=sfn.Result.from_object({"error": error, "cause": cause}),
            result_path="$.failure",
        )

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
