"""A small evaluator of the IAM policies in a synthesized template, for exactly what the template uses.

The local emulator enforces neither IAM nor KMS, so these evaluations are the proof that the stack's roles,
resource policies and key policy allow what the workflow needs and nothing else. Scope, on purpose:
- one account: identity policies (AWS::IAM::Policy and inline role policies), resource policies (secrets,
  topics, queues) and the key policy; an explicit Deny anywhere wins, then an Allow from the identity or the
  resource policy (same account). For KMS the key policy must allow, itself or by delegating to the account
  (`kms:*` to the account root), in which case the identity policy decides. No SCPs, boundaries or sessions.
- Action/NotAction and Resource/NotResource with `*` and `?` wildcards (actions case-insensitively).
- Principal: "*", AWS (ARNs, an account root), Service.
- Condition operators String(Not)Equals, String(Not)Like, Arn(Not)Equals, Arn(Not)Like, Bool, with IfExists and
  ForAnyValue:/ForAllValues:. Anything else raises: a template that starts using it must teach this module first.
- Intrinsics Ref, Fn::GetAtt (Arn) and Fn::Join, resolved for a given partition, Region and account.
No maintained Python library evaluates IAM conditions for a template (moto's evaluator skips operators other than
StringEquals and treats a failed condition on a Deny as a denial; policyuniverse and parliament only parse/lint).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

Context = Mapping[str, str | list[str]]


@dataclass(frozen=True)
class Env:
    partition: str = "aws"
    region: str = "us-east-1"
    account: str = "123456789012"

    def arn(self, service: str, rest: str, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{rest}"


@dataclass(frozen=True)
class Request:
    principal: str  # a role or user ARN, or a service principal such as cloudwatch.amazonaws.com
    action: str
    resource: str
    context: Context = field(default_factory=dict)


# ---- intrinsic functions ----


class Resolver:
    """Resolves Ref, Fn::GetAtt and Fn::Join in a template to plain values for one environment."""

    def __init__(self, template: dict[str, Any], env: Env) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.env = env

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute != "Arn":
                raise NotImplementedError(f"Fn::GetAtt {logical_id}.{attribute}")
            return self.arn(logical_id)
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(self(p)) for p in parts)
        if any(k.startswith("Fn::") for k in value):
            raise NotImplementedError(f"intrinsic {next(iter(value))}")
        return {k: self(v) for k, v in value.items()}

    def ref(self, name: str) -> str:
        env = self.env
        pseudo = {
            "AWS::Partition": env.partition,
            "AWS::Region": env.region,
            "AWS::AccountId": env.account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        kind = self.resources[name]["Type"]
        if kind == "AWS::SNS::Topic":
            return env.arn("sns", name)
        if kind == "AWS::SecretsManager::Secret":
            return env.arn("secretsmanager", f"secret:{self(self.resources[name]['Properties']['Name'])}-AbCdEf")
        if kind == "AWS::StepFunctions::StateMachine":
            return env.arn("states", f"stateMachine:{name}")
        return name

    def arn(self, logical_id: str) -> str:
        env = self.env
        kind = self.resources[logical_id]["Type"]
        arns = {
            "AWS::IAM::Role": lambda: f"arn:{env.partition}:iam::{env.account}:role/{logical_id}",
            "AWS::Lambda::Function": lambda: env.arn("lambda", f"function:{logical_id}"),
            "AWS::KMS::Key": lambda: env.arn("kms", f"key/{logical_id}"),
            "AWS::SQS::Queue": lambda: env.arn("sqs", logical_id),
            "AWS::Logs::LogGroup": lambda: env.arn("logs", f"log-group:{logical_id}:*"),
            "AWS::CloudWatch::Alarm": lambda: env.arn("cloudwatch", f"alarm:{logical_id}"),
            "AWS::Events::Rule": lambda: env.arn("events", f"rule/{logical_id}"),
            "AWS::DynamoDB::GlobalTable": lambda: env.arn("dynamodb", f"table/{logical_id}"),
            "AWS::DynamoDB::Table": lambda: env.arn("dynamodb", f"table/{logical_id}"),
            "AWS::StepFunctions::StateMachine": lambda: self.ref(logical_id),
            "AWS::SecretsManager::Secret": lambda: self.ref(logical_id),
        }
        if kind not in arns:
            raise NotImplementedError(f"Fn::GetAtt {logical_id}.Arn of a {kind}")
        return arns[kind]()


# ---- matching ----


@cache
def _pattern(glob: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", 0 if case_sensitive else re.IGNORECASE)


def glob_match(glob: str, value: str, case_sensitive: bool = True) -> bool:
    return bool(_pattern(glob, case_sensitive).match(value))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _string_equals(policy: str, actual: str) -> bool:
    return policy == actual


def _string_like(policy: str, actual: str) -> bool:
    return glob_match(policy, actual)


def _bool(policy: str, actual: str) -> bool:
    return str(policy).lower() == str(actual).lower()


# operator -> (how one policy value matches one request value, negated)
OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_string_like, False),  # IAM's ArnEquals and ArnLike both accept wildcards
    "ArnLike": (_string_like, False),
    "ArnNotEquals": (_string_like, True),
    "ArnNotLike": (_string_like, True),
    "Bool": (_bool, False),
}


def condition_holds(operator: str, key: str, policy_values: Any, context: Context) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name not in OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        raise NotImplementedError(f"condition operator {operator}")
    matches, negated = OPERATORS[name]
    wanted = [str(v) for v in as_list(policy_values)]
    present = {k.lower(): v for k, v in context.items()}
    if key.lower() not in present:
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return if_exists or negated
    actual = [str(v) for v in as_list(present[key.lower()])]

    def one(value: str) -> bool:
        return any(matches(w, value) for w in wanted)

    # ForAllValues: every request value matches; a single-valued key, or ForAnyValue: one does.
    hit = all(one(v) for v in actual) if qualifier == "ForAllValues" else any(one(v) for v in actual)
    return not hit if negated else hit


def conditions_hold(conditions: Mapping[str, Mapping[str, Any]] | None, context: Context) -> bool:
    return all(
        condition_holds(operator, key, values, context)
        for operator, keys in (conditions or {}).items()
        for key, values in keys.items()
    )


def _element_matches(statement: Mapping[str, Any], name: str, value: str, case_sensitive: bool) -> bool:
    if name in statement:
        return any(glob_match(p, value, case_sensitive) for p in as_list(statement[name]))
    negative = f"Not{name}"
    if negative in statement:
        return not any(glob_match(p, value, case_sensitive) for p in as_list(statement[negative]))
    return False


def principal_matches(principal_element: Any, principal: str, env: Env) -> bool:
    if principal_element == "*":
        return True
    for kind, values in principal_element.items():
        for value in as_list(values):
            if kind == "Service" and value == principal:
                return True
            if kind == "AWS":
                if value in ("*", principal, env.account):
                    return True
                account_root = f"arn:{env.partition}:iam::{env.account}:root"
                if value == account_root and principal.startswith(f"arn:{env.partition}:iam::{env.account}:"):
                    return True
    return False


def applies(statement: Mapping[str, Any], request: Request, env: Env, resource_policy: bool = False) -> bool:
    if "NotPrincipal" in statement:
        raise NotImplementedError("NotPrincipal")
    if resource_policy and not principal_matches(statement["Principal"], request.principal, env):
        return False
    return (
        _element_matches(statement, "Action", request.action, case_sensitive=False)
        and _element_matches(statement, "Resource", request.resource, case_sensitive=True)
        and conditions_hold(statement.get("Condition"), request.context)
    )


# ---- the template's policies ----


class Policies:
    """The template's policies, resolved for one environment, and decisions over them."""

    def __init__(self, template: dict[str, Any], env: Env) -> None:
        self.env = env
        self.resolve = Resolver(template, env)
        self.resources = template["Resources"]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == kind}

    # who is who

    def function_roles(self) -> dict[str, str]:
        """Handler module name (the step) -> the ARN of its function's role."""
        roles = {}
        for function in self.of_type("AWS::Lambda::Function").values():
            step = function["Properties"]["Handler"].split(".")[-2]
            roles[step] = self.resolve(function["Properties"]["Role"])
        return roles

    def role_arn(self, logical_id: str) -> str:
        return self.resolve.arn(logical_id)

    def roles(self) -> dict[str, str]:
        """Every role of the template: ARN -> logical id."""
        return {self.role_arn(k): k for k in self.of_type("AWS::IAM::Role")}

    def managed_policy_arns(self, role_arn: str) -> list[str]:
        role = self.resources[self.roles()[role_arn]]
        return [self.resolve(a) for a in role["Properties"].get("ManagedPolicyArns", [])]

    def identity_statements(self, principal: str) -> list[dict[str, Any]]:
        """The statements of every policy attached to a role of the template (none for anyone else)."""
        logical_id = self.roles().get(principal)
        if logical_id is None:
            return []
        statements: list[dict[str, Any]] = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": logical_id} in policy["Properties"].get("Roles", []):
                statements += as_list(self.resolve(policy["Properties"]["PolicyDocument"]["Statement"]))
        for inline in self.resources[logical_id]["Properties"].get("Policies", []):
            statements += as_list(self.resolve(inline["PolicyDocument"]["Statement"]))
        return statements

    def resource_statements(self, resource_arn: str) -> list[dict[str, Any]]:
        """Resource-based policy statements on the resource with this ARN (secret, topic or queue)."""
        found: list[dict[str, Any]] = []
        for policy in self.of_type("AWS::SecretsManager::ResourcePolicy").values():
            if self.resolve(policy["Properties"]["SecretId"]) == resource_arn:
                found += as_list(self.resolve(policy["Properties"]["ResourcePolicy"]["Statement"]))
        for policy in self.of_type("AWS::SNS::TopicPolicy").values():
            if resource_arn in self.resolve(policy["Properties"]["Topics"]):
                found += as_list(self.resolve(policy["Properties"]["PolicyDocument"]["Statement"]))
        for policy in self.of_type("AWS::SQS::QueuePolicy").values():
            queues = self.resolve(policy["Properties"]["Queues"])
            if any(resource_arn.endswith(f":{q}") for q in queues):
                found += as_list(self.resolve(policy["Properties"]["PolicyDocument"]["Statement"]))
        return found

    def key_statements(self, key_arn: str) -> list[dict[str, Any]]:
        for logical_id, key in self.of_type("AWS::KMS::Key").items():
            if self.resolve.arn(logical_id) == key_arn:
                return as_list(self.resolve(key["Properties"]["KeyPolicy"]["Statement"]))
        raise KeyError(key_arn)

    # decisions

    def allowed(self, request: Request, extra_identity: Iterable[Mapping[str, Any]] = ()) -> bool:
        """Same-account decision: no explicit Deny applies, and an identity or a resource Allow does.
        `extra_identity` stands for policies of principals outside the template (an administrator's)."""
        identity = [*self.identity_statements(request.principal), *extra_identity]
        resource = self.resource_statements(request.resource)
        return decide(identity, resource, request, self.env)

    def key_allowed(self, request: Request, extra_identity: Iterable[Mapping[str, Any]] = ()) -> bool:
        """A KMS request: the key policy allows the principal itself, or allows the account (delegating to
        IAM) and an identity policy allows; no explicit Deny in either."""
        key_policy = self.key_statements(request.resource)
        identity = [*self.identity_statements(request.principal), *extra_identity]
        request = with_global_keys(request)
        if any(s["Effect"] == "Deny" and applies(s, request, self.env, resource_policy=True) for s in key_policy):
            return False
        if any(s["Effect"] == "Deny" and applies(s, request, self.env) for s in identity):
            return False
        allows = [s for s in key_policy if s["Effect"] == "Allow" and applies(s, request, self.env, True)]
        if any(not _names_only_the_account(s, self.env) for s in allows):
            return True  # the key policy names this principal
        return bool(allows) and any(s["Effect"] == "Allow" and applies(s, request, self.env) for s in identity)


def _names_only_the_account(statement: Mapping[str, Any], env: Env) -> bool:
    principal = statement.get("Principal")
    root = f"arn:{env.partition}:iam::{env.account}:root"
    return isinstance(principal, dict) and as_list(principal.get("AWS")) in ([root], [env.account])


def with_global_keys(request: Request) -> Request:
    """The request as IAM sees it: aws:PrincipalArn (a role's or user's ARN; an assumed role's session is named
    by its role) is always in the context of a request by an IAM principal."""
    if not request.principal.startswith("arn:"):
        return request
    context = {"aws:PrincipalArn": request.principal, **request.context}
    return Request(request.principal, request.action, request.resource, context)


def decide(
    identity: Sequence[Mapping[str, Any]], resource: Sequence[Mapping[str, Any]], request: Request, env: Env
) -> bool:
    request = with_global_keys(request)
    if any(s["Effect"] == "Deny" and applies(s, request, env) for s in identity):
        return False
    if any(s["Effect"] == "Deny" and applies(s, request, env, resource_policy=True) for s in resource):
        return False
    return any(s["Effect"] == "Allow" and applies(s, request, env) for s in identity) or any(
        s["Effect"] == "Allow" and applies(s, request, env, resource_policy=True) for s in resource
    )
