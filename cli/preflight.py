"""preflight: is this account ready for its first rotation? Read-only checks, each a finding with what to do.

Every check is a small function returning findings; a `block` finding is one that makes a rotation fail (or
never start), a `warn` one deserves a look, `ok` says what was verified. The decisions a rotation takes are the
workflow's own (Prepare's target checks and keychain decision, the key material parser): a finding here is the
error the rotation would end with. No CAK is ever kept or shown: the pair is parsed and only its CKN reported.

Against AWS it reads only (README "preflight" lists the permissions). On the embedded AWS (--local) moto answers
Direct Connect, Secrets Manager, CloudTrail, IAM roles and KMS keys; the stack's functions and rules and the
policy simulator are answered from the synthesized template (local/preflight_world.py).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from macsec_rotation.errors import RotationError
from macsec_rotation.gateways.aws_errors import error_code
from macsec_rotation.gateways.directconnect import DirectConnectGateway, Target
from macsec_rotation.gateways.secrets import CURRENT, Secret, SecretsGateway
from macsec_rotation.keys import parse_key_material, redacted
from macsec_rotation.logic.prepare import (
    KEYCHAIN_SIZE,
    _check_target,
    _decide,
    _target_ids,
    _wanted_mode,
    router_confirmation,
)
from macsec_rotation.models import ConsoleInput
from macsec_rotation.settings import RuntimeSettings

from .account import Account
from .commands import Document, Output

Severity = Literal["ok", "warn", "block"]

SERVICE_LINKED_ROLE = "AWSServiceRoleForDirectConnect"
SERVICE_LINKED_ROLE_PATH = "aws-service-role/directconnect.amazonaws.com/"
# What each step's function must be allowed on one target and its secret (infra/permissions.py
# grant_step_permissions; tests/workflow/test_preflight.py checks this table against the synthesized policies).
DESCRIBE = {"connection": "directconnect:DescribeConnections", "lag": "directconnect:DescribeLags"}
UPDATE = {"connection": "directconnect:UpdateConnection", "lag": "directconnect:UpdateLag"}
READS_TARGETS = (
    "prepare",
    "begin",
    "roll_back",
    "clean_up",
    "restore_previous",
    "watch",
    "plan",
    "drift_check",
)
WRITES_TARGETS: dict[str, tuple[str, ...]] = {
    "begin": ("directconnect:AssociateMacSecKey",),
    "restore_previous": ("directconnect:AssociateMacSecKey",),
    "roll_back": ("directconnect:DisassociateMacSecKey",),
    "clean_up": (
        "directconnect:DisassociateMacSecKey",
        "directconnect:UpdateConnection",
        "directconnect:UpdateLag",
    ),
}
ON_SECRETS: dict[str, tuple[str, ...]] = {
    "prepare": ("secretsmanager:DescribeSecret",),
    "intake": ("secretsmanager:DescribeSecret",),
    "begin": (
        "secretsmanager:DescribeSecret",
        "secretsmanager:ListSecretVersionIds",
        "secretsmanager:GetSecretValue",
    ),
    "restore_previous": ("secretsmanager:ListSecretVersionIds", "secretsmanager:GetSecretValue"),
    "plan": ("secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds", "secretsmanager:GetSecretValue"),
    "drift_check": ("secretsmanager:GetSecretValue",),
}
KEY_READERS = ("begin", "restore_previous", "plan", "drift_check")
CREATES_SERVICE_LINKED_ROLE = ("begin", "restore_previous")


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    subject: str
    finding: str
    todo: str = ""

    def dump(self) -> Document:
        return asdict(self)


@dataclass(frozen=True)
class StackFunction:
    step: str  # the handler module's name: prepare, associate, ...
    name: str
    role_arn: str
    environment: dict[str, str]


@dataclass(frozen=True)
class RuleState:
    name: str
    state: str | None  # None: could not be read
    schedule: bool
    note: str = ""


class Probe(Protocol):
    """What preflight asks beyond the services' data planes: against AWS the control planes, on the embedded
    AWS the synthesized template."""

    simulator: str

    def functions(self) -> list[StackFunction]: ...

    def rules(self) -> list[RuleState]: ...

    def simulate(
        self, role_arn: str, actions: Iterable[str], resource: str, context: Mapping[str, str]
    ) -> dict[str, str | None]:
        """action -> allowed / denied, or None when not evaluated."""
        ...


def _resources(account: Account, kind: str) -> list[dict[str, str]]:
    return [r for r in account.stack_resources if r["ResourceType"] == kind]


class AwsProbe:
    simulator = "iam:SimulatePrincipalPolicy (identity policies, permissions boundaries, SCPs, the secret's policy)"

    def __init__(self, account: Account) -> None:
        self.account = account

    def functions(self) -> list[StackFunction]:
        client = self.account.client("lambda")
        found = []
        for resource in _resources(self.account, "AWS::Lambda::Function"):
            configuration = client.get_function_configuration(FunctionName=resource["PhysicalResourceId"])
            step = str(configuration.get("Handler", "")).rsplit(".", 1)[0].rsplit(".", 1)[-1]
            found.append(
                StackFunction(
                    step,
                    resource["PhysicalResourceId"],
                    str(configuration.get("Role", "")),
                    dict(configuration.get("Environment", {}).get("Variables", {})),
                )
            )
        return found

    def rules(self) -> list[RuleState]:
        client = self.account.client("events")
        states = []
        for resource in _resources(self.account, "AWS::Events::Rule"):
            bus, _, name = resource["PhysicalResourceId"].rpartition("|")  # a rule on another bus: BUS|NAME
            try:
                rule = client.describe_rule(Name=name, **({"EventBusName": bus} if bus else {}))
            except ClientError as error:
                states.append(RuleState(name, None, False, f"{error_code(error)}"))
                continue
            states.append(RuleState(name, str(rule.get("State")), bool(rule.get("ScheduleExpression"))))
        return states

    def simulate(
        self, role_arn: str, actions: Iterable[str], resource: str, context: Mapping[str, str]
    ) -> dict[str, str | None]:
        actions = list(actions)
        request: dict[str, Any] = {
            "PolicySourceArn": role_arn,
            "ActionNames": actions,
            "ResourceArns": [resource],
            "ContextEntries": [
                {"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"} for k, v in context.items()
            ],
        }
        policy = self._resource_policy(resource)
        if policy:
            request["ResourcePolicy"] = policy
        try:
            results = self.account.client("iam").simulate_principal_policy(**request)["EvaluationResults"]
        except ClientError:
            return dict.fromkeys(actions)
        decisions: dict[str, str | None] = dict.fromkeys(actions)
        for result in results:
            decisions[result["EvalActionName"]] = "allowed" if result["EvalDecision"] == "allowed" else "denied"
        return decisions

    def _resource_policy(self, resource: str) -> str | None:
        """A secret's resource policy, so the simulation includes it (the managed secrets deny most readers)."""
        if ":secretsmanager:" not in resource:
            return None
        try:
            policy = self.account.client("secretsmanager").get_resource_policy(SecretId=resource).get("ResourcePolicy")
        except ClientError:
            return None
        return str(policy) if policy else None


