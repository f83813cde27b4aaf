"""Least-privilege IAM: each step function gets exactly the actions its logic calls.

Direct Connect writes are limited to targets their owner bound to a managed secret. The Service Authorization
Reference ("Actions, resources, and condition keys for AWS Direct Connect") lists, for each write used here,
the resource types and the condition key aws:ResourceTag/${TagKey}:
  AssociateMacSecKey     dxcon, dxlag (both optional: the call names either)   aws:ResourceTag/${TagKey}
  DisassociateMacSecKey  dxcon, dxlag (both optional)                          aws:ResourceTag/${TagKey}
  UpdateConnection       dxcon (required)                                      aws:ResourceTag/${TagKey}
  UpdateLag              dxlag (required)                                      aws:ResourceTag/${TagKey}
so every write is conditioned on the target's `macsec:secret` tag naming a secret under the managed prefix,
by name or by ARN. Reads (DescribeConnections, DescribeLags) stay unconditioned: the functions must see a
target to tell its owner why it is refused (TargetNotAuthorized).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from .settings import DeploymentSettings

EVENT_SOURCE = "macsec.rotation"  # the source of every event the workflow puts for the router automation
BINDING_TAG = "macsec:secret"  # on the Direct Connect target, set by its owner; names the secret (name or ARN)
# The functions that read key material (GetSecretValue): the only ones the managed secrets' policy lets read.
KEY_READING_STEPS = ("begin", "plan", "restore_previous", "rotate_secret", "drift_check")
# Secrets Manager guide, "Secret encryption and decryption" (Permissions for the KMS key): Secrets Manager calls
# kms:Decrypt for GetSecretValue and kms:GenerateDataKey for PutSecretValue on the caller's behalf (PutSecretValue
# may also Decrypt, to compare with an existing version); it recommends kms:ViaService to keep the key to requests
# that come through Secrets Manager. Nothing here calls kms:Encrypt or kms:ReEncrypt*.
SECRET_READ_KEY_ACTIONS = ("kms:Decrypt",)
SECRET_WRITE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def managed_secret_arns(stack: Stack, settings: DeploymentSettings) -> str:
    return f"arn:{stack.partition}:secretsmanager:{stack.region}:{stack.account}:secret:{settings.secret_prefix}*"


def bound_to_a_managed_secret(stack: Stack, settings: DeploymentSettings) -> dict[str, object]:
    """The condition on every Direct Connect write: the target's macsec:secret tag names a managed secret."""
    return {
        "StringLike": {
            f"aws:ResourceTag/{BINDING_TAG}": [
                f"{settings.secret_prefix}*",
                managed_secret_arns(stack, settings),
            ]
        }
    }


