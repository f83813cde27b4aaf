"""Who may rotate what: the synthesized policies evaluated (local/iam_eval.py), not merely read.

The emulator enforces neither IAM nor KMS: these evaluations are the proof that each role writes only to
Direct Connect targets their owner bound to a managed secret, that only the functions that need key material
(and the configured keyReaders) can read it, and that whoever writes to an encrypted resource can use its key.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from infra.permissions import KEY_READING_STEPS
from local.iam_eval import Env, Policies, Request, condition_holds, glob_match
from local.template import Template, synthesize

ENVS = [Env(), Env("aws-cn", "cn-north-1", "210987654321")]
READER = "arn:aws:iam::123456789012:role/network/router-automation"
MANAGED = (("managedTargets", "dxcon-aaaa1111,dxlag-bbbb2222"), ("keyReaders", READER))

# What each function may write on Direct Connect, by action and resource type; nothing else, for anyone.
NEEDS: dict[str, set[tuple[str, str]]] = {
    "begin": {("AssociateMacSecKey", "dxcon"), ("AssociateMacSecKey", "dxlag")},
    "restore_previous": {("AssociateMacSecKey", "dxcon"), ("AssociateMacSecKey", "dxlag")},
    "roll_back": {("DisassociateMacSecKey", "dxcon"), ("DisassociateMacSecKey", "dxlag")},
    "clean_up": {
        ("DisassociateMacSecKey", "dxcon"),
        ("DisassociateMacSecKey", "dxlag"),
        ("UpdateConnection", "dxcon"),
        ("UpdateLag", "dxlag"),
    },
}
TARGET_IDS = {"dxcon": "dxcon-abcd1234", "dxlag": "dxlag-efgh5678", "dxvif": "dxvif-ffff0000", "dx-gateway": "gw-1"}
# Every Direct Connect operation that is not a read, from the botocore model: a new one is covered too.
DX_WRITES = sorted(
    op
    for op in botocore.session.get_session().get_service_model("directconnect").operation_names
    if not op.startswith(("Describe", "List", "Get"))
)


def target_arn(env: Env, kind: str) -> str:
    if kind == "dx-gateway":
        return env.arn("directconnect", f"dx-gateway/{TARGET_IDS[kind]}", region=False)
    return env.arn("directconnect", f"{kind}/{TARGET_IDS[kind]}")


def bound_by_name(env: Env) -> dict[str, str]:
    return {"aws:ResourceTag/macsec:secret": "macsec/dxcon-abcd1234"}


def bound_by_arn(env: Env) -> dict[str, str]:
    return {"aws:ResourceTag/macsec:secret": env.arn("secretsmanager", "secret:macsec/dxcon-abcd1234-AbCdEf")}


def unbound(env: Env) -> dict[str, dict[str, str]]:
    """Targets whose owner did not bind them to a managed secret."""
    other_account = Env(env.partition, env.region, "999999999999")
    other_region = Env(env.partition, "eu-west-1", env.account)
    tag = "aws:ResourceTag/macsec:secret"
    return {
        "no tag": {},
        "another tag": {"aws:ResourceTag/Name": "macsec/dxcon-abcd1234"},
        "a secret outside the prefix": {tag: "db/password"},
        "a name that only starts like the prefix": {tag: "macsecret-dxcon-abcd1234"},
        "the prefix deeper in a path": {tag: "team/macsec/dxcon-abcd1234"},
        "an ARN outside the prefix": {tag: env.arn("secretsmanager", "secret:db/password-AbCdEf")},
        "an ARN in another account": {tag: other_account.arn("secretsmanager", "secret:macsec/x-AbCdEf")},
        "an ARN in another Region": {tag: other_region.arn("secretsmanager", "secret:macsec/x-AbCdEf")},
        "an empty tag": {tag: ""},
    }


@pytest.fixture(scope="module")
def managed() -> Template:
    return synthesize(MANAGED)


# ---- the evaluator itself: the operators the template uses behave as IAM documents them ----


def test_the_evaluator_follows_iam_semantics_for_the_operators_used() -> None:
    assert glob_match("macsec/*", "macsec/a/b") and not glob_match("macsec/*", "macsecret")
    assert glob_match("dx?on/*", "dxcon/x") and not glob_match("a.b", "axb")
    like = {"k": "macsec/*"}
    assert condition_holds("StringLike", "k", like["k"], {"K": "macsec/x"})  # keys are case-insensitive
    assert not condition_holds("StringLike", "k", like["k"], {})  # a missing key never matches
    assert condition_holds("StringLikeIfExists", "k", like["k"], {})
    assert condition_holds("ArnNotEquals", "aws:PrincipalArn", ["arn:a"], {})  # negated: missing key holds
    assert not condition_holds("ArnNotEquals", "aws:PrincipalArn", ["arn:a", "arn:b"], {"aws:PrincipalArn": "arn:b"})
    assert condition_holds("ForAnyValue:StringEquals", "k", ["a"], {"k": ["b", "a"]})
    assert not condition_holds("ForAnyValue:StringEquals", "k", ["a"], {})
    assert condition_holds("ForAllValues:StringEquals", "k", ["a"], {})
    assert not condition_holds("ForAllValues:StringEquals", "k", ["a"], {"k": ["a", "b"]})
    assert condition_holds("Bool", "aws:SecureTransport", "false", {"aws:SecureTransport": "False"})
    with pytest.raises(NotImplementedError):
        condition_holds("NumericLessThan", "k", "1", {"k": "0"})


# ---- 1. Direct Connect writes: only targets bound to a managed secret, only by the functions that need them ----


@pytest.mark.parametrize("env", ENVS, ids=lambda e: e.partition)
@pytest.mark.parametrize(("step", "action", "kind"), sorted((s, a, k) for s, n in NEEDS.items() for a, k in n))
def test_a_bound_target_is_writable_by_the_functions_that_write_it(
    template: Template, env: Env, step: str, action: str, kind: str
) -> None:
    policies = Policies(template.raw, env)
    role = policies.function_roles()[step]
    for binding in (bound_by_name(env), bound_by_arn(env)):
        request = Request(role, f"directconnect:{action}", target_arn(env, kind), binding)
        assert policies.allowed(request), (step, action, kind, binding)


@pytest.mark.parametrize("env", ENVS, ids=lambda e: e.partition)
@pytest.mark.parametrize(("step", "action", "kind"), sorted((s, a, k) for s, n in NEEDS.items() for a, k in n))
def test_an_unbound_target_is_denied_every_write(
    template: Template, env: Env, step: str, action: str, kind: str
) -> None:
    policies = Policies(template.raw, env)
    role = policies.function_roles()[step]
    for case, context in unbound(env).items():
        request = Request(role, f"directconnect:{action}", target_arn(env, kind), context)
        assert not policies.allowed(request), (step, action, kind, case)


def test_no_function_writes_what_it_does_not_need(template: Template) -> None:
    env = ENVS[0]
    policies = Policies(template.raw, env)
    roles = policies.function_roles()
    assert set(NEEDS) < set(roles)
    granted: dict[str, set[tuple[str, str]]] = {}
    for step, role in roles.items():
        for action in DX_WRITES:
            for kind in TARGET_IDS:
                for resource in (target_arn(env, kind), "*"):
                    # The most favourable case: the target is bound to a managed secret.
                    if policies.allowed(Request(role, f"directconnect:{action}", resource, bound_by_name(env))):
                        granted.setdefault(step, set()).add((action, kind))
    assert granted == NEEDS
    # Nobody may bind a target: tagging is the owner's decision (the code refuses unbound targets).
    assert not {a for g in granted.values() for a, _ in g} & {"TagResource", "UntagResource"}


def test_reads_of_the_fleet_stay_unconditioned(template: Template) -> None:
    env = ENVS[0]
    policies = Policies(template.raw, env)
    readers = ("prepare", "plan", "watch", "drift_check", *NEEDS)
    for step in readers:
        role = policies.function_roles()[step]
        for action, kind in (("DescribeConnections", "dxcon"), ("DescribeLags", "dxlag")):
            assert policies.allowed(Request(role, f"directconnect:{action}", target_arn(env, kind))), (step, action)


def test_the_first_association_may_create_and_read_the_service_linked_role(template: Template) -> None:
    env = ENVS[0]
    policies = Policies(template.raw, env)
    role_arn = (
        f"arn:aws:iam::{env.account}:role/aws-service-role/directconnect.amazonaws.com/AWSServiceRoleForDirectConnect"
    )
    for step in ("begin", "restore_previous"):
        role = policies.function_roles()[step]
        assert policies.allowed(Request(role, "iam:GetRole", role_arn))
        create = Request(
            role, "iam:CreateServiceLinkedRole", role_arn, {"iam:AWSServiceName": "directconnect.amazonaws.com"}
        )
        assert policies.allowed(create)
        other = Request(role, "iam:CreateServiceLinkedRole", role_arn, {"iam:AWSServiceName": "lambda.amazonaws.com"})
        assert not policies.allowed(other)


# The lock table: the lock steps take and give back locks; the steps at the abort's safe points only read it
# (an operator's abort request is an item there); nobody else touches it.
LOCK_TABLE_NEEDS = {
    "begin": {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"},  # and an abort request
    "release_lock": {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"},
    # an operator's abort request, for the parked executions, and the lock a waiting one takes once free
    "watch": {"dynamodb:GetItem", "dynamodb:PutItem"},
    "park": {"dynamodb:PutItem", "dynamodb:GetItem"},  # renews the lock before a router wait
}
WAITS_TABLE_NEEDS = {
    # keeps a confirmation, and answers the rotation parked for it
    "router_confirmed": {"dynamodb:PutItem", "dynamodb:Scan", "dynamodb:DeleteItem"},
    "roll_back": {"dynamodb:DeleteItem"},
    # parks, takes the watcher's lease, and looks for a confirmation that came before the wait
    "park": {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem"},
    # The watcher scans the parked tasks, reads router confirmations, answers (deletes) them, records
    # heartbeats, and holds its lease.
    "watch": {"dynamodb:Scan", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
}
DYNAMODB_ACTIONS = sorted(
    f"dynamodb:{op}" for op in botocore.session.get_session().get_service_model("dynamodb").operation_names
)


def table_grants(template: Template, name: str) -> dict[str, set[str]]:
    """Step -> the DynamoDB actions its role may take on the template's table whose logical id starts `name`."""
    env = ENVS[0]
    policies = Policies(template.raw, env)
    tables = {**policies.of_type("AWS::DynamoDB::GlobalTable"), **policies.of_type("AWS::DynamoDB::Table")}
    (table,) = [t for t in tables if t.startswith(name)]
    table_arn = env.arn("dynamodb", f"table/{table}")
    granted: dict[str, set[str]] = {}
    for step, role in policies.function_roles().items():
        for action in DYNAMODB_ACTIONS:
            if policies.allowed(Request(role, action, table_arn)):
                granted.setdefault(step, set()).add(action)
    return granted


