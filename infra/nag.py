"""cdk-nag AwsSolutions checks on every synth; each acknowledgement says why the finding is accepted."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Stack, Token, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from .settings import DeploymentSettings


def check_with_cdk_nag(app: App, stack: Stack, functions: list[lambda_.Function], settings: DeploymentSettings) -> None:
    """`functions`: those the state machine invokes."""
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    Validations.of(stack).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason)
            for finding, reason in acknowledgements(stack, functions, settings).items()
        )
    )


def acknowledgements(stack: Stack, functions: list[lambda_.Function], settings: DeploymentSettings) -> dict[str, str]:
    """Every finding accepted, with why; a test proves each one is still raised (none is stale)."""
    arn = "arn:<AWS::Partition>"
    # cdk-nag names a resource as written: a pseudo parameter, or the value when the env is known.
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    scoped = f"{region}:{account}"
    reasons = {
        "AwsSolutions-L1": "Python 3.11 is the runtime the code is tested on and the Powertools layer is chosen for; "
        "they are raised together, deliberately.",
        "AwsSolutions-IAM5[Resource::*]": "X-Ray (PutTraceSegments, PutTelemetryRecords, GetSampling*), Step "
        "Functions log delivery, states:SendTaskSuccess and SendTaskHeartbeat (the task token names the task) and "
        "secretsmanager:ListSecrets have no resource-level permissions; the watcher's DescribeConnections and "
        "DescribeLags name no resource (one read of the whole fleet).",
        f"AwsSolutions-IAM5[Resource::{arn}:directconnect:{scoped}:dxcon/*]": "Connections are named at run time "
        "(the secret's macsec:target tag or the console input), in this account and Region. Describe reads the whole "
        "fleet in one call; every write is conditioned on the connection's macsec:secret tag naming a secret under "
        "the managed prefix.",
        f"AwsSolutions-IAM5[Resource::{arn}:directconnect:{scoped}:dxlag/*]": "LAGs are named at run time (the "
        "secret's macsec:target tag or the console input), in this account and Region. Describe reads the whole fleet "
        "in one call; every write is conditioned on the LAG's macsec:secret tag naming a secret under the managed "
        "prefix.",
        f"AwsSolutions-IAM5[Resource::{arn}:secretsmanager:{scoped}:secret:{settings.secret_prefix}*]": "Only "
        "secrets under the managed prefix (which ends with '/'); Secrets Manager appends a random suffix to every "
        "secret ARN.",
        f"AwsSolutions-IAM5[Resource::{arn}:iam::{account}:role/aws-service-role/directconnect.amazonaws.com/"
        "AWSServiceRoleForDirectConnect*]": "Direct Connect's service-linked role (GetRole; CreateServiceLinkedRole "
        "conditioned on iam:AWSServiceName = directconnect.amazonaws.com).",
        "AwsSolutions-SQS3": "This queue is the dead-letter queue of the event triggers.",
        "AwsSolutions-SF1": "The watcher (an Express workflow) ticks every few seconds while anything waits: it logs "
        "errors only, since ALL would log every tick, about as much as the watcher costs to run; its Tick function "
        "logs each decision. The rotation workflow logs ALL.",
    }
    for function in functions:
        logical_id = stack.resolve(stack.get_logical_id(function.node.default_child))
        reasons[f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]"] = (
            "The state machine's LambdaInvoke grant covers the function's versions and aliases, nothing else."
        )
    return reasons