class EmbeddedProbeAdapter:
    """local/preflight_world.EmbeddedProbe in this module's types."""

    def __init__(self, aws: Any) -> None:
        from local.preflight_world import EmbeddedProbe  # noqa: PLC0415 (only with --local)

        self.probe = EmbeddedProbe(aws)
        self.simulator = self.probe.simulator

    def functions(self) -> list[StackFunction]:
        return [StackFunction(f.step, f.name, f.role_arn, f.environment) for f in self.probe.functions()]

    def rules(self) -> list[RuleState]:
        template = self.probe.aws.template.resources("AWS::Events::Rule")
        return [
            RuleState(
                name, state, "ScheduleExpression" in template[name]["Properties"], "from the synthesized template"
            )
            for name, state in self.probe.rule_states().items()
        ]

    def simulate(
        self, role_arn: str, actions: Iterable[str], resource: str, context: Mapping[str, str]
    ) -> dict[str, str | None]:
        return {action: self.probe.simulate(role_arn, action, resource, context) for action in actions}


@dataclass
class Context:
    account: Account
    probe: Probe
    functions: dict[str, StackFunction]  # by step
    settings: RuntimeSettings
    prefix: str
    partition: str
    region: str
    account_id: str

    def role(self, step: str) -> str | None:
        function = self.functions.get(step)
        return function.role_arn if function else None

    def target_arn(self, target: Target) -> str:
        kind = "dxlag" if target.target_type == "lag" else "dxcon"
        return f"arn:{self.partition}:directconnect:{self.region}:{self.account_id}:{kind}/{target.target_id}"