def test_only_the_lock_and_abort_steps_reach_the_lock_table(template: Template) -> None:
    assert table_grants(template, "TargetLocks") == LOCK_TABLE_NEEDS


def test_only_the_router_wait_steps_reach_the_task_tokens(template: Template) -> None:
    """The waits table holds task tokens (whoever has one can answer the waiting task)."""
    assert table_grants(template, "Waits") == WAITS_TABLE_NEEDS


def test_only_the_steps_that_call_direct_connect_take_turns_in_its_budget(template: Template) -> None:
    """The pace table holds one counter: each step that calls Direct Connect takes its slot (an update, and a read
    when the queue is too long to wait in), and the watcher, whose reads are set aside from the budget, does not."""
    paced = ("prepare", "begin", "roll_back", "clean_up", "restore_previous", "plan", "drift_check")
    pace = {"dynamodb:UpdateItem", "dynamodb:GetItem"}
    assert table_grants(template, "DirectConnectPace") == {step: pace for step in paced}


# ---- 3. Whoever writes to a KMS-encrypted resource can use its key ----

# resource type -> (property naming its key, write actions, KMS actions a writer needs, service calling KMS)
ENCRYPTED = {
    # SNS guide, "Key management": a publisher needs kms:GenerateDataKey and kms:Decrypt.
    "AWS::SNS::Topic": ("KmsMasterKeyId", ("sns:Publish",), ("kms:GenerateDataKey", "kms:Decrypt"), "sns"),
    # SQS guide, "Key management": a producer needs kms:GenerateDataKey and kms:Decrypt.
    "AWS::SQS::Queue": ("KmsMasterKeyId", ("sqs:SendMessage",), ("kms:GenerateDataKey", "kms:Decrypt"), "sqs"),
    # Secrets Manager guide, "Secret encryption and decryption": GenerateDataKey for a new value, Decrypt too.
    "AWS::SecretsManager::Secret": (
        "KmsKeyId",
        ("secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"),
        ("kms:GenerateDataKey", "kms:Decrypt"),
        "secretsmanager",
    ),
}
# Encrypted by the service itself on behalf of every writer (CloudWatch Logs' service principal in the key policy,
# DynamoDB's grants): not modeled above, so none may use a customer managed key until this test learns them.
NOT_MODELED = {"AWS::Logs::LogGroup": "KmsKeyId", "AWS::DynamoDB::GlobalTable": "SSESpecification"}


