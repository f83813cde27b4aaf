"""Alarms, the notification topic (KMS-encrypted) and a dashboard."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .functions import METRICS_NAMESPACE, SERVICE_NAME
from .settings import DeploymentSettings


class Notifications(Construct):
    """One topic for alarms and for each rotation's result, encrypted with the stack's key."""

    def __init__(self, scope: Construct, construct_id: str, settings: DeploymentSettings, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self.topic = sns.Topic(self, "Topic", display_name="MACsec key rotation", master_key=key, enforce_ssl=True)
        # A publisher to an encrypted topic needs the key: SNS guide, "Key management" ("Enable compatibility
        # between event sources from AWS services and encrypted topics"): an AWS service that publishes, here
        # CloudWatch alarms, gets kms:GenerateDataKey* and kms:Decrypt in the key policy.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheEncryptedTopic",
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],  # in a key policy "*" means this key
            )
        )
        if settings.notification_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.notification_email))

    def allow_publisher(self, role: iam.IRole) -> None:
        """A role that publishes (SNS guide, "Key management", "Allow a user to send messages to a topic with
        SSE"): kms:GenerateDataKey and kms:Decrypt on the topic's key, only as SNS calls KMS for it
        (kms:ViaService), so the stack's key serves nothing else to that role. sns:Publish itself is granted by
        whoever publishes."""
        via_sns = {"kms:ViaService": f"sns.{Stack.of(self).region}.amazonaws.com"}
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[self._key.key_arn],
                conditions={"StringEquals": via_sns},
            )
        )

    def allow_alarms(self, alarms: list[cloudwatch.Alarm]) -> None:
        """The topic policy replaces SNS's default one (which let the account's principals and services
        publish): CloudWatch may publish, for these alarms only (knowledge center article
        "cloudwatch-receive-sns-for-alarm-trigger")."""
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                actions=["sns:Publish"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=[self.topic.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": [alarm.alarm_arn for alarm in alarms]}},
            )
        )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: DeploymentSettings,
        state_machine: sfn.StateMachine,
        dead_letters: sqs.IQueue,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(5)
        notify = actions.SnsAction(topic)

        def alarm(name: str, metric: cloudwatch.IMetric, what: str, threshold: float = 1) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=what,
            )
            created.add_alarm_action(notify)
            return created

        def custom(name: str, statistic: str = "Sum", over: Duration = period) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": SERVICE_NAME},
                statistic=statistic,
                period=over,
            )

        self.alarms = [
            alarm(
                "RotationFailed",
                state_machine.metric_failed(period=period),
                "A MACsec rotation failed: read the execution's Error and Cause (README 'Errors').",
            ),
            alarm(
                "RotationTimedOut",
                state_machine.metric_timed_out(period=period),
                "A MACsec rotation ran past the state machine timeout.",
            ),
            alarm(
                "RotationThrottled",
                state_machine.metric_throttled(period=period),
                "Step Functions throttled the rotation workflow.",
            ),
            alarm(
                "TargetsDrifted",
                custom("DriftedTargets", statistic="Maximum", over=Duration.days(1)),
                "A target does not carry exactly its secret's AWSCURRENT key, or its encryption is down: the drift "
                "check's log names the target and the finding.",
            ),
            alarm(
                "RouterWaitLong",
                custom("RouterWaitSeconds", statistic="Maximum"),
                f"A rotation has waited {settings.router_wait_alarm_seconds}s or more for the router automation's "
                "confirmation (routerWaitAlarmSeconds): the link is safe (the old key stays), but check the router "
                "automation; the wait ends RouterNotConfirmed at routerConfirmationTimeoutSeconds.",
                threshold=settings.router_wait_alarm_seconds,
            ),
            alarm(
                "UndeliveredEvents",
                dead_letters.metric_approximate_number_of_messages_visible(period=period),
                "Secrets Manager events could not start a rotation; inspect the dead-letter queue.",
            ),
        ]

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=None)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Rotations",
                left=[
                    state_machine.metric_succeeded(period=period),
                    state_machine.metric_failed(period=period),
                    custom("TargetsRotated"),
                    custom("TargetsAlreadyCurrent"),
                ],
            ),
            cloudwatch.GraphWidget(
                title="Failures",
                left=[
                    custom("RotationsFailed"),
                    state_machine.metric_timed_out(period=period),
                    state_machine.metric_throttled(period=period),
                ],
            ),
            cloudwatch.GraphWidget(title="Duration (ms)", left=[state_machine.metric_time(period=period)]),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms),
        )