# ---- the command ----


def preflight(account: Account, output: Output, prefix: str | None) -> tuple[int, Document]:
    probe: Probe = EmbeddedProbeAdapter(account.embedded) if account.embedded is not None else AwsProbe(account)
    findings: list[Finding] = []
    context = _stack(account, probe, prefix, findings)
    if context is not None:
        findings += _cloudtrail(account)
        findings += _rules(probe)
        findings += _service_linked_role(context)
        findings += _secrets(context)
    blocking = [f for f in findings if f.severity == "block"]
    warnings = [f for f in findings if f.severity == "warn"]
    for item in findings:
        output.report(f"{item.severity.upper():<5}  {item.check:<20} {item.subject}: {item.finding}")
        if item.todo:
            output.report(f"{'':<27}do: {item.todo}")
    verdict = (
        f"not ready: {len(blocking)} finding(s) block a rotation"
        if blocking
        else f"ready ({len(warnings)} warning(s))"
        if warnings
        else "ready"
    )
    output.report(verdict)
    document: Document = {
        "ready": not blocking,
        "blocking": len(blocking),
        "warnings": len(warnings),
        "permissionsEvaluatedBy": probe.simulator,
        "findings": [f.dump() for f in findings],
    }
    return (1 if blocking else 0), document


# ---- the stack and its settings ----


def _stack(account: Account, probe: Probe, prefix: str | None, findings: list[Finding]) -> Context | None:
    arn = account.state_machine_arn.split(":")
    partition, region, account_id = arn[1], arn[3], arn[4]
    try:
        functions = {f.step: f for f in probe.functions()}
    except (ClientError, BotoCoreError) as error:
        findings.append(
            Finding(
                "stack",
                "block",
                account.stack_name,
                f"its functions cannot be read ({_why(error)})",
                "allow lambda:GetFunctionConfiguration on the stack's functions to whoever runs preflight",
            )
        )
        return None
    prepare = functions.get("prepare")
    if prepare is None:
        findings.append(
            Finding(
                "stack",
                "block",
                account.stack_name,
                "it has no Prepare function: it is not the MACsec key rotation stack, or an old version of it",
                "deploy the current version (cdk deploy), or pass --stack",
            )
        )
        return None
    try:
        settings = RuntimeSettings.from_env(prepare.environment)
    except (ValueError, ValidationError) as error:
        findings.append(
            Finding(
                "stack",
                "block",
                account.stack_name,
                f"the Prepare function's settings are not valid ({redacted(str(error))})",
                "deploy the current version with valid settings (cdk deploy -c ...)",
            )
        )
        return None
    drift = functions.get("drift_check")
    chosen = prefix or (drift.environment.get("SECRET_PREFIX") if drift else None) or "macsec/"
    findings.append(
        Finding(
            "stack",
            "ok",
            account.stack_name,
            f"deployed in {region} with {len(functions)} functions; secret prefix {chosen!r}, poll every "
            f"{settings.poll_interval_seconds} s, association timeout {settings.association_timeout_seconds} s, "
            f"disassociation timeout {settings.disassociation_timeout_seconds} s, at most "
            f"{settings.max_targets_per_secret} targets per secret, router confirmation "
            f"{settings.router_confirmation!r} unless a secret's {settings.router_tag} tag says otherwise",
        )
    )
    return Context(account, probe, functions, settings, chosen, partition, region, account_id)