def writers(policies: Policies, kind: str, logical_id: str, resource: str, actions: tuple[str, ...]) -> set[str]:
    """Every principal that may write to the resource: roles of the template whose policies allow it, service
    principals the resource's policy allows, and CloudWatch for every alarm that notifies a topic."""
    found = set()
    secure = {"aws:SecureTransport": "true"}
    for role in policies.roles():
        if any(policies.allowed(Request(role, a, resource, secure)) for a in actions):
            found.add(role)
    for statement in policies.resource_statements(resource):
        services = statement.get("Principal", {}).get("Service", []) if statement["Principal"] != "*" else []
        for service in services if isinstance(services, list) else [services]:
            if statement["Effect"] == "Allow":
                found.add(service)
    if kind == "AWS::SNS::Topic":
        for alarm_id, alarm in policies.of_type("AWS::CloudWatch::Alarm").items():
            if {"Ref": logical_id} in alarm["Properties"].get("AlarmActions", []):
                # CloudWatch must be allowed to publish at all: the topic policy replaces SNS's default one.
                context = {**secure, "aws:SourceArn": policies.resolve.arn(alarm_id)}
                assert policies.allowed(Request("cloudwatch.amazonaws.com", "sns:Publish", resource, context))
                found.add("cloudwatch.amazonaws.com")
    return found


