"""EventBridge rules that start the workflow when a managed secret gets a new current version."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .settings import DeploymentSettings


class RotationTriggers(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, settings: DeploymentSettings, intake: lambda_.Function
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        secret_arn_prefix = (
            f"arn:{stack.partition}:secretsmanager:{stack.region}:{stack.account}:secret:{settings.secret_prefix}"
        )
        managed_secret = [{"prefix": secret_arn_prefix}, {"prefix": settings.secret_prefix}]

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # The intake starts one execution per secret version (named after it), so a duplicate
        # delivery starts nothing. Events it cannot handle end in the dead-letter queue.
        target = targets.LambdaFunction(
            intake, dead_letter_queue=self.dead_letters, retry_attempts=8, max_event_age=Duration.hours(24)
        )
        intake.configure_async_invoke(retry_attempts=2, on_failure=destinations.SqsDestination(self.dead_letters))

        # Scheduled or on-demand rotation finished: the new version is AWSCURRENT now.
        self.rotation_succeeded = events.Rule(
            self,
            "RotationSucceeded",
            description="Secrets Manager finished rotating a MACsec secret",
            event_pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=["AWS Service Event via CloudTrail"],
                detail={"eventName": ["RotationSucceeded"], "additionalEventData": {"SecretId": managed_secret}},
            ),
            targets=[target],
        )
        # A person or tool wrote a new current version directly (needs a CloudTrail trail). A rotation
        # function's own AWSPENDING write is left out: a pending version must not start a key change.
        self.current_version_written = events.Rule(
            self,
            "CurrentVersionWritten",
            description="A new AWSCURRENT version of a MACsec secret was written",
            event_pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=["AWS API Call via CloudTrail"],
                detail={
                    "eventSource": ["secretsmanager.amazonaws.com"],
                    "requestParameters": {"secretId": managed_secret},
                    "$or": [
                        {"eventName": ["PutSecretValue"], "requestParameters": {"versionStages": [{"exists": False}]}},
                        {"eventName": ["PutSecretValue"], "requestParameters": {"versionStages": ["AWSCURRENT"]}},
                        {
                            "eventName": ["UpdateSecretVersionStage"],
                            "requestParameters": {"versionStage": ["AWSCURRENT"]},
                        },
                    ],
                },
            ),
            targets=[target],
        )
