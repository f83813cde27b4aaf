"""Secrets the stack creates for managed targets, each rotated on a schedule by the rotation function."""

from __future__ import annotations

from aws_cdk import Duration, SecretValue, Tags
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .settings import DeploymentSettings


class ManagedSecrets(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        settings: DeploymentSettings,
        key: kms.IKey,
        rotation_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secrets: dict[str, secretsmanager.Secret] = {}
        for target in settings.managed_targets:
            secret = secretsmanager.Secret(
                self,
                target,
                secret_name=f"{settings.secret_prefix}{target}",
                description=f"MACsec CKN/CAK of {target}; put the pair the peer router holds before the first rotation",
                encryption_key=key,
                # A placeholder, not key material: the workflow refuses it with InvalidKeyMaterial.
                secret_object_value={
                    "ckn": SecretValue.unsafe_plain_text(""),
                    "cak": SecretValue.unsafe_plain_text(""),
                },
            )
            Tags.of(secret).add("macsec:target", target)
            secret.add_rotation_schedule(
                "Rotation",
                rotation_lambda=rotation_function,
                automatically_after=Duration.days(settings.rotation_days),
                rotate_immediately_on_update=False,
            )
            self.secrets[target] = secret
