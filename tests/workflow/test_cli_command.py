"""The installed command `macsec-rotation` (pyproject [project.scripts], installed by `make dev`): run as an
operator runs it, from another directory and without PYTHONPATH, against the embedded AWS (--local)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from tests.workflow.test_cli import C, S, scenario

ROOT = Path(__file__).resolve().parents[2]
COMMAND = Path(sys.executable).parent / "macsec-rotation"
DEMO = ROOT / "local" / "scenarios" / "demo.json"
ABORTED = ROOT / "tests" / "scenarios" / "abort-during-association-connection.json"
FAILED_FIRST = ROOT / "tests" / "scenarios" / "fault-lambda-timeouts-exhausted-then-rerun.json"


def command(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    assert COMMAND.exists(), f"{COMMAND} is missing: run `make dev`, which installs the project's command"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    return subprocess.run(
        [str(COMMAND), *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def one_document(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """stdout is exactly one JSON document: json.loads refuses anything before or after it."""
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_the_command_is_installed_and_lists_its_commands(tmp_path: Path) -> None:
    (script,) = entry_points(group="console_scripts", name="macsec-rotation")
    assert script.value == "cli.main:main"
    done = command(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    for name in ("start", "status", "history", "rerun", "abort", "--local", "--json"):
        assert name in done.stdout


def test_status_prints_one_document_and_keeps_its_exit_code(tmp_path: Path) -> None:
    done = command(tmp_path, "--local", str(DEMO), "status", "--json")
    assert done.returncode == 0, done.stderr
    document = one_document(done)
    assert document["inSync"] is True
    assert [t["target"] for t in document["targets"]] == ["dxcon-aaaa1111", "dxlag-bbbb2222"]


def test_history_prints_one_document(tmp_path: Path) -> None:
    done = command(tmp_path, "--local", str(DEMO), "--json", "history")
    assert done.returncode == 0, done.stderr
    executions = one_document(done)["executions"]
    assert executions and {e["status"] for e in executions} == {"SUCCEEDED"}
    assert {r["outcome"] for e in executions for r in e["results"]} == {"Rotated"}


def test_start_prints_progress_to_stderr_and_the_result_to_stdout(tmp_path: Path) -> None:
    account = scenario(tmp_path, [])
    done = command(
        tmp_path, "--local", account, "start", "--secret", S, "--target", C, "--mode", "must_encrypt", "--json"
    )
    assert done.returncode == 0, done.stderr
    document = one_document(done)
    assert document["status"] == "SUCCEEDED"
    (result,) = document["results"]
    assert result["target"] == C and result["outcome"] == "Rotated" and result["encryptionModeAfter"] == "must_encrypt"
    checks = [s for s in document["states"] if s["state"] == "WaitForAssociation"]
    assert checks and all(s["keys"] for s in checks)
    assert "started cli-" in done.stderr and "WaitForAssociation" in done.stderr


def test_rerun_prints_one_document(tmp_path: Path) -> None:
    done = command(tmp_path, "--local", str(FAILED_FIRST), "rerun", "first", "--json")
    assert done.returncode == 0, done.stderr
    document = one_document(done)
    assert document["command"] == "rerun" and document["rerunOf"] == "first" and document["status"] == "SUCCEEDED"
    assert document["input"] == {"secretId": "macsec/dxcon-aaaa1111"}


def test_an_error_is_exit_status_2_and_still_one_document(tmp_path: Path) -> None:
    done = command(tmp_path, "--local", str(tmp_path / "missing.json"), "status", "--json")
    assert done.returncode == 2
    assert "error" in one_document(done) and done.stderr.startswith("error: ")


def test_plan_prints_one_document_and_changes_nothing(tmp_path: Path) -> None:
    done = command(
        tmp_path, "--local", scenario(tmp_path, []), "plan", "--secret", S, "--mode", "must_encrypt", "--json"
    )
    assert done.returncode == 0, done.stderr
    document = one_document(done)
    assert document["command"] == "plan" and document["wouldSucceed"] is True
    (target,) = document["targets"]
    assert target["target"] == C and target["action"] == "Associate" and len(target["removeCkns"]) == 1
    assert target["encryptionModeAfter"] == "must_encrypt"


def test_abort_of_an_execution_that_already_ended_reports_it_and_exits_0(tmp_path: Path) -> None:
    done = command(tmp_path, "--local", str(ABORTED), "abort", "rotate")
    assert done.returncode == 0, done.stderr
    assert "rotate already ended FAILED (Aborted): nothing to abort" in done.stdout
    done = command(tmp_path, "--local", str(DEMO), "--json", "abort", "nope")
    assert done.returncode == 2 and "no execution named nope" in one_document(done)["error"]
