"""Every Lambda function of the stack, built by one helper from one code asset."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .settings import DeploymentSettings

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
PACKAGE = "macsec_rotation"
SERVICE_NAME = "macsec-key-rotation"
METRICS_NAMESPACE = "MacsecKeyRotation"
POWERTOOLS_ACCOUNT = "017000801446"
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


class StepFunctions(Construct):
    """Builds the step functions: same runtime, layer, environment, log set-up and tracing."""

    def __init__(self, scope: Construct, construct_id: str, settings: DeploymentSettings) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        region = Stack.of(self).region
        self._layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            f"arn:{Stack.of(self).partition}:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:"
            f"AWSLambdaPowertoolsPythonV3-python311-x86_64:{settings.powertools_layer_version}",
        )
        self._code = lambda_.Code.from_asset(
            str(FUNCTIONS_DIR), exclude=["**/__pycache__", "**/*.pyc", "**/.mypy_cache"]
        )
        self.environment = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POLL_INTERVAL_SECONDS": str(settings.poll_interval_seconds),
            "ASSOCIATION_TIMEOUT_SECONDS": str(settings.association_timeout_seconds),
            "DISASSOCIATION_TIMEOUT_SECONDS": str(settings.disassociation_timeout_seconds),
            "ENCRYPTION_SETTLE_SECONDS": str(settings.encryption_settle_seconds),
            "MAX_TARGETS_PER_SECRET": str(settings.max_targets_per_secret),
        }

    def function(self, step: str, description: str, environment: dict[str, str] | None = None) -> lambda_.Function:
        """One step's function; `step` names the module under handlers/ and the construct."""
        construct_id = "".join(part.title() for part in step.split("_"))
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=RETENTION[self._settings.log_retention_days],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # Its own role, without AWSLambdaBasicExecutionRole (logs on every log group of the account): the
        # function may write only to its own log group.
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"MACsec key rotation step {step}",
        )
        log_group.grant_write(role)
        return lambda_.Function(
            self,
            construct_id,
            description=description,
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.X86_64,
            handler=f"{PACKAGE}.handlers.{step}.handler",
            code=self._code,
            layers=[self._layer],
            memory_size=256,
            timeout=Duration.seconds(60),
            environment={**self.environment, **(environment or {})},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )
