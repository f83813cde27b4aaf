"""Every Lambda function of the stack, built by one helper from one code asset."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .settings import DeploymentSettings

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = ROOT / "functions"
REQUIREMENTS = ROOT / "requirements.txt"
PACKAGE = "macsec_rotation"
SERVICE_NAME = "macsec-key-rotation"
METRICS_NAMESPACE = "MacsecKeyRotation"
RUNTIME = lambda_.Runtime.PYTHON_3_11
ARCHITECTURE = lambda_.Architecture.ARM_64
MEMORY_MB = 128
POWERTOOLS_ACCOUNT = "017000801446"
# The public layer for RUNTIME and ARCHITECTURE: AWSLambdaPowertoolsPythonV3-python311-arm64.
POWERTOOLS_LAYER = f"AWSLambdaPowertoolsPythonV3-{RUNTIME.name.replace('.', '')}-{ARCHITECTURE.name}"
POWERTOOLS_PIN = re.compile(r"^aws-lambda-powertools(\[[^\]]*\])?==(?P<version>\d+\.\d+\.\d+)\s*(#.*)?$", re.MULTILINE)
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


def pinned_powertools_version(requirements: Path = REQUIREMENTS) -> str:
    """The exact aws-lambda-powertools version requirements.txt pins (the one the tests run against)."""
    pins = [m["version"] for m in POWERTOOLS_PIN.finditer(requirements.read_text())]
    if len(pins) != 1:
        raise ValueError(f"{requirements} must pin aws-lambda-powertools exactly once (==X.Y.Z), found {pins}")
    return pins[0]


def powertools_parameter_name(version: str) -> str:
    """The public SSM parameter Powertools publishes per release, holding that release's layer ARN for RUNTIME
    and ARCHITECTURE in the deploying region: /aws/service/powertools/python/arm64/python3.11/3.37.0. The path
    is https://docs.aws.amazon.com/powertools/python/latest/getting-started/install/#using-ssm-parameter-store
    (which shows its `latest` alias); the per-release form, a plain X.Y.Z, is the one the Powertools release
    workflow writes (aws-powertools/powertools-lambda-python#5754, #7689)."""
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{version}"


class StepFunctions(Construct):
    """Builds the step functions: same runtime, layer, environment, log set-up and tracing."""

    def __init__(self, scope: Construct, construct_id: str, settings: DeploymentSettings) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        stack = Stack.of(self)
        # The layer of the release requirements.txt pins, resolved by CloudFormation at deploy time from the
        # parameter Powertools publishes for it (a template parameter of type AWS::SSM::Parameter::Value<String>):
        # a deploy fails before changing anything if that release has no parameter. Only the layer's version
        # number is taken from the parameter; the account and layer name stay the ones for RUNTIME/ARCHITECTURE.
        published_arn = ssm.StringParameter.value_for_string_parameter(
            self, powertools_parameter_name(pinned_powertools_version())
        )
        self._layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "Powertools",
            f"arn:{stack.partition}:lambda:{stack.region}:{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER}:"
            + Fn.select(7, Fn.split(":", published_arn)),
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
            "ROUTER_CONFIRMATION": settings.router_confirmation,
            "ROUTER_CONFIRMATION_TIMEOUT_SECONDS": str(settings.router_confirmation_timeout_seconds),
            "WATCHER_TICK_SECONDS": str(settings.watcher_tick_seconds),
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
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"{PACKAGE}.handlers.{step}.handler",
            code=self._code,
            layers=[self._layer],
            # The cheapest: the functions wait on AWS APIs (and on their turn in the Direct Connect budget) far more
            # than they compute, and Lambda bills every millisecond of a wait (bench: costRatio*, fleetCostRatio120).
            memory_size=MEMORY_MB,
            timeout=Duration.seconds(60),
            environment={**self.environment, **(environment or {})},
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
        )
