"""What `macsec-rotation preflight` needs of the embedded AWS beyond Direct Connect and Secrets Manager.

A scenario's `accountSetup` (docs/scenarios.md) says how the account around the stack is set up: its CloudTrail
trail, Direct Connect's service-linked role, rules an administrator disabled, customer-managed KMS keys on
secrets. `seed_account` puts that into moto (CloudTrail, IAM and KMS are moto's own), and `EmbeddedProbe`
answers what moto cannot:
- the stack's functions and rules come from the synthesized template (the runner deploys neither as AWS
  resources: it calls the handlers in-process and matches events with the template's rule patterns);
- moto has no IAM policy simulator, so a role's permissions are evaluated from the template's own policies by
  the project's evaluator (local/iam_eval.py, which tests/infra/test_iam_boundaries.py holds to IAM's rules).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

TRAIL_NAME = "management-events"
SERVICE_LINKED_ROLE = "AWSServiceRoleForDirectConnect"


class _Strict(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CustomerKeySpec(_Strict):
    """A customer-managed KMS key that encrypts these secrets. `readers`: how the functions may decrypt with it:
    `keyPolicy` (the key policy names every function role), `grant` (the policy delegates to the account and a
    grant lets each function role decrypt), `none` (the policy delegates to the account, no grant: the roles'
    own policies allow only the stack's key, so nothing may decrypt)."""

    secrets: list[str] = Field(min_length=1)
    readers: Literal["keyPolicy", "grant", "none"] = "grant"


class AccountSetup(_Strict):
    """The account around the stack. The defaults are an account ready for its first rotation."""

    # logging: a trail logs management events (read and write); stopped: it exists but does not log;
    # readOnly: it logs only read events; none: no trail.
    cloud_trail: Literal["logging", "stopped", "readOnly", "none"] = "logging"
    # Present once MACsec was used in the account; absent, the first association creates it.
    direct_connect_service_linked_role: bool = False
    # Rules of the stack an administrator disabled, by logical id prefix (e.g. TriggersCurrentVersionWritten).
    disabled_rules: list[str] = Field(default_factory=list)
    customer_managed_keys: list[CustomerKeySpec] = Field(default_factory=list)


def seed_account(aws: Any, setup: AccountSetup, secret_arns: Mapping[str, str]) -> None:
    """Put the scenario's account setup into moto (`aws` is a running local.runner.LocalAws)."""
    aws.preflight_setup = setup
    if setup.cloud_trail != "none":
        bucket = f"cloudtrail-{aws.account}"
        aws.client("s3").create_bucket(Bucket=bucket)
        trail = aws.client("cloudtrail")
        trail.create_trail(Name=TRAIL_NAME, S3BucketName=bucket, IsMultiRegionTrail=True)
        if setup.cloud_trail != "stopped":
            trail.start_logging(Name=TRAIL_NAME)
        if setup.cloud_trail == "readOnly":
            trail.put_event_selectors(
                TrailName=TRAIL_NAME, EventSelectors=[{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]
            )
    if setup.direct_connect_service_linked_role:
        # moto's CreateServiceLinkedRole names the role after the service's spelling (AWSServiceRoleFordirectconnect)
        aws.client("iam").create_role(
            RoleName=SERVICE_LINKED_ROLE,
            Path="/aws-service-role/directconnect.amazonaws.com/",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "directconnect.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
    roles = sorted(set(EmbeddedProbe(aws).role_arns().values())) if setup.customer_managed_keys else []
    for spec in setup.customer_managed_keys:
        _customer_key(aws, spec, roles, [secret_arns[name] for name in spec.secrets if name in secret_arns])


def _customer_key(aws: Any, spec: CustomerKeySpec, roles: list[str], secrets: list[str]) -> None:
    root = f"arn:aws:iam::{aws.account}:root"
    statements: list[dict[str, Any]] = [
        {"Sid": "EnableIamPolicies", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}
    ]
    if spec.readers == "keyPolicy":
        statements.append(
            {
                "Sid": "FunctionsDecryptSecrets",
                "Effect": "Allow",
                "Principal": {"AWS": roles},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{aws.region}.amazonaws.com"}},
            }
        )
    kms = aws.client("kms")
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    key_arn = kms.create_key(Policy=policy, Description="MACsec secrets (scenario)")["KeyMetadata"]["Arn"]
    if spec.readers == "grant":
        for role in roles:
            kms.create_grant(KeyId=key_arn, GranteePrincipal=role, Operations=["Decrypt"])
    for secret_arn in secrets:
        aws.client("secretsmanager").update_secret(SecretId=secret_arn, KmsKeyId=key_arn)


@dataclass(frozen=True)
class EmbeddedFunction:
    step: str  # the handler module's name: prepare, associate, ...
    name: str
    role_arn: str
    environment: dict[str, str]


class EmbeddedProbe:
    """The embedded AWS's answers to what `preflight` asks the control planes moto lacks."""

    def __init__(self, aws: Any) -> None:
        self.aws = aws

    @property
    def simulator(self) -> str:
        """How the embedded AWS answers the policy simulator's questions."""
        return (
            "evaluated from the synthesized template's policies by the project's IAM evaluator "
            "(local/iam_eval.py): moto has no policy simulator"
        )

    def role_arns(self) -> dict[str, str]:
        """Function logical id -> its role's ARN (arn:aws:iam::ACCOUNT:role/<role logical id>)."""
        resources = self.aws.template.resources("AWS::Lambda::Function")
        return {
            logical_id: f"arn:aws:iam::{self.aws.account}:role/{resource['Properties']['Role']['Fn::GetAtt'][0]}"
            for logical_id, resource in resources.items()
        }

    def functions(self) -> list[EmbeddedFunction]:
        roles = self.role_arns()
        return [
            EmbeddedFunction(spec.step, logical_id, roles[logical_id], dict(spec.environment))
            for logical_id, spec in self.aws.template.functions(self.aws.region, self.aws.account).items()
        ]

    def rule_states(self) -> dict[str, str]:
        """Rule logical id -> ENABLED or DISABLED: the template's State (CloudFormation's default is ENABLED),
        unless the scenario's accountSetup disabled it."""
        setup: AccountSetup = getattr(self.aws, "preflight_setup", None) or AccountSetup()
        states = {}
        for logical_id, resource in self.aws.template.resources("AWS::Events::Rule").items():
            state = str(resource["Properties"].get("State", "ENABLED"))
            if any(logical_id.startswith(prefix) for prefix in setup.disabled_rules):
                state = "DISABLED"
            states[logical_id] = state
        return states

    @cached_property
    def _policies(self) -> Any:
        from . import iam_eval as module  # noqa: PLC0415 (only preflight needs it)

        env = module.Env(region=self.aws.region, account=self.aws.account)
        return module, module.Policies(self.aws.template.raw, env)

    def simulate(self, role_arn: str, action: str, resource: str, context: Mapping[str, str]) -> str | None:
        """allowed or denied by the template's policies (identity and resource policies of the template; a
        KMS key outside the template is judged by `preflight` from its own key policy and grants); None when
        the evaluator cannot judge the request."""
        module, policies = self._policies
        try:
            allowed = policies.allowed(module.Request(role_arn, action, resource, dict(context)))
        except NotImplementedError:
            return None
        return "allowed" if allowed else "denied"