# ---- CloudTrail, rules, the service-linked role ----


def _cloudtrail(account: Account) -> list[Finding]:
    """A trail logging management write events: without one Secrets Manager's PutSecretValue, UpdateSecret and
    UpdateSecretVersionStage reach EventBridge never, and a key written by hand never starts a rotation."""
    cloudtrail = account.client("cloudtrail")
    try:
        trails = cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]
    except ClientError as error:
        return [
            Finding(
                "cloudtrail",
                "warn",
                "trails",
                f"cannot list the trails ({_why(error)})",
                "allow cloudtrail:DescribeTrails, GetTrailStatus and GetEventSelectors to whoever runs preflight",
            )
        ]
    seen = []
    for trail in trails:
        arn = trail["TrailARN"]
        try:
            logging = bool(cloudtrail.get_trail_status(Name=arn).get("IsLogging"))
            selectors = cloudtrail.get_event_selectors(TrailName=arn)
        except ClientError as error:
            seen.append(f"{trail['Name']} (unreadable: {_why(error)})")
            continue
        writes = _logs_management_writes(trail, selectors)
        if logging and writes:
            return [
                Finding(
                    "cloudtrail",
                    "ok",
                    trail["Name"],
                    "logs management write events: a PutSecretValue or UpdateSecretVersionStage starts a rotation",
                )
            ]
        seen.append(
            f"{trail['Name']} ({'logging' if logging else 'not logging'}, "
            f"{'management writes' if writes else 'no management write events'})"
        )
    found = f"trails: {', '.join(seen)}" if seen else "no trail"
    return [
        Finding(
            "cloudtrail",
            "block",
            "trails",
            f"no trail logs management write events in this Region ({found}): a new AWSCURRENT written with "
            "PutSecretValue or UpdateSecretVersionStage never reaches EventBridge, so it never starts a rotation "
            "(only Secrets Manager's own RotationSucceeded does)",
            "create a multi-Region trail logging management events (read/write or write-only) and start logging "
            "(aws cloudtrail create-trail ... --is-multi-region-trail; aws cloudtrail start-logging)",
        )
    ]


def _logs_management_writes(trail: Mapping[str, Any], selectors: Mapping[str, Any]) -> bool:
    advanced = selectors.get("AdvancedEventSelectors") or []
    if advanced:
        for selector in advanced:
            fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
            category = fields.get("eventCategory", {})
            read_only = fields.get("readOnly", {})
            if "Management" in category.get("Equals", []) and "true" not in read_only.get("Equals", []):
                return True
        return False
    basic = selectors.get("EventSelectors") or []
    if not basic:  # no selector at all: CloudTrail's default, every management event
        return not trail.get("HasCustomEventSelectors")
    return any(
        s.get("IncludeManagementEvents", True)
        and s.get("ReadWriteType", "All") in ("All", "WriteOnly")
        and "secretsmanager.amazonaws.com" not in s.get("ExcludeManagementEventSources", [])
        for s in basic
    )


def _rules(probe: Probe) -> list[Finding]:
    findings = []
    for rule in probe.rules():
        note = f" ({rule.note})" if rule.note else ""
        if rule.state is None:
            findings.append(Finding("rules", "warn", rule.name, f"cannot be read{note}", "allow events:DescribeRule"))
        elif rule.state.startswith("ENABLED"):
            findings.append(Finding("rules", "ok", rule.name, f"{rule.state}{note}"))
        elif rule.schedule:
            findings.append(
                Finding(
                    "rules",
                    "warn",
                    rule.name,
                    f"{rule.state}: the daily drift check does not run{note}",
                    f"aws events enable-rule --name {rule.name}",
                )
            )
        else:
            findings.append(
                Finding(
                    "rules",
                    "block",
                    rule.name,
                    f"{rule.state}: the Secrets Manager events it matches start no rotation{note}",
                    f"aws events enable-rule --name {rule.name}",
                )
            )
    return findings


