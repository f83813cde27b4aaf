"""The operator CLI (cli/, the `macsec-rotation` command) in-process against the embedded AWS (--local), its
--json documents and exit codes, and its errors against an empty or absent AWS. tests/workflow/
test_cli_command.py runs the installed command itself."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cli.main import main
from tests.conftest import new_key

C, S = "dxcon-aaaa1111", "macsec/dxcon-aaaa1111"


def scenario(tmp_path: Path, events: list[dict[str, Any]], faults: list[dict[str, Any]] | None = None) -> str:
    old, new = new_key(), new_key()
    path = tmp_path / "account.json"
    path.write_text(
        json.dumps(
            {
                "connections": [{"id": C, "keys": [{"ckn": old[0], "cak": old[1]}]}],
                "secrets": [
                    {
                        "name": S,
                        "tags": {"macsec:target": C},
                        "versions": [
                            {"id": "v1", "value": {"ckn": old[0], "cak": old[1]}, "stages": ["AWSPREVIOUS"]},
                            {"id": "v2", "value": {"ckn": new[0], "cak": new[1]}, "stages": ["AWSCURRENT"]},
                        ],
                    }
                ],
                "events": events,
                "faults": faults or [],
            }
        )
    )
    return str(path)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def run_json(*argv: str) -> tuple[int, dict[str, Any]]:
    """With --json, stdout is exactly one JSON document (json.loads refuses anything after it)."""
    code, output = run(*argv)
    document: dict[str, Any] = json.loads(output)
    return code, document


def test_start_follows_the_rotation_to_its_result(tmp_path: Path) -> None:
    code, output = run(
        "--local", scenario(tmp_path, []), "start", "--secret", S, "--target", C, "--mode", "must_encrypt"
    )
    assert code == 0, output
    for state in ("Prepare", "Begin", "WaitForAssociation", "CleanUp", "WaitForRemoval", "Report"):
        assert state in output
    assert "keys: " in output and "associating" in output and "associated" in output
    assert f"{C}: Rotated" in output and "mode must_encrypt" in output


def test_status_shows_drift_and_then_sync(tmp_path: Path) -> None:
    code, output = run("--local", scenario(tmp_path, []), "status")
    assert code == 1 and "CurrentKeyMissing, StaleKeys" in output
    code, output = run(
        "--local", scenario(tmp_path, [{"type": "console", "input": {"secretId": S}}]), "status", "--target", C
    )
    assert code == 0 and "in sync" in output and "current" in output


def test_history_lists_recent_rotations(tmp_path: Path) -> None:
    code, output = run(
        "--local", scenario(tmp_path, [{"type": "console", "name": "nightly", "input": {"secretId": S}}]), "history"
    )
    assert code == 0
    assert "SUCCEEDED" in output and "nightly" in output and f"{C} Rotated" in output


def test_an_unknown_target_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--local", scenario(tmp_path, []), "status", "--target", "dxcon-ffff0000")[0] == 2
    assert "names dxcon-ffff0000" in capsys.readouterr().err


def test_an_unknown_stack_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real_client = boto3.session.Session.client

    def client(self: boto3.session.Session, service: str, *args: Any, **kwargs: Any) -> Any:
        made = real_client(self, service, *args, **kwargs)
        if service == "cloudformation":  # CloudFormation's answer for a stack that does not exist
            stubber = Stubber(made)
            stubber.add_client_error(
                "describe_stack_resources", "ValidationError", "Stack with id MacsecKeyRotation does not exist"
            )
            stubber.activate()
        return made

    for key, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3.session.Session, "client", client)
    assert run("--region", "eu-west-1", "history")[0] == 2
    assert "stack MacsecKeyRotation not found in eu-west-1" in capsys.readouterr().err


def test_missing_credentials_are_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert run("--region", "eu-west-1", "status")[0] == 2
    assert "no AWS credentials" in capsys.readouterr().err


def test_rerun_recovers_a_rotation_that_failed(tmp_path: Path) -> None:
    # The associate function crashes on every try of the first run (a bad deployment, since fixed).
    crashes = [{"function": "begin", "kind": "crash", "times": 3}]  # the try and its two retries
    failed = scenario(tmp_path, [{"type": "console", "name": "nightly", "input": {"secretId": S}}], crashes)
    code, output = run("--local", failed, "rerun", "nightly")
    assert code == 0, output
    assert "Begin" in output and f"{C}: Rotated" in output


def test_rerun_of_an_unknown_or_succeeded_execution_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    account = scenario(tmp_path, [{"type": "console", "name": "ok", "input": {"secretId": S}}])
    assert run("--local", account, "rerun", "ok")[0] == 2
    assert "ok is SUCCEEDED: only a failed" in capsys.readouterr().err
    assert run("--local", account, "rerun", "nope")[0] == 2
    assert "no execution named nope" in capsys.readouterr().err


def test_json_documents_keep_the_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a drifted target: 1, with the findings in the document; --json goes before or after the command
    for argv in (("--json", "status"), ("status", "--json")):
        code, document = run_json("--local", scenario(tmp_path, []), *argv)
        assert code == 1 and document["command"] == "status" and document["inSync"] is False
        (target,) = document["targets"]
        assert target["target"] == C and target["findings"] == ["CurrentKeyMissing", "StaleKeys"]
        assert [key["current"] for key in target["keys"]] == [False]
    # a rotation that fails: 1, with the error; its progress went to stderr
    crashes = [{"function": "begin", "kind": "crash", "times": 3}]
    code, document = run_json("--local", scenario(tmp_path, [], crashes), "start", "--secret", S, "--json")
    assert code == 1 and document["status"] == "FAILED" and document["error"]
    assert "Begin" in [state["state"] for state in document["states"]]
    assert "started cli-" in capsys.readouterr().err
    # an error the operator can fix: 2, and still one document
    code, document = run_json("--local", scenario(tmp_path, []), "--json", "status", "--target", "dxcon-ffff0000")
    assert code == 2 and "names dxcon-ffff0000" in document["error"]
    assert "names dxcon-ffff0000" in capsys.readouterr().err


# ---- abort: the command against an execution that is still running ----

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def abort_while_running(scenario_file: str, at: float) -> tuple[int, dict[str, Any], str]:
    """Play the scenario without its own abort event, then run `abort rotate --json` at virtual second `at`
    against the embedded AWS while the execution runs, as the command does against AWS."""
    from cli.account import embedded_account  # noqa: PLC0415
    from cli.commands import Output, abort  # noqa: PLC0415
    from local.runner import LocalAws  # noqa: PLC0415
    from local.scenario import load  # noqa: PLC0415
    from local.simulation import _play, _seed  # noqa: PLC0415
    from local.template import synthesize  # noqa: PLC0415

    loaded = load(SCENARIOS / scenario_file)
    loaded = loaded.model_copy(update={"events": [e for e in loaded.events if e.type != "abort"]})
    out, err = io.StringIO(), io.StringIO()
    with LocalAws(
        region=loaded.region, account=loaded.account, template=synthesize(tuple(sorted(loaded.settings.items())))
    ) as aws:
        _play(aws, loaded, _seed(aws, loaded))
        aws.advance_to(at)
        code, document = abort(embedded_account(aws), Output(out=out, err=err, as_json=True), "rotate")
    return code, document, err.getvalue()


def test_abort_during_the_association_wait_is_honoured_and_exits_0() -> None:
    code, document, progress = abort_while_running("abort-during-association-connection.json", 60)
    assert code == 0, document
    assert document["honoured"] is True and document["alreadyEnded"] is False
    assert (document["status"], document["error"]) == ("FAILED", "Aborted")
    assert "abort requested for rotate" in progress


def test_abort_after_removal_started_is_not_honoured_and_exits_1() -> None:
    code, document, _ = abort_while_running("abort-after-removal.json", 100)
    assert code == 1, document
    assert document["honoured"] is False and (document["status"], document["error"]) == ("SUCCEEDED", None)
