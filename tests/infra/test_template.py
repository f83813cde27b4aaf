"""What matters in the synthesized template: permissions, retries, loop bounds, handlers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from infra.settings import DeploymentSettings, SettingsError
from infra.workflow import LAMBDA_RUNTIME_ERRORS, LAMBDA_SERVICE_ERRORS, TRANSIENT_ERRORS
from local.template import Template, synthesize
from macsec_rotation import errors

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def statements_by_function(template: Template) -> dict[str, list[dict[str, Any]]]:
    """Each step function's policy statements, keyed by its handler module name."""
    roles = {}
    for props in (r["Properties"] for r in template.resources("AWS::Lambda::Function").values()):
        roles[props["Role"]["Fn::GetAtt"][0]] = props["Handler"].split(".")[-2]
    found: dict[str, list[dict[str, Any]]] = {step: [] for step in roles.values()}
    for policy in template.resources("AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            if role["Ref"] in roles:
                found[roles[role["Ref"]]] += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def actions(statements: list[dict[str, Any]]) -> set[str]:
    result: set[str] = set()
    for statement in statements:
        listed = statement["Action"]
        result |= set(listed if isinstance(listed, list) else [listed])
    return result


def resources_text(statement: dict[str, Any]) -> str:
    return json.dumps(statement["Resource"])


def test_every_function_runs_python_311_with_tracing_powertools_and_an_existing_handler(template: Template) -> None:
    functions = template.resources("AWS::Lambda::Function")
    # 11 workflow steps (Plan: the dry run; park: every wait), the watcher's tick, the intake, the rotation, the
    # drift check, the router confirmation
    assert len(functions) == 16
    for props in (f["Properties"] for f in functions.values()):
        assert props["Runtime"] == "python3.11"
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert "AWSLambdaPowertoolsPythonV3-python311-arm64" in json.dumps(props["Layers"])
        module = FUNCTIONS / (props["Handler"].rsplit(".", 1)[0].replace(".", "/") + ".py")
        assert module.is_file(), props["Handler"]
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "macsec-key-rotation"


XRAY = {"xray:PutTelemetryRecords", "xray:PutTraceSegments"}  # tracing; X-Ray has no resource-level permissions


def test_each_step_gets_only_the_actions_its_logic_calls(template: Template) -> None:
    # Which resources and under which conditions: tests/infra/test_iam_boundaries.py evaluates the policies.
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}  # its own log group only
    granted = {step: actions(s) - XRAY - logs for step, s in statements_by_function(template).items()}
    assert all(actions(s) >= logs for s in statements_by_function(template).values())
    describe = {"directconnect:DescribeConnections", "directconnect:DescribeLags"}
    read_secret = {"secretsmanager:GetSecretValue", "kms:Decrypt"}  # kms: secrets under the stack's key
    associate = {"directconnect:AssociateMacSecKey", "iam:CreateServiceLinkedRole", "iam:GetRole"}
    # Every step that calls Direct Connect takes its turn in the stack's budget (an update of the pace table).
    pace = {"dynamodb:UpdateItem", "dynamodb:GetItem"}
    # Prepare decides from metadata: it never reads key material.
    assert granted["prepare"] == describe | {"secretsmanager:DescribeSecret"} | pace
    plan_reads = describe | read_secret | {"secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"}
    lock = {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"}  # an abort request is read there too
    # Begin takes the lock, decides again (the new key's CKN, which old keys a version holds) and associates.
    assert granted["begin"] == plan_reads | associate | lock | pace
    # Under routerConfirmation callback: events for the router automation on the default bus (one type each).
    put_events = {"events:PutEvents"}
    disassociate = {"directconnect:DisassociateMacSecKey"}
    assert granted["clean_up"] == describe | {"directconnect:UpdateConnection", "directconnect:UpdateLag"} | (
        disassociate | pace
    )
    # RollBackNewKey also forgets a confirmation of the key it rolled back (the waits table, under the stack's key).
    waits_key = {"kms:Decrypt"}  # DynamoDB decrypts the table key with the caller's credentials
    assert granted["roll_back"] == describe | disassociate | put_events | {"dynamodb:DeleteItem"} | waits_key | pace
    assert granted["ask_router"] == put_events
    answer = {"states:SendTaskSuccess"}
    # Parking: the task token (an update), the watcher's lease (a put), the lock renewed before a router wait,
    # and the watcher started.
    assert granted["park"] == {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem"} | waits_key | {
        "states:StartExecution"
    }
    # The watcher: one read of the fleet a tick, the parked tasks (answers, diversions, heartbeats, its lease),
    # abort requests and locks, the watcher's successor, and the router automation's event once old keys are gone.
    assert (
        granted["watch"]
        == describe
        | answer
        | {"states:SendTaskFailure", "states:SendTaskHeartbeat", "states:StartExecution"}
        | {
            "dynamodb:Scan",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
        }
        | waits_key
        | put_events
    )
    assert granted["router_confirmed"] == {
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "dynamodb:DeleteItem",
    } | waits_key | answer | {
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
        "sqs:GetQueueUrl",
    }
    # The restore finds the planned keys' pairs among every version of the secret.
    assert (
        granted["restore_previous"]
        == describe | read_secret | associate | {"secretsmanager:ListSecretVersionIds"} | pace
    )
    # The reports publish to the notification topic (its key only as SNS uses it for them).
    notify = {"sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"}
    assert granted["report"] == granted["report_failure"] == notify
    dead_letters = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    assert granted["intake"] == {"secretsmanager:DescribeSecret", "states:StartExecution"} | dead_letters
    write_secret = {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}
    # Secrets Manager asks KMS for a data key on PutSecretValue, and decrypts on GetSecretValue: nothing else.
    key_use = {"kms:GenerateDataKey"}
    assert granted["rotate_secret"] == read_secret | write_secret | key_use | {"secretsmanager:DescribeSecret"}
    # A dry run decides as Begin does, with the same reads and nothing more (no lock, no abort to read).
    assert granted["plan"] == plan_reads | pace
    assert granted["release_lock"] == lock
    assert granted["drift_check"] == describe | read_secret | {"secretsmanager:ListSecrets"} | pace


def test_no_direct_connect_or_secrets_manager_action_has_a_wildcard_resource(template: Template) -> None:
    for step, statements in statements_by_function(template).items():
        for statement in statements:
            scoped = actions([statement])
            text = resources_text(statement)
            # X-Ray, ListSecrets and SendTaskSuccess (the token names the task) have no resource-level permissions
            # (the drift check filters by prefix).
            unscoped = XRAY | {"secretsmanager:ListSecrets"}
            unscoped |= {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
            if step == "watch":  # DescribeConnections/DescribeLags without an id: the whole fleet, one read a tick
                unscoped |= {"directconnect:DescribeConnections", "directconnect:DescribeLags"}
            assert statement["Resource"] != "*" or scoped <= unscoped, (step, scoped)
            if any(a.startswith("directconnect:") for a in scoped) and statement["Resource"] != "*":
                assert all(part in ("dxcon/*", "dxlag/*") for part in _arn_tails(statement)), (step, text)
                assert "AWS::AccountId" in text and "AWS::Region" in text
            if any(a.startswith("secretsmanager:") for a in scoped - {"secretsmanager:ListSecrets"}):
                assert "secret:macsec/*" in text, (step, text)
            if "iam:CreateServiceLinkedRole" in scoped:
                assert statement["Condition"] == {"StringEquals": {"iam:AWSServiceName": "directconnect.amazonaws.com"}}


def _arn_tails(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
    return [json.dumps(r).split(":")[-1].strip('"]} ') for r in resources]


def definition(template: Template) -> dict[str, Any]:
    return template.definition("us-east-1", "123456789012")


def all_states(states: dict[str, Any]) -> dict[str, Any]:
    found = dict(states)
    for state in states.values():
        if state["Type"] == "Map":
            found |= all_states(state["ItemProcessor"]["States"])
    return found


def test_every_lambda_task_retries_service_errors_and_throttling_with_jitter_but_not_client_errors(
    template: Template,
) -> None:
    tasks = {
        n: s
        for n, s in all_states(definition(template)["States"]).items()
        if s["Type"] == "Task" and ":lambda:" in s["Resource"]
    }
    assert len(tasks) == 16  # Plan (the dry run), AskRouter and the five parked waits included
    for name, task in tasks.items():
        retries = {tuple(r["ErrorEquals"]): r for r in task["Retry"]}
        assert set(retries) == {tuple(LAMBDA_SERVICE_ERRORS), tuple(LAMBDA_RUNTIME_ERRORS), tuple(TRANSIENT_ERRORS)}
        assert all(r["JitterStrategy"] == "FULL" and r["BackoffRate"] > 1 for r in retries.values()), name
        assert "States.ALL" not in json.dumps(task["Retry"]), name
    # The steps that run once old keys are going never give up on a crash sooner than on throttling.
    for name, task in tasks.items():
        runtime = next(r for r in task["Retry"] if r["ErrorEquals"] == LAMBDA_RUNTIME_ERRORS)
        safety_net = name in ("CleanUp", "WaitForRemoval", "RestorePreviousKey", "WaitForRestore")
        assert runtime["MaxAttempts"] == (10 if safety_net else 2)
    assert set(TRANSIENT_ERRORS) == {
        "ThrottlingException",
        "TooManyRequestsException",
        "DirectConnectServerException",
        "DirectConnectBusy",
    }
    # The names the handlers raise for what survived the SDK's retries are the ones retried here.
    raised = {"ThrottlingException", "DirectConnectServerException", "DirectConnectBusy"}
    assert raised <= {cls.__name__ for cls in errors.RotationError.__subclasses__()} & set(TRANSIENT_ERRORS)


def test_no_state_waits_on_a_timer_every_wait_parks_on_the_watcher(template: Template) -> None:
    states = all_states(definition(template)["States"])
    assert not [n for n, s in states.items() if s["Type"] == "Wait"]
    parked = {n: s for n, s in states.items() if s["Type"] == "Task" and "waitForTaskToken" in s["Resource"]}
    conditions = {n: s["Parameters"]["Payload"]["condition"] for n, s in parked.items()}
    assert conditions == {
        "WaitForLock": "lockFree",
        "WaitForRouter": "routerConfirmed",
        "WaitForAssociation": "associated",
        "WaitForRemoval": "removed",
        "WaitForRestore": "restored",
    }
    for name, task in parked.items():
        # A minute for the waits the watcher reads Direct Connect for; five for the lock and router waits (each also
        # answered by its own event, beaten on the watcher's slowest tick).
        assert task["HeartbeatSeconds"] == (300 if name in ("WaitForLock", "WaitForRouter") else 60), name
    # A wait leads on only to a Choice on the watcher's answer, or (association, removal: the usual outcome) to the
    # next step, with the other outcomes diverted by a task failure to the roll-back or the restore.
    assert {n: states[t["Next"]]["Type"] for n, t in parked.items()} == {
        "WaitForLock": "Choice",
        "WaitForRouter": "Choice",
        "WaitForAssociation": "Task",
        "WaitForRemoval": "Task",
        "WaitForRestore": "Choice",
    }
    diverted = {n: [c for c in t["Catch"] if c["ResultPath"] == "$.answer"] for n, t in parked.items()}
    assert {n: [(c["ErrorEquals"], c["Next"]) for c in d] for n, d in diverted.items() if d} == {
        "WaitForAssociation": [(["KeyNotAssociated"], "RollBackNewKey")],
        "WaitForRemoval": [(["EncryptionDown"], "RestorePreviousKey")],
    }


def test_failures_end_in_fail_states_with_stable_error_and_cause(template: Template) -> None:
    states = all_states(definition(template)["States"])
    fails = {n: s for n, s in states.items() if s["Type"] == "Fail"}
    # TargetBusy and TargetAborted: only where no lock is held (never taken, or given back by Begin).
    assert set(fails) == {"RotationFailed", "TargetFailed", "TargetBusy", "TargetAborted"}
    assert all("ErrorPath" in s and "CausePath" in s for s in fails.values())
    # Inside an iteration every way to TargetFailed releases the target's lock first.
    assert [n for n, s in states.items() if s.get("Next") == "TargetFailed"] == ["ReleaseLockAfterFailure"]
    top = definition(template)["States"]
    for name in ("Prepare", "RotateEachTarget"):
        assert top[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "ReportFailure"}
        ]


def test_an_abort_is_routed_only_from_the_safe_points(template: Template) -> None:
    # The status "aborted" (an operator's abort) leads out of the iteration only before any old key is removed:
    # LockTaken? (no lock held), WhereToStart? (Begin gave its lock back), the association wait (its diversion,
    # RollBackNewKey, removes the new key; the old ones are still there) and RouterConfirmed? (the same).
    iteration = definition(template)["States"]["RotateEachTarget"]["ItemProcessor"]["States"]
    routed = {
        name: rule["Next"]
        for name, state in iteration.items()
        if state["Type"] == "Choice"
        for rule in state["Choices"]
        if rule.get("StringEquals") == "aborted"
    }
    assert routed == {"LockTaken?": "TargetAborted", "WhereToStart?": "TargetAborted"}
    assert iteration["RouterConfirmed?"]["Default"] == "RollBackNewKey"
    assert iteration["RollBackNewKey"]["Next"] == "ReleaseLockAfterFailure"


def test_every_step_that_may_hold_the_lock_releases_it_on_an_unexpected_error(template: Template) -> None:
    iteration = definition(template)["States"]["RotateEachTarget"]["ItemProcessor"]["States"]
    lambda_tasks = {n: s for n, s in iteration.items() if s["Type"] == "Task"}
    unguarded = {"ReleaseLock", "ReleaseLockAfterFailure"}  # the release itself
    for name, task in lambda_tasks.items():
        if name in unguarded:
            assert "Catch" not in task, name
        elif name.startswith("WaitFor"):  # parked on the watcher
            assert task["Catch"][-1] == {
                "ErrorEquals": ["States.ALL"],
                "ResultPath": "$.caught",
                "Next": "ReleaseLockAfterFailure",
            }
            assert [c["ErrorEquals"] for c in task["Catch"][:2]] == [["States.HeartbeatTimeout"], ["States.Timeout"]]
            assert task["Catch"][0]["Next"] == f"{name}Again" and iteration[f"{name}Again"]["Next"] == name
        else:
            assert task["Catch"] == [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "ReleaseLockAfterFailure"}
            ], name
    assert iteration["ReleaseLock"]["End"] is True  # the last state of a target's iteration
    assert definition(template)["States"]["RotateEachTarget"]["ItemProcessor"]["StartAt"] == "Begin"
    # The release names the execution as the lock's owner: a failed step's input may predate the lock.
    for name in ("ReleaseLock", "ReleaseLockAfterFailure"):
        assert iteration[name]["Parameters"]["executionId.$"] == "$$.Execution.Id", name


def test_the_reports_notify_and_end_the_execution(template: Template) -> None:
    # Report and ReportFailure publish the result themselves (gateways/notifications.py: a failed publish is logged
    # and counted, never an error), which saves a state transition per rotation.
    states = definition(template)["States"]
    assert not [n for n, s in all_states(states).items() if ":sns:" in s.get("Resource", "")]
    assert states["Report"]["End"] is True
    assert states["ReportFailure"]["Next"] == "RotationFailed"


def test_the_state_machine_is_standard_logged_and_traced(template: Template) -> None:
    machines = template.resources("AWS::StepFunctions::StateMachine")
    props = machines[template.state_machine_logical_id()]["Properties"]
    assert props.get("StateMachineType", "STANDARD") == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    # The watcher: Express, named (its tick starts its successor by name), at most five minutes, traced.
    (watcher,) = [m["Properties"] for m in machines.values() if m["Properties"].get("StateMachineType") == "EXPRESS"]
    assert watcher["StateMachineName"] == "MacsecKeyRotation-watcher"
    assert watcher["TracingConfiguration"] == {"Enabled": True}


def test_cfn_lint_passes(template: Template) -> None:
    # W3005 (redundant DependsOn) is what CDK itself emits for every function and role.
    matches = [
        m for m in lint(json.dumps(template.raw), config=ManualArgs(regions=["us-east-1"])) if m.rule.id != "W3005"
    ]
    assert not matches, [f"{m.rule.id} {m.message}" for m in matches]


@pytest.mark.parametrize(
    ("context", "names"),
    [
        ({"pollIntervalSeconds": 0}, "pollIntervalSeconds"),
        ({"pollIntervalSeconds": "often"}, "pollIntervalSeconds"),
        ({"secretPrefix": "macsec/*"}, "secretPrefix"),
        ({"secretPrefix": "macsec"}, "must end with '/'"),
        ({"keyReaders": "arn:aws:iam::123456789012:role/*"}, "keyReaders"),
        ({"keyReaders": "router-automation"}, "keyReaders"),
        ({"keyReaders": "arn:aws:iam::123456789012:root"}, "keyReaders"),
        ({"keyReaders": "arn:aws:sts::123456789012:assumed-role/r/s"}, "keyReaders"),
        ({"keyReaders": ["arn:aws:iam::123456789012:user/a", "arn:aws:iam::123456789012:user/a"]}, "twice"),
        ({"associationTimeoutSeconds": 86400, "routerConfirmationTimeoutSeconds": 86400}, "history events"),
        ({"logRetentionDays": 42}, "logRetentionDays"),
        ({"maxTargetsPerSecret": 7}, "25,000"),
        ({"dxRequestsPerSecond": 2}, "dxRequestsPerSecond 2.0 leaves the rotations 0.00 requests a second"),
        ({"dxRequestsPerSecond": 0}, "dxRequestsPerSecond"),
        ({"notificationEmail": "ops"}, "notificationEmail"),
        ({"maxConcurrentTargets": 100}, "maxConcurrentTargets"),
    ],
)
def test_bad_settings_fail_synth_with_a_readable_message(context: dict[str, Any], names: str) -> None:
    with pytest.raises(SettingsError, match=names):
        DeploymentSettings.from_context(context)


def test_the_steps_take_the_direct_connect_budget_less_the_watchers_reads() -> None:
    # The watcher's two pages a tick set aside from the budget (8 a second here), the rest for the steps.
    template = synthesize((("dxRequestsPerSecond", 8),))
    paced = {
        props["Handler"].split(".")[-2]: props["Environment"]["Variables"].get("DX_REQUESTS_PER_SECOND")
        for props in (f["Properties"] for f in template.resources("AWS::Lambda::Function").values())
    }
    assert {step for step, rate in paced.items() if rate} == {
        "prepare",
        "begin",
        "roll_back",
        "clean_up",
        "restore_previous",
        "plan",
        "drift_check",
    }
    assert set(paced.values()) - {None} == {"6"}
