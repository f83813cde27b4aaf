"""`macsec-rotation confirm`: an operator confirms the router side of a rotation that waits for it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SCENARIO = "router-callback-no-automation-connection.json"  # callback, and no router automation at all
TARGET = "dxcon-aaaa1111"


def confirm_while_waiting(
    at: float, ckn: str | None, router_has_key: bool
) -> tuple[int, dict[str, Any], dict[str, Any], str]:
    """Play the scenario; at virtual second `at`, with the rotation parked on the router, load the key on the
    emulated router as an operator would (or not), run `confirm --json`, then let the run end."""
    from cli.account import embedded_account  # noqa: PLC0415
    from cli.commands import Output, confirm  # noqa: PLC0415
    from local.runner import LocalAws  # noqa: PLC0415
    from local.scenario import load  # noqa: PLC0415
    from local.simulation import _play, _seed, execution_arn  # noqa: PLC0415
    from local.template import synthesize  # noqa: PLC0415

    loaded = load(SCENARIOS / SCENARIO)
    new_ckn = json.loads(json.dumps(loaded.secret(f"macsec/{TARGET}").versions[-1].value))["ckn"]
    out, err = io.StringIO(), io.StringIO()
    with LocalAws(
        region=loaded.region, account=loaded.account, template=synthesize(tuple(sorted(loaded.settings.items())))
    ) as aws:
        _play(aws, loaded, _seed(aws, loaded))
        aws.advance_to(at)
        if router_has_key:
            aws.dx.add_router_ckn(TARGET, new_ckn)
        code, document = confirm(embedded_account(aws), Output(out=out, err=err, as_json=True), TARGET, ckn)
        aws.wait_for_executions()
        described = aws.describe(execution_arn(aws.state_machine_arn, "rotate"))
    return code, document, described, new_ckn


def test_confirming_a_waiting_rotation_lets_it_remove_the_old_key() -> None:
    code, document, described, new_ckn = confirm_while_waiting(700, None, router_has_key=True)
    assert code == 0
    # The CKN the rotation waits for, found in the waits table; the waiting execution named.
    assert document["ckn"] == new_ckn.lower() and document["target"] == TARGET
    assert document["waitingExecution"] == described["executionArn"]
    assert described["status"] == "SUCCEEDED", described.get("cause")


def test_a_confirmation_of_another_ckn_changes_nothing() -> None:
    code, document, described, _ = confirm_while_waiting(700, "ab" * 32, router_has_key=False)
    assert code == 0 and document["waitingExecution"] is None
    assert (described["status"], described.get("error")) == ("FAILED", "RouterNotConfirmed")


def test_confirm_needs_a_ckn_when_nothing_waits() -> None:
    from cli.main import main  # noqa: PLC0415

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit):  # argparse: --target is required
        main(["confirm"], out=out, err=err)