def resource_arn(policies: Policies, kind: str, logical_id: str) -> str:
    if kind in ("AWS::SQS::Queue", "AWS::Logs::LogGroup"):
        return policies.resolve.arn(logical_id)
    return str(policies.resolve({"Ref": logical_id}))  # a topic's or a secret's Ref is its ARN


@pytest.mark.parametrize("env", ENVS, ids=lambda e: e.partition)
def test_every_writer_of_an_encrypted_resource_can_use_its_key(managed: Template, env: Env) -> None:
    policies = Policies(managed.raw, env)
    checked: dict[str, set[str]] = {}
    for kind, (key_property, actions, key_actions, service) in ENCRYPTED.items():
        for logical_id, resource in policies.of_type(kind).items():
            key_id = resource["Properties"].get(key_property)
            if key_id is None or not isinstance(policies.resolve(key_id), str):
                continue
            key_arn = policies.resolve(key_id)
            if not key_arn.startswith(f"arn:{env.partition}:kms:"):
                continue  # an AWS managed key (alias/aws/...) or SQS/SNS-managed encryption
            arn = resource_arn(policies, kind, logical_id)
            found = writers(policies, kind, logical_id, arn, actions)
            via = {"kms:ViaService": f"{service}.{env.region}.amazonaws.com"}
            for writer in found:
                for key_action in key_actions:
                    assert policies.key_allowed(Request(writer, key_action, key_arn, via)), (
                        logical_id,
                        writer,
                        key_action,
                    )
            checked[logical_id] = found
    for kind, key_property in NOT_MODELED.items():
        for logical_id, resource in policies.of_type(kind).items():
            assert not resource["Properties"].get(key_property), f"{logical_id} is encrypted: teach this test its key"
    # Not vacuous: the topic (the reporting steps and the alarms publish) and both secrets (the rotation writes).
    roles = policies.function_roles()
    topic_writers = [w for t, w in checked.items() if t.startswith("NotificationsTopic")]
    assert topic_writers == [{roles["report"], roles["report_failure"], "cloudwatch.amazonaws.com"}]
    secret_writers = [w for t, w in checked.items() if t.startswith("ManagedSecrets")]
    assert secret_writers == [{roles["rotate_secret"]}] * 2


