"""`macsec-rotation plan` and a dry run (`"dryRun": true`): what a rotation would do, decided by the workflow's
own code, changing nothing (the emulated account compared before and after), and matching what the rotation
then does."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cli.account import Account
from cli.commands import Output, plan, start
from cli.main import main
from local.runner import LocalAws
from local.scenario import parse
from local.simulation import scenario_world
from macsec_rotation.settings import RuntimeSettings
from tests.conftest import new_key

WRITES = ("AssociateMacSecKey", "DisassociateMacSecKey", "UpdateConnection", "UpdateLag")
A, B, C = "dxcon-aaaa1111", "dxcon-bbbb2222", "dxcon-cccc3333"
OLD, NEW, ORPHAN = new_key(), new_key(), new_key()  # ORPHAN: on the link, in no version of the secret
FULL = [new_key() for _ in range(3)]


def secret(name: str, target: str, current: object, mode: str | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "tags": {"macsec:target": target, **({"macsec:encryption-mode": mode} if mode else {})},
        "versions": [
            {"id": "v1", "value": {"ckn": OLD[0], "cak": OLD[1]}, "stages": ["AWSPREVIOUS"]},
            {"id": "v2", "value": current, "stages": ["AWSCURRENT"]},
        ],
    }


def raw_scenario(events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "connections": [
            {
                "id": A,
                "encryptionMode": "should_encrypt",
                "keys": [{"ckn": OLD[0], "cak": OLD[1]}, {"ckn": ORPHAN[0], "cak": ORPHAN[1]}],
            },
            {"id": B, "keys": [{"ckn": k[0], "cak": k[1]} for k in FULL]},
            {"id": C, "keys": [{"ckn": OLD[0], "cak": OLD[1]}]},
        ],
        "secrets": [
            secret(f"macsec/{A}", A, {"ckn": NEW[0], "cak": NEW[1]}, "must_encrypt"),
            secret(f"macsec/{B}", B, {"ckn": NEW[0], "cak": NEW[1]}),
            secret(f"macsec/{C}", C, "not a key"),
        ],
        "events": events or [],
    }


@contextmanager
def world(events: list[dict[str, Any]] | None = None) -> Iterator[tuple[LocalAws, Account]]:
    with scenario_world(parse(raw_scenario(events))) as aws:
        yield aws, Account(aws.client, aws.state_machine_arn, aws.advance_by, RuntimeSettings.from_env)


def account_state(aws: LocalAws) -> dict[str, Any]:
    """Everything a rotation could change: the targets, every secret's versions, the lock table, and the
    Direct Connect writes made so far."""
    sm, dynamodb = aws.client("secretsmanager"), aws.client("dynamodb")
    secrets = {
        s["Name"]: sorted(
            (v["VersionId"], sorted(v.get("VersionStages", [])))
            for v in sm.list_secret_version_ids(SecretId=s["ARN"], IncludeDeprecated=True)["Versions"]
        )
        for s in sm.list_secrets()["SecretList"]
    }
    # (not the Direct Connect budget's counter: a read takes its turn too)
    locks = {
        name: dynamodb.scan(TableName=name)["Items"]
        for name in aws.template.tables()
        if not name.startswith("DirectConnectPace")
    }
    return {
        "dx": aws.dx.snapshot(),
        "secrets": secrets,
        "locks": locks,
        "writes": {op: aws.dx.calls.get(op, 0) for op in WRITES},
    }


def planned(account: Account, *args: str | None) -> tuple[int, dict[str, Any]]:
    secret_id, target, mode, version = (*args, None, None, None, None)[:4]
    assert secret_id is not None
    return plan(account, Output(io.StringIO(), io.StringIO(), as_json=True), secret_id, target, mode, version)


def test_plan_changes_nothing_and_the_rotation_then_does_what_it_said() -> None:
    with world() as (aws, account):
        before = account_state(aws)
        code, document = planned(account, f"macsec/{A}")
        assert account_state(aws) == before
        assert before["writes"] == dict.fromkeys(WRITES, 0) and not any(before["locks"].values())
        assert code == 0 and document["wouldSucceed"] is True
        (target,) = document["targets"]
        assert target["action"] == "Associate" and target["newCkn"] == NEW[0]
        assert target["removeCkns"] == [OLD[0]]
        assert [k["ckn"] for k in target["keptCkns"]] == [ORPHAN[0]]
        assert (target["encryptionModeBefore"], target["encryptionModeAfter"]) == ("should_encrypt", "must_encrypt")

        code, rotated = start(account, Output(io.StringIO(), io.StringIO(), as_json=True), f"macsec/{A}", None, None)
        assert code == 0, rotated
        (result,) = rotated["results"]
        assert result["newCkn"] == target["newCkn"]
        assert result["removedCkns"] == target["removeCkns"]
        assert result["keptCkns"] == target["keptCkns"]
        assert result["encryptionModeBefore"] == target["encryptionModeBefore"]
        assert result["encryptionModeAfter"] == target["encryptionModeAfter"]
        assert result["tighteningSkipped"] == target["tighteningSkipped"]

        # Planned again now: only the kept key is left beside the new one, and it stays; the mode is there.
        code, again = planned(account, f"macsec/{A}")
        (target,) = again["targets"]
        assert code == 0 and target["action"] == "CleanUp" and target["removeCkns"] == []
        assert [k["ckn"] for k in target["keptCkns"]] == [ORPHAN[0]]
        assert target["encryptionModeAfter"] == "must_encrypt" and target["tighteningSkipped"] == "already must_encrypt"


def test_a_dry_run_execution_reports_the_plan_and_changes_nothing() -> None:
    with world() as (aws, account):
        before = account_state(aws)
        _, expected = planned(account, f"macsec/{A}")
        sfn = aws.client("stepfunctions")
        arn = aws.start_execution({"secretId": f"macsec/{A}", "dryRun": True}, name="dry")
        aws.wait_for_executions()
        described = sfn.describe_execution(executionArn=arn)
        assert described["status"] == "SUCCEEDED", described
        output = json.loads(described["output"])
        assert output == {**expected, "secretId": output["secretArn"]}
        assert account_state(aws) == before
        # What the dry run refuses, it refuses as the rotation would: with the same error and cause.
        _, refused = planned(account, f"macsec/{B}")
        arn = aws.start_execution({"secretId": f"macsec/{B}", "dryRun": True}, name="dry-full")
        aws.wait_for_executions()
        output = json.loads(sfn.describe_execution(executionArn=arn)["output"])
        assert output["wouldSucceed"] is False and output["targets"] == refused["targets"]
        assert account_state(aws) == before


@pytest.mark.parametrize(
    ("secret_id", "target", "error", "cause"),
    [
        (f"macsec/{A}", B, "TargetNotAuthorized", "is not bound to secret"),
        (f"macsec/{B}", None, "KeychainFull", "already holds 3 keys"),
        (f"macsec/{C}", None, "InvalidKeyMaterial", "version"),
    ],
    ids=["unbound", "keychain-full", "malformed-key"],
)
def test_refusals_name_the_error_and_change_nothing(secret_id: str, target: str | None, error: str, cause: str) -> None:
    with world() as (aws, account):
        before = account_state(aws)
        code, document = planned(account, secret_id, target)
        assert account_state(aws) == before
    assert code == 1 and document["wouldSucceed"] is False
    errors = [document.get("error")] + [t["error"] for t in document["targets"]]
    causes = [document.get("cause") or ""] + [t["cause"] or "" for t in document["targets"]]
    assert error in errors and any(cause in c for c in causes), document


def test_the_command_prints_one_document_and_exits_1_when_refused(tmp_path: Any) -> None:
    path = tmp_path / "account.json"
    path.write_text(json.dumps(raw_scenario()))
    out = io.StringIO()
    code = main(["--local", str(path), "plan", "--secret", f"macsec/{B}", "--json"], out=out, err=io.StringIO())
    document = json.loads(out.getvalue())
    assert code == 1 and document["command"] == "plan" and document["targets"][0]["error"] == "KeychainFull"
    out = io.StringIO()
    assert main(["--local", str(path), "plan", "--secret", f"macsec/{A}"], out=out, err=io.StringIO()) == 0
    text = out.getvalue()
    assert f"{A}: Associate, key {NEW[0]}" in text and f"remove {OLD[0]}" in text and f"keep   {ORPHAN[0]}" in text
    assert "should_encrypt -> must_encrypt" in text and "the rotation would succeed" in text
    assert (
        main(["--local", str(path), "plan", "--secret", f"macsec/{A}", "--target", "nonsense"], out=io.StringIO()) == 1
    )