def _service_linked_role(context: Context) -> list[Finding]:
    try:
        context.account.client("iam").get_role(RoleName=SERVICE_LINKED_ROLE)
        return [Finding("service-linked-role", "ok", SERVICE_LINKED_ROLE, "exists")]
    except ClientError as error:
        if error_code(error) != "NoSuchEntity":
            return [
                Finding(
                    "service-linked-role",
                    "warn",
                    SERVICE_LINKED_ROLE,
                    f"cannot be read ({_why(error)})",
                    "allow iam:GetRole on it to whoever runs preflight",
                )
            ]
    role_arn = f"arn:{context.partition}:iam::{context.account_id}:role/{SERVICE_LINKED_ROLE_PATH}{SERVICE_LINKED_ROLE}"
    findings = []
    for step in CREATES_SERVICE_LINKED_ROLE:
        role = context.role(step)
        if role is None:
            continue
        decision = context.probe.simulate(
            role, ["iam:CreateServiceLinkedRole"], role_arn, {"iam:AWSServiceName": "directconnect.amazonaws.com"}
        )["iam:CreateServiceLinkedRole"]
        if decision == "allowed":
            findings.append(
                Finding(
                    "service-linked-role",
                    "ok",
                    SERVICE_LINKED_ROLE,
                    f"absent; the {step} function's role may create it at the first association",
                )
            )
        elif decision is None:
            findings.append(
                Finding(
                    "service-linked-role",
                    "warn",
                    SERVICE_LINKED_ROLE,
                    f"absent; whether the {step} function's role may create it was not evaluated",
                    "check that the role may iam:CreateServiceLinkedRole for directconnect.amazonaws.com",
                )
            )
        else:
            findings.append(
                Finding(
                    "service-linked-role",
                    "block",
                    SERVICE_LINKED_ROLE,
                    f"absent, and the {step} function's role ({role}) may not create it: the first association fails",
                    "create it once (aws iam create-service-linked-role --aws-service-name "
                    "directconnect.amazonaws.com), or lift what denies iam:CreateServiceLinkedRole (an SCP, a "
                    "permissions boundary)",
                )
            )
    return findings


# ---- secrets and their targets ----


def _secrets(context: Context) -> list[Finding]:
    gateway = SecretsGateway(context.account.client("secretsmanager"))
    try:
        listed = gateway.under_prefix(context.prefix)
    except (ClientError, RotationError) as error:
        return [
            Finding(
                "secrets",
                "block",
                context.prefix,
                f"cannot list the secrets under the prefix ({_why(error)})",
                "allow secretsmanager:ListSecrets to whoever runs preflight",
            )
        ]
    if not listed:
        return [
            Finding(
                "secrets",
                "warn",
                context.prefix,
                "no secret under the prefix: nothing will rotate",
                f'create one per target: name {context.prefix}<target>, value {{"ckn": ..., "cak": ...}}, tag '
                f"{context.settings.target_tag}=<dxcon-...|dxlag-...>",
            )
        ]
    findings = []
    for listed_secret in listed:
        findings += _secret(context, gateway, listed_secret)
    return findings


def _secret(context: Context, gateway: SecretsGateway, listed: Secret) -> list[Finding]:
    settings = context.settings
    try:
        secret = gateway.describe(listed.arn)
    except (ClientError, RotationError) as error:
        return [
            Finding(
                "secret",
                "block",
                listed.name,
                f"cannot be described ({_why(error)})",
                "allow secretsmanager:DescribeSecret on the managed secrets to whoever runs preflight",
            )
        ]
    findings: list[Finding] = []
    ckn = _pair(secret, gateway, findings)
    request = ConsoleInput(secret_id=secret.name)
    try:
        _wanted_mode(request, secret, settings)
    except RotationError as error:
        findings.append(Finding("secret", "block", secret.name, str(error), f"fix the {settings.mode_tag} tag"))
    findings.append(_router_confirmation(context, secret))
    try:
        target_ids = _target_ids(request, secret, settings)
    except RotationError as error:
        findings.append(
            Finding(
                "secret",
                "block",
                secret.name,
                str(error),
                f"tag the secret with {settings.target_tag}=<dxcon-...|dxlag-...>",
            )
        )
        target_ids = []
    dx = DirectConnectGateway(context.account.client("directconnect"))
    for target_id in target_ids:
        target = _target(context, dx, secret, target_id, ckn, findings)
        if target is not None:
            findings += _permissions(context, secret, target)
    findings += _kms(context, secret)
    return findings


