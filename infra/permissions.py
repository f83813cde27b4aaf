"""Least-privilege IAM: each step function gets exactly the actions its logic calls."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from .settings import DeploymentSettings


def grant_step_permissions(
    stack: Stack, functions: dict[str, lambda_.Function], settings: DeploymentSettings, key: kms.IKey
) -> None:
    partition, region, account = stack.partition, stack.region, stack.account
    connections = f"arn:{partition}:directconnect:{region}:{account}:dxcon/*"
    lags = f"arn:{partition}:directconnect:{region}:{account}:dxlag/*"
    secrets = f"arn:{partition}:secretsmanager:{region}:{account}:secret:{settings.secret_prefix}*"

    describe = iam.PolicyStatement(
        actions=["directconnect:DescribeConnections", "directconnect:DescribeLags"], resources=[connections, lags]
    )
    describe_secret = iam.PolicyStatement(actions=["secretsmanager:DescribeSecret"], resources=[secrets])
    read_secret = iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secrets])
    list_versions = iam.PolicyStatement(actions=["secretsmanager:ListSecretVersionIds"], resources=[secrets])
    associate = iam.PolicyStatement(actions=["directconnect:AssociateMacSecKey"], resources=[connections, lags])
    disassociate = iam.PolicyStatement(actions=["directconnect:DisassociateMacSecKey"], resources=[connections, lags])
    update_mode = [
        iam.PolicyStatement(actions=["directconnect:UpdateConnection"], resources=[connections]),
        iam.PolicyStatement(actions=["directconnect:UpdateLag"], resources=[lags]),
    ]
    # The first association in an account creates Direct Connect's service-linked role; AWS's page on it
    # (DX user guide, using-service-linked-roles) lists iam:GetRole beside iam:CreateServiceLinkedRole.
    service_linked_role_arn = (
        f"arn:{partition}:iam::{account}:role/aws-service-role/directconnect.amazonaws.com/"
        "AWSServiceRoleForDirectConnect*"
    )
    get_service_linked_role = iam.PolicyStatement(actions=["iam:GetRole"], resources=[service_linked_role_arn])
    service_linked_role = iam.PolicyStatement(
        actions=["iam:CreateServiceLinkedRole"],
        resources=[service_linked_role_arn],
        conditions={"StringEquals": {"iam:AWSServiceName": "directconnect.amazonaws.com"}},
    )

    needs: dict[str, list[iam.PolicyStatement]] = {
        "prepare": [describe, describe_secret, read_secret],
        "associate": [describe, read_secret, associate, service_linked_role, get_service_linked_role],
        "check_association": [describe],
        "roll_back": [describe, disassociate],
        "tighten_encryption": [describe, *update_mode],
        "remove_old_keys": [describe, disassociate],
        "check_removal": [describe],
        "restore_previous": [
            describe,
            list_versions,
            read_secret,
            associate,
            service_linked_role,
            get_service_linked_role,
        ],
        "report": [],
        "report_failure": [],
        "intake": [describe_secret],
        "plan_target": [describe, describe_secret, read_secret],
        "drift_check": [
            describe,
            read_secret,
            # ListSecrets has no resource-level permissions; the function filters by the managed prefix.
            iam.PolicyStatement(actions=["secretsmanager:ListSecrets"], resources=["*"]),
        ],
        "acquire_lock": [],  # the lock table's grant is given where the table is made
        "release_lock": [],
        "rotate_secret": [
            describe_secret,
            iam.PolicyStatement(
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                resources=[secrets],
            ),
        ],
    }
    for step, statements in needs.items():
        for statement in statements:
            functions[step].add_to_role_policy(statement)
    # Secrets the stack creates are encrypted with its key: whoever reads or writes them needs it.
    for step in ("prepare", "plan_target", "associate", "restore_previous", "drift_check"):
        key.grant_decrypt(functions[step])
    key.grant_encrypt_decrypt(functions["rotate_secret"])
