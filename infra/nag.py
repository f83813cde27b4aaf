"""cdk-nag AwsSolutions checks on every synth; each acknowledgement says why the finding is accepted."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Stack, Token, Validations
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from .settings import DeploymentSettings


def check_with_cdk_nag(app: App, stack: Stack, functions: list[lambda_.Function], settings: DeploymentSettings) -> None:
    Validations.of(app).add_plugins(AwsSolutionsChecks())
    arn = "arn:<AWS::Partition>"
    # cdk-nag names a resource as written: a pseudo parameter, or the value when the env is known.
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    scoped = f"{region}:{account}"
    reasons = {
        "AwsSolutions-L1": "Python 3.11 is the runtime the code is tested on and the Powertools layer is chosen for; "
        "they are raised together, deliberately.",
        f"AwsSolutions-IAM4[Policy::{arn}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]": "It only lets "
        "a function write its own CloudWatch logs.",
        "AwsSolutions-IAM5[Resource::*]": "X-Ray (PutTraceSegments, PutTelemetryRecords), Step Functions log "
        "delivery and secretsmanager:ListSecrets have no resource-level permissions.",
        f"AwsSolutions-IAM5[Resource::{arn}:directconnect:{scoped}:dxcon/*]": "Connections are named at run time by "
        "the secret's macsec:target tag or the console input; scoped to this account and Region.",
        f"AwsSolutions-IAM5[Resource::{arn}:directconnect:{scoped}:dxlag/*]": "LAGs are named at run time by the "
        "secret's macsec:target tag or the console input; scoped to this account and Region.",
        f"AwsSolutions-IAM5[Resource::{arn}:secretsmanager:{scoped}:secret:{settings.secret_prefix}*]": "Only "
        "secrets under the managed prefix; Secrets Manager appends a random suffix to every secret ARN.",
        f"AwsSolutions-IAM5[Resource::{arn}:iam::{account}:role/aws-service-role/directconnect.amazonaws.com/"
        "AWSServiceRoleForDirectConnect*]": "Creating Direct Connect's service-linked role, conditioned on "
        "iam:AWSServiceName = directconnect.amazonaws.com.",
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "CDK's key grant to the rotation function, on the "
        "stack's own key only.",
        "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "CDK's key grant to the rotation function, on the stack's own "
        "key only.",
        "AwsSolutions-SQS3": "This queue is the dead-letter queue of the event triggers.",
    }
    for function in functions:
        logical_id = stack.resolve(stack.get_logical_id(function.node.default_child))
        reasons[f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]"] = (
            "CDK's LambdaInvoke grant covers the function's versions and aliases, nothing else."
        )
    Validations.of(stack).acknowledge(
        *(Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason) for finding, reason in reasons.items())
    )