def test_the_reporting_steps_can_publish_the_results_to_the_encrypted_topic(managed: Template) -> None:
    # Report and ReportFailure publish; without the key the publish fails on AWS (and is only logged and counted).
    env = ENVS[0]
    policies = Policies(managed.raw, env)
    (topic_id,) = policies.of_type("AWS::SNS::Topic")
    key_arn = policies.resolve(policies.resources[topic_id]["Properties"]["KmsMasterKeyId"])
    via_sns = {"kms:ViaService": f"sns.{env.region}.amazonaws.com"}
    for step in ("report", "report_failure"):
        role = policies.function_roles()[step]
        topic = policies.resolve({"Ref": topic_id})
        assert policies.allowed(Request(role, "sns:Publish", topic, {"aws:SecureTransport": "true"})), step
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert policies.key_allowed(Request(role, action, key_arn, via_sns)), (step, action)
            assert not policies.key_allowed(Request(role, action, key_arn)), (step, action)  # only through SNS


def test_no_role_holds_kms_actions_it_does_not_use(managed: Template) -> None:
    env = ENVS[0]
    policies = Policies(managed.raw, env)
    (key_id,) = policies.of_type("AWS::KMS::Key")
    key_arn = policies.resolve.arn(key_id)
    via_secrets = {"kms:ViaService": f"secretsmanager.{env.region}.amazonaws.com"}
    unused = (
        "kms:Encrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:CreateGrant",
    )
    roles = policies.function_roles()
    for step, role in roles.items():
        for action in unused:
            assert not policies.key_allowed(Request(role, action, key_arn, via_secrets)), (step, action)
        reads = policies.key_allowed(Request(role, "kms:Decrypt", key_arn, via_secrets))
        writes = policies.key_allowed(Request(role, "kms:GenerateDataKey", key_arn, via_secrets))
        assert reads == (step in KEY_READING_STEPS), step
        assert writes == (step == "rotate_secret"), step
        # The key serves the functions only through Secrets Manager.
        assert not policies.key_allowed(Request(role, "kms:Decrypt", key_arn)), step
    text = json.dumps([p["Properties"] for p in policies.of_type("AWS::IAM::Policy").values()])
    assert "kms:Encrypt" not in text and "kms:ReEncrypt" not in text


# ---- 4. The managed secrets: only the functions that need key material, and keyReaders, read them ----


def secret_arns(policies: Policies) -> dict[str, str]:
    return {
        policies.resolve(s["Properties"]["Name"]): policies.resolve({"Ref": k})
        for k, s in policies.of_type("AWS::SecretsManager::Secret").items()
    }


ADMIN = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]  # an account administrator's identity policy


@pytest.mark.parametrize("env", ENVS, ids=lambda e: e.partition)
def test_only_the_functions_that_need_key_material_and_the_key_readers_read_it(managed: Template, env: Env) -> None:
    policies = Policies(managed.raw, env)
    roles = policies.function_roles()
    # keyReaders are written into the environment-agnostic template as given.
    readers = {roles[s] for s in KEY_READING_STEPS} | {READER}
    (key_id,) = policies.of_type("AWS::KMS::Key")
    key_arn = policies.resolve.arn(key_id)
    via = {"kms:ViaService": f"secretsmanager.{env.region}.amazonaws.com"}
    assert len(secret_arns(policies)) == 2
    for secret in secret_arns(policies).values():
        for statement in policies.resource_statements(secret):
            if statement["Effect"] == "Allow" and statement["Action"] == "secretsmanager:GetSecretValue":
                assert set(statement["Principal"]["AWS"]) == readers
        for step, role in roles.items():
            assert policies.allowed(Request(role, "secretsmanager:GetSecretValue", secret)) == (role in readers), step
            # Even granted everything by someone else, a function outside the list cannot read.
            reads = policies.allowed(Request(role, "secretsmanager:GetSecretValue", secret), extra_identity=ADMIN)
            assert reads == (role in readers), step
        # A key reader (router automation) reads and decrypts without any policy of its own in this account.
        assert policies.allowed(Request(READER, "secretsmanager:GetSecretValue", secret))
        assert policies.key_allowed(Request(READER, "kms:Decrypt", key_arn, via))
        assert not policies.key_allowed(Request(READER, "kms:Decrypt", key_arn))  # only through Secrets Manager
        # Everyone else in the account is denied, administrators included.
        for other in (
            f"arn:{env.partition}:iam::{env.account}:role/Admin",
            f"arn:{env.partition}:iam::{env.account}:user/operator",
            READER.replace("router-automation", "router-automation-2"),
        ):
            assert not policies.allowed(Request(other, "secretsmanager:GetSecretValue", secret), extra_identity=ADMIN)
            # ...while what they may do besides reading the value is left to their own policies.
            assert policies.allowed(Request(other, "secretsmanager:DescribeSecret", secret), extra_identity=ADMIN)