def _pair(secret: Secret, gateway: SecretsGateway, findings: list[Finding]) -> str | None:
    """The current version's CKN when it holds a valid pair (the CAK is parsed and dropped)."""
    version = secret.version_in_stage(CURRENT)
    if version is None:
        findings.append(
            Finding(
                "secret",
                "block",
                secret.name,
                "has no AWSCURRENT version",
                'put the pair: aws secretsmanager put-secret-value --secret-string \'{"ckn": ..., "cak": ...}\'',
            )
        )
        return None
    try:
        material = parse_key_material(gateway.secret_string(secret.arn, version), secret.name, version)
    except ClientError as error:
        findings.append(
            Finding(
                "secret",
                "warn",
                secret.name,
                f"its pair could not be checked: GetSecretValue was refused ({_why(error)}); the managed secrets' "
                "policy lets only the stack's key-reading functions and keyReaders read values",
                "run preflight as a keyReader to check the pair, or trust plan --secret on the first rotation",
            )
        )
        return None
    except RotationError as error:  # InvalidKeyMaterial: names the secret, version and field, never a value
        findings.append(
            Finding(
                "secret",
                "block",
                secret.name,
                str(error),
                'put a valid pair: {"ckn": "<64 hex digits>", "cak": "<64 hex digits>"}',
            )
        )
        return None
    findings.append(Finding("secret", "ok", secret.name, f"holds a valid pair, CKN {material.ckn}"))
    return material.ckn


def _router_confirmation(context: Context, secret: Secret) -> Finding:
    """The secret's effective mode, decided as Prepare decides it (its tag, else the stack's setting)."""
    settings = context.settings
    try:
        mode = router_confirmation(secret, settings)
    except RotationError as error:  # InvalidInput: the rotation fails in Prepare
        return Finding(
            "router-confirmation",
            "block",
            secret.name,
            str(error),
            f"tag it {settings.router_tag}=none or callback, or remove the tag for the stack's "
            f"{settings.router_confirmation!r}",
        )
    source = "its tag" if settings.router_tag in secret.tags else "the stack's default"
    explained = (
        "the old key goes once the new one is associated"
        if mode == "none"
        else "the old key goes only after the router's automation confirms the new key (MACsec Router Key "
        f"Installed on the stack's bus), within {settings.router_confirmation_timeout_seconds} s"
    )
    return Finding("router-confirmation", "ok", secret.name, f"{mode} ({source}): {explained}")


def _target(
    context: Context,
    dx: DirectConnectGateway,
    secret: Secret,
    target_id: str,
    ckn: str | None,
    findings: list[Finding],
) -> Target | None:
    try:
        target = dx.describe(target_id)
        _check_target(target, secret, context.settings)
    except RotationError as error:
        findings.append(Finding("target", "block", target_id, f"{type(error).__name__}: {error}", _fix(error)))
        return None
    except ClientError as error:
        findings.append(Finding("target", "warn", target_id, f"cannot be read ({_why(error)})", ""))
        return None
    held = len(target.keychain)
    if ckn is not None:
        try:
            action = _decide(target, ckn)
        except RotationError as error:  # KeychainFull
            findings.append(
                Finding(
                    "target",
                    "block",
                    target_id,
                    f"{type(error).__name__}: {error}",
                    "disassociate a key the peer router no longer uses (aws directconnect disassociate-mac-sec-key)",
                )
            )
            return target
    elif held >= KEYCHAIN_SIZE:
        findings.append(
            Finding(
                "target",
                "warn",
                target_id,
                f"holds {held} keys, the most a keychain takes: a new key finds no room unless it is one of them",
                "disassociate a key the peer router no longer uses",
            )
        )
        return target
    else:
        action = "Associate"
    findings.append(
        Finding(
            "target",
            "ok",
            target_id,
            f"{target.target_type} available, MACsec-capable, bound to {secret.name}, {held} of {KEYCHAIN_SIZE} "
            f"key slots used, mode {target.encryption_mode}; a rotation now would {action}",
        )
    )
    return target


