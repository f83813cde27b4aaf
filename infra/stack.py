"""The stack: functions, workflow, triggers, managed secrets and monitoring, wired together."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .functions import StepFunctions
from .monitoring import Monitoring, Notifications
from .permissions import (
    allow_key_readers_to_decrypt,
    allow_table_key_use,
    grant_step_permissions,
    key_reading_roles,
)
from .router import RouterConfirmations
from .secrets import ManagedSecrets
from .settings import DeploymentSettings
from .triggers import RotationTriggers
from .watcher import Watcher, watcher_arn
from .workflow import RotationWorkflow

# step module under functions/macsec_rotation/handlers -> what it does (the function's description)
STEPS = {
    "prepare": "Resolve secret, version and targets; decide what to do",
    "begin": "Take a target's lock (or wait for it), decide again under it, associate the new CKN/CAK",
    "roll_back": "Remove a new key that never became associated",
    "clean_up": "Tighten encryptionMode when every port is encrypted, then disassociate superseded keys",
    "restore_previous": "Re-associate the keys of the plan that are missing, after encryption went down",
    "report": "Summarise a finished rotation",
    "report_failure": "Turn a caught error into a clean error and cause",
    "plan": "Dry run: what the rotation would do on each target, changing nothing",
    "release_lock": "Give a target's lock back",
    "park": "Park the execution on a condition the watcher answers",
    "ask_router": "Tell the router automation the new key is on Direct Connect",
}
LOCK_STEPS = ("begin", "release_lock")
# The steps that call Direct Connect: each call waits for its turn in the stack's budget (dxRequestsPerSecond).
PACED_STEPS = ("prepare", "begin", "roll_back", "clean_up", "restore_previous", "plan", "drift_check")
# The steps that read or write the parked waits and the confirmations (the waits table).
WAITS_STEPS = ("park", "roll_back")
# The steps that look for an operator's abort request (an item of the lock table) at the safe points.
ABORT_CHECK_STEPS = ("begin",)


class MacsecRotationStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, settings: DeploymentSettings, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        key = kms.Key(
            self,
            "Key",
            description="MACsec key rotation: managed secrets and notifications",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        factory = StepFunctions(self, "Functions", settings)
        locks = dynamodb.TableV2(
            self,
            "TargetLocks",
            partition_key=dynamodb.Attribute(name="target", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiresAt",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,  # only short-lived locks live here
        )
        pace = _pace_table(self)
        pace_environment = {
            "PACE_TABLE_NAME": pace.table_name,
            "DX_REQUESTS_PER_SECOND": f"{settings.step_requests_per_second:g}",
        }
        lock_environment = {
            "LOCK_TABLE_NAME": locks.table_name,
            "LOCK_TTL_SECONDS": str(settings.lock_ttl_seconds),
        }
        abort_environment = {"LOCK_TABLE_NAME": locks.table_name}
        # Parked router waits hold task tokens (whoever has one can answer the task): encrypted with the stack's key.
        # (a Table: TableV2's customer-managed key needs a stack with a concrete Region)
        waits = dynamodb.Table(
            self,
            "Waits",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiresAt",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,  # waits and confirmations live hours, at most days
        )
        waits_environment = {"WAITS_TABLE_NAME": waits.table_name}
        watcher_environment = {**waits_environment, "WATCHER_STATE_MACHINE_ARN": watcher_arn(self, settings)}

        def environment(step: str) -> dict[str, str] | None:
            paced = pace_environment if step in PACED_STEPS else {}
            if step == "park":  # renews the lock before a router wait (which may outlast the lock's time to live)
                return {**watcher_environment, **lock_environment}
            if step in WAITS_STEPS:
                return {**(lock_environment if step in LOCK_STEPS else {}), **waits_environment, **paced}
            if step in LOCK_STEPS:
                return {**lock_environment, **paced}
            return {**(abort_environment if step in ABORT_CHECK_STEPS else {}), **paced} or None

        functions = {
            step: factory.function(step, description, environment(step)) for step, description in STEPS.items()
        }
        for step in LOCK_STEPS:
            locks.grant(functions[step], "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem")
        for step in set(ABORT_CHECK_STEPS) - set(LOCK_STEPS):
            locks.grant(functions[step], "dynamodb:GetItem")  # reads the abort request, nothing else
        waits.grant(functions["roll_back"], "dynamodb:DeleteItem")  # forgets the confirmation of a rolled-back key
        notifications = Notifications(self, "Notifications", settings, key)
        for step in ("report", "report_failure"):  # each publishes the rotation's result
            _allow_to_notify(functions[step], notifications)
        workflow = RotationWorkflow(self, "Workflow", settings, functions)
        self.workflow_functions = dict(functions)  # the steps the state machine invokes
        self.state_machine = workflow.state_machine
        self.lock_table = locks

        functions["intake"] = factory.function(
            "intake",
            "Start one rotation per secret version from Secrets Manager events",
            environment={"STATE_MACHINE_ARN": self.state_machine.state_machine_arn},
        )
        self.state_machine.grant_start_execution(functions["intake"])
        functions["rotate_secret"] = factory.function("rotate_secret", "Secrets Manager rotation: a fresh CKN/CAK")
        functions["drift_check"] = factory.function(
            "drift_check",
            "Compare every managed target with its secret's current key",
            environment={"SECRET_PREFIX": settings.secret_prefix, **pace_environment},
        )
        for step in PACED_STEPS:  # takes a slot (an update); reads how long the queue is when it gives way
            pace.grant(functions[step], "dynamodb:UpdateItem", "dynamodb:GetItem")
        functions["router_confirmed"] = factory.function(
            "router_confirmed", "Answer the rotation waiting for a router's confirmation", waits_environment
        )
        # keeps the confirmation, and answers the rotation parked for it (found by a scan, settled by a delete)
        waits.grant(functions["router_confirmed"], "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:DeleteItem")
        # parks (an update that keeps a re-park's start and deadline), takes the watcher's lease (a put), and looks
        # for a router confirmation that came before the wait (a get: then a watcher must look at once)
        waits.grant(functions["park"], "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem")
        locks.grant(functions["park"], "dynamodb:PutItem", "dynamodb:GetItem")  # renews the lock
        self._add_watcher(factory, functions, settings, waits, locks, watcher_environment)
        allow_table_key_use(self, key, [functions[s] for s in ("roll_back", "router_confirmed", "park", "watch")])
        grant_step_permissions(self, functions, settings, key)
        self.functions = functions

        if settings.managed_targets:  # keyReaders read the secrets the stack creates, encrypted with its key
            allow_key_readers_to_decrypt(self, key, settings.key_readers)

        triggers = RotationTriggers(self, "Triggers", settings, functions["intake"])
        self.router = RouterConfirmations(
            self, "Router", settings, functions["router_confirmed"], triggers.dead_letters
        )
        self.waits_table = waits
        ManagedSecrets(self, "ManagedSecrets", settings, key, functions["rotate_secret"], key_reading_roles(functions))
        events.Rule(
            self,
            "DriftCheckSchedule",
            description="Daily comparison of targets with their secrets",
            schedule=events.Schedule.expression(settings.drift_check_schedule),
            targets=[targets.LambdaFunction(functions["drift_check"], retry_attempts=2)],
        )
        monitoring = Monitoring(
            self, "Monitoring", settings, self.state_machine, triggers.dead_letters, notifications.topic
        )
        notifications.allow_alarms(monitoring.alarms)
        # Every service that may invoke a function does so for this account only (confused deputy).
        for child in self.node.find_all():
            if isinstance(child, lambda_.CfnPermission) and child.source_account is None:
                child.source_account = self.account

    def _add_watcher(
        self,
        factory: StepFunctions,
        functions: dict[str, lambda_.Function],
        settings: DeploymentSettings,
        waits: dynamodb.Table,
        locks: dynamodb.TableV2,
        watcher_environment: dict[str, str],
    ) -> None:
        """The watcher's tick function and Express workflow; the first to park starts a watcher, and a watcher
        starts its successor."""
        functions["watch"] = factory.function(
            "watch",
            "One tick of the watcher: read the fleet once, answer the parked executions",
            {**watcher_environment, "LOCK_TABLE_NAME": locks.table_name},
        )
        waits.grant(
            functions["watch"],
            "dynamodb:Scan",
            "dynamodb:GetItem",  # a router confirmation
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        )
        # an operator's abort request, and the lock a waiting rotation takes once it is free
        locks.grant(functions["watch"], "dynamodb:GetItem", "dynamodb:PutItem")
        self.watcher = Watcher(self, "Watcher", settings, functions["watch"])
        # The functions a state machine invokes: the rotation's steps, and the watcher's tick.
        self.invoked_functions = [*self.workflow_functions.values(), functions["watch"]]
        for step in ("park", "watch"):  # the first to park starts a watcher; a watcher starts its successor
            functions[step].add_to_role_policy(
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[watcher_arn(self, settings)])
            )


def _pace_table(scope: Construct) -> dynamodb.TableV2:
    """The Direct Connect budget's one token bucket (no key material, no token: the table's own encryption)."""
    return dynamodb.TableV2(
        scope,
        "DirectConnectPace",
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=False
        ),
        removal_policy=RemovalPolicy.DESTROY,  # one counter, rebuilt on first use
    )


def _allow_to_notify(function: lambda_.Function, notifications: Notifications) -> None:
    function.add_environment("TOPIC_ARN", notifications.topic.topic_arn)
    # (not grant_publish: it adds kms:GenerateDataKey* where SNS needs kms:GenerateDataKey, below)
    function.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[notifications.topic.topic_arn]))
    notifications.allow_publisher(function.role)