def via_secrets_manager(stack: Stack) -> dict[str, object]:
    return {"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}}


def grant_step_permissions(
    stack: Stack, functions: Mapping[str, lambda_.Function], settings: DeploymentSettings, key: kms.IKey
) -> None:
    partition, region, account = stack.partition, stack.region, stack.account
    connections = f"arn:{partition}:directconnect:{region}:{account}:dxcon/*"
    lags = f"arn:{partition}:directconnect:{region}:{account}:dxlag/*"
    secrets = managed_secret_arns(stack, settings)
    bound = bound_to_a_managed_secret(stack, settings)

    describe = iam.PolicyStatement(
        actions=["directconnect:DescribeConnections", "directconnect:DescribeLags"], resources=[connections, lags]
    )
    describe_secret = iam.PolicyStatement(actions=["secretsmanager:DescribeSecret"], resources=[secrets])
    read_secret = iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secrets])
    list_versions = iam.PolicyStatement(actions=["secretsmanager:ListSecretVersionIds"], resources=[secrets])

    def write(action: str, *targets: str) -> iam.PolicyStatement:
        return iam.PolicyStatement(actions=[f"directconnect:{action}"], resources=list(targets), conditions=bound)

    associate = write("AssociateMacSecKey", connections, lags)
    disassociate = write("DisassociateMacSecKey", connections, lags)
    update_mode = [write("UpdateConnection", connections), write("UpdateLag", lags)]
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

    def put_event(detail_type: str) -> iam.PolicyStatement:
        """One event type on the account's default bus, under the workflow's own source (EventBridge's condition
        keys for PutEvents: events:source, events:detail-type)."""
        return iam.PolicyStatement(
            actions=["events:PutEvents"],
            resources=[f"arn:{partition}:events:{region}:{account}:event-bus/default"],
            conditions={"StringEquals": {"events:source": EVENT_SOURCE, "events:detail-type": detail_type}},
        )

    # SendTaskSuccess has no resource-level permissions (Service Authorization Reference, AWS Step Functions):
    # the task token names the task.
    answer_task = iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=["*"])

    needs: dict[str, list[iam.PolicyStatement]] = {
        # Prepare decides from metadata (DescribeSecret: stages, tags); it never reads key material.
        "prepare": [describe, describe_secret],
        # Begin decides again under the lock (the new key's CKN; which old keys a version holds: keptCkns) and
        # associates the new key; the lock table's grant is given where the table is made.
        "begin": [
            describe,
            describe_secret,
            list_versions,
            read_secret,
            associate,
            service_linked_role,
            get_service_linked_role,
        ],
        "roll_back": [describe, disassociate, put_event("MACsec Key Rolled Back")],
        "clean_up": [describe, *update_mode, disassociate],
        "ask_router": [put_event("MACsec Key Ready For Router")],
        "park": [],  # the lock and waits tables and the watcher's start: given where they are made
        # One read of the whole fleet a tick: DescribeConnections and DescribeLags without an id list every
        # connection and LAG, which IAM authorizes on "*" (no resource is named).
        "watch": [
            iam.PolicyStatement(
                actions=["directconnect:DescribeConnections", "directconnect:DescribeLags"], resources=["*"]
            ),
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                resources=["*"],
            ),
            put_event("MACsec Old Keys Removed"),  # under routerConfirmation callback, when the removal settled
        ],
        "router_confirmed": [answer_task],
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
        # A dry run decides as Begin does, and may not change anything.
        "plan": [describe, describe_secret, list_versions, read_secret],
        "drift_check": [
            describe,
            read_secret,
            # ListSecrets has no resource-level permissions; the function filters by the managed prefix.
            iam.PolicyStatement(actions=["secretsmanager:ListSecrets"], resources=["*"]),
        ],
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
    # Secrets the stack creates are encrypted with its key: whoever reads or writes them needs it, through
    # Secrets Manager only.
    for step in KEY_READING_STEPS:
        actions = SECRET_WRITE_KEY_ACTIONS if step == "rotate_secret" else SECRET_READ_KEY_ACTIONS
        functions[step].add_to_role_policy(
            iam.PolicyStatement(actions=list(actions), resources=[key.key_arn], conditions=via_secrets_manager(stack))
        )


def key_reading_roles(functions: Mapping[str, lambda_.Function]) -> list[iam.IRole]:
    roles = []
    for step in KEY_READING_STEPS:
        role = functions[step].role
        if role is None:  # every function of the stack is built with its own role (functions.py)
            raise ValueError(f"function {step} has no role")
        roles.append(role)
    return roles


def allow_key_readers_to_decrypt(stack: Stack, key: kms.Key, readers: Iterable[str]) -> None:
    """keyReaders may sit in another account: the key policy, not only their own IAM, must let them decrypt."""
    principals: list[iam.IPrincipal] = [iam.ArnPrincipal(arn) for arn in readers]
    if principals:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="KeyReadersDecryptManagedSecrets",
                actions=list(SECRET_READ_KEY_ACTIONS),
                principals=principals,
                resources=["*"],  # in a key policy "*" means this key
                conditions=via_secrets_manager(stack),
            )
        )


def allow_table_key_use(stack: Stack, key: kms.IKey, users: Iterable[lambda_.Function]) -> None:
    """DynamoDB decrypts a table's key with the caller's credentials (cached per principal for minutes): whoever
    uses the waits table needs kms:Decrypt on its key, through DynamoDB only."""
    for function in users:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}},
            )
        )