def _fix(error: RotationError) -> str:
    return {
        "TargetNotFound": "correct the secret's macsec:target tag, or create the target",
        "TargetNotMacsecCapable": "MACsec capability is fixed when a connection or LAG is ordered: order a "
        "MACsec-capable one (requestMACSec) and name it instead",
        "TargetNotAvailable": "wait until the target is available, or take it off the secret's macsec:target tag",
        "TargetNotAuthorized": "the target's owner tags it: aws directconnect tag-resource --resource-arn ... "
        "--tags key=macsec:secret,value=<secret name>",
        "InvalidInput": "name the LAG, not its member, in the macsec:target tag",
    }.get(type(error).__name__, "")


# ---- permissions ----


def _permissions(context: Context, secret: Secret, target: Target) -> list[Finding]:
    """Each function may do, on this target and this secret, what its step does (the writes under the
    target's binding tag, as IAM sees the request)."""
    binding = {f"aws:ResourceTag/{context.settings.binding_tag}": target.tag(context.settings.binding_tag) or ""}
    target_arn = context.target_arn(target)
    denied: list[str] = []
    unknown: list[str] = []
    for step in sorted(set(READS_TARGETS) | set(WRITES_TARGETS) | set(ON_SECRETS)):
        role = context.role(step)
        if role is None:
            denied.append(f"{step} (no such function in the stack)")
            continue
        on_target = [DESCRIBE[target.target_type]] if step in READS_TARGETS else []
        other_update = UPDATE["lag" if target.target_type == "connection" else "connection"]
        on_target += [a for a in WRITES_TARGETS.get(step, ()) if a != other_update]
        checks: list[tuple[str, list[str], Mapping[str, str]]] = [
            (target_arn, on_target, binding),
            (secret.arn, list(ON_SECRETS.get(step, ())), {}),
        ]
        for resource, actions, request_context in checks:
            if not actions:
                continue
            for action, decision in context.probe.simulate(role, actions, resource, request_context).items():
                if decision is None:
                    unknown.append(f"{step}: {action}")
                elif decision != "allowed":
                    denied.append(f"{step}: {action} on {resource}")
    subject = f"{secret.name} -> {target.target_id}"
    if denied:
        return [
            Finding(
                "permissions",
                "block",
                subject,
                f"denied: {'; '.join(denied)}",
                "deploy the current stack (cdk deploy); if it is current, lift what denies it (an SCP, a permissions "
                "boundary, the secret's resource policy) or check the target's binding tag",
            )
        ]
    if unknown:
        return [
            Finding(
                "permissions",
                "warn",
                subject,
                f"not evaluated ({context.probe.simulator}): {len(unknown)} action(s)",
                "allow iam:SimulatePrincipalPolicy to whoever runs preflight",
            )
        ]
    return [
        Finding(
            "permissions",
            "ok",
            subject,
            f"every function may do what its step does on the target and the secret ({context.probe.simulator})",
        )
    ]