def test_prepare_reads_no_key_material(template: Template, managed: Template) -> None:
    for synthesized in (template, managed):
        policies = Policies(synthesized.raw, ENVS[0])
        role = policies.function_roles()["prepare"]
        secret = ENVS[0].arn("secretsmanager", "secret:macsec/dxcon-aaaa1111-AbCdEf")
        assert not policies.allowed(Request(role, "secretsmanager:GetSecretValue", secret))
        assert policies.allowed(Request(role, "secretsmanager:DescribeSecret", secret))
        actions = json.dumps(policies.identity_statements(role))
        assert "kms:" not in actions and "GetSecretValue" not in actions


def test_the_managed_secrets_are_retained_and_carry_no_value_in_the_template(managed: Template) -> None:
    secrets = managed.resources("AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for secret in secrets.values():
        assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
        # Generated by CloudFormation at creation (a random string, refused as InvalidKeyMaterial until the
        # operator puts the pair), never a value the template would write back.
        generate = secret["Properties"]["GenerateSecretString"]
        assert "SecretStringTemplate" not in generate and "GenerateStringKey" not in generate
    assert "SecretString" not in keys_of(managed.raw)
    # A stack deployed before keeps its secrets: a new logical id would make CloudFormation create a secret
    # of the same name (which fails) and delete the one holding the live key.
    assert set(managed.resources("AWS::SecretsManager::Secret")) == {
        "ManagedSecretsdxconaaaa1111467275B6",
        "ManagedSecretsdxlagbbbb2222AF443631",
    }
    assert set(managed.resources("AWS::KMS::Key")) == {"Key961B73FD"}
    # Deleting one needs its policy changed first: it is the only copy of a live key.
    for policy in managed.resources("AWS::SecretsManager::ResourcePolicy").values():
        deny = [s for s in policy["Properties"]["ResourcePolicy"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Action"] == "secretsmanager:DeleteSecret" for s in deny)
        assert policy["Properties"]["BlockPublicPolicy"] is True


def keys_of(tree: Any) -> set[str]:
    if isinstance(tree, dict):
        return set(tree) | {k for v in tree.values() for k in keys_of(v)}
    if isinstance(tree, list):
        return {k for v in tree for k in keys_of(v)}
    return set()


# ---- 5. Hygiene ----


def test_every_invoke_permission_is_for_this_account_only(managed: Template) -> None:
    permissions = managed.resources("AWS::Lambda::Permission").values()
    principals = sorted(p["Properties"]["Principal"] for p in permissions)
    assert principals == ["events.amazonaws.com"] * 4 + ["secretsmanager.amazonaws.com"]
    for permission in permissions:
        assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_each_function_writes_only_its_own_logs(template: Template) -> None:
    env = ENVS[0]
    policies = Policies(template.raw, env)
    functions = policies.of_type("AWS::Lambda::Function")
    groups = {}
    for function in functions.values():
        props = function["Properties"]
        groups[policies.resolve(props["Role"])] = policies.resolve(props["LoggingConfig"]["LogGroup"])
    for role in groups:
        assert policies.managed_policy_arns(role) == []  # no AWSLambdaBasicExecutionRole (logs on every group)
        for other_role, other_group in groups.items():
            stream = f"{policies.resolve.arn(other_group).removesuffix(':*')}:log-stream:2026/01/01/[$LATEST]abc"
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                assert policies.allowed(Request(role, action, stream)) == (role == other_role), (role, action)
        stranger = env.arn("logs", "log-group:/aws/lambda/someone-else:log-stream:x")
        assert not policies.allowed(Request(role, "logs:PutLogEvents", stranger))
        assert not policies.allowed(Request(role, "logs:CreateLogGroup", env.arn("logs", "log-group:x")))