def _kms(context: Context, secret: Secret) -> list[Finding]:
    """A customer-managed key on the secret: the key policy or a grant must let each key-reading function
    decrypt (the policy simulator evaluates neither); with the AWS-managed aws/secretsmanager nothing is needed."""
    kms_client = context.account.client("kms")
    try:
        key_id = context.account.client("secretsmanager").describe_secret(SecretId=secret.arn).get("KmsKeyId")
        if not key_id or str(key_id).endswith("alias/aws/secretsmanager"):
            return []
        metadata = kms_client.describe_key(KeyId=key_id)["KeyMetadata"]
        if metadata.get("KeyManager") == "AWS":
            return []
        key_arn = str(metadata["Arn"])
        policy = json.loads(kms_client.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
        grants = _grants(kms_client, key_arn)
    except ClientError as error:
        return [
            Finding(
                "kms",
                "warn",
                secret.name,
                f"its KMS key cannot be read ({_why(error)})",
                "allow kms:DescribeKey, kms:GetKeyPolicy and kms:ListGrants on the key to whoever runs preflight",
            )
        ]
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    root = {f"arn:{context.partition}:iam::{context.account_id}:root", context.account_id}
    via = {"kms:ViaService": f"secretsmanager.{context.region}.amazonaws.com"}
    findings = []
    for step in KEY_READERS:
        role = context.role(step)
        if role is None:
            continue
        if _key_policy_says(statements, "Deny", {role, "*"} | root):
            findings.append(
                Finding(
                    "kms",
                    "block",
                    f"{secret.name} ({key_arn})",
                    f"the key policy denies kms:Decrypt to the {step} function's role",
                    "remove the Deny from the key policy",
                )
            )
        elif _key_policy_says(statements, "Allow", {role, "*"}) or _granted(grants, role):
            continue
        elif _key_policy_says(statements, "Allow", root):
            decision = context.probe.simulate(role, ["kms:Decrypt"], key_arn, via)["kms:Decrypt"]
            if decision == "allowed":
                continue
            findings.append(
                Finding(
                    "kms",
                    "warn" if decision is None else "block",
                    f"{secret.name} ({key_arn})",
                    f"the {step} function's role ({role}) "
                    + ("may not be able to" if decision is None else "may not")
                    + " kms:Decrypt with the secret's customer-managed key: the key policy leaves it to IAM, the "
                    "role's own policies do not allow it on this key, and no grant lets it",
                    f"aws kms create-grant --key-id {key_arn} --grantee-principal {role} --operations Decrypt, or "
                    "name the role in the key policy",
                )
            )
        else:
            findings.append(
                Finding(
                    "kms",
                    "block",
                    f"{secret.name} ({key_arn})",
                    f"neither the key policy nor a grant lets the {step} function's role ({role}) kms:Decrypt",
                    f"aws kms create-grant --key-id {key_arn} --grantee-principal {role} --operations Decrypt",
                )
            )
    if not findings:
        findings.append(
            Finding(
                "kms",
                "ok",
                f"{secret.name} ({key_arn})",
                "every key-reading function may decrypt with the customer-managed key (key policy or grant)",
            )
        )
    return findings


def _granted(grants: list[dict[str, Any]], role: str) -> bool:
    return any(g.get("GranteePrincipal") == role and "Decrypt" in g.get("Operations", []) for g in grants)


def _grants(kms_client: Any, key_arn: str) -> list[dict[str, Any]]:
    grants: list[dict[str, Any]] = []
    request: dict[str, Any] = {"KeyId": key_arn}
    while True:
        page = kms_client.list_grants(**request)
        grants += page.get("Grants", [])
        if not page.get("Truncated") or not page.get("NextMarker"):
            return grants
        request["Marker"] = page["NextMarker"]


def _key_policy_says(statements: list[dict[str, Any]], effect: str, principals: set[str]) -> bool:
    """A statement of this effect lets kms:Decrypt to one of these principals (conditions such as kms:ViaService
    are taken to hold: the functions decrypt through Secrets Manager)."""
    for statement in statements:
        if statement.get("Effect") != effect:
            continue
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if not any(fnmatch.fnmatchcase("kms:decrypt", str(a).lower()) for a in actions):
            continue
        named = statement.get("Principal", {})
        named = named.get("AWS", []) if isinstance(named, dict) else named
        named = named if isinstance(named, list) else [named]
        if principals & {str(p) for p in named}:
            return True
    return False


def _why(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {redacted(str(error.response.get('Error', {}).get('Message', '')))}"
    return redacted(str(error))


__all__ = ["Finding", "preflight"]
