"""The synthesized state machine definitions against the npm package asl-validator (pinned in package.json,
installed by `make test` with npm ci).

asl-validator checks a definition's schema, its transitions and its path expressions. It is a floor, not a
proof: it accepts an invalid `JitterStrategy` (see DOMAIN.md), does not know which errors a service raises,
and says nothing about how the workflow behaves; the workflow, scenario and property tests run the
definition itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from local.template import Template

ROOT = Path(__file__).resolve().parents[2]
ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
REGION, ACCOUNT = "us-east-1", "123456789012"


def validate(definition: dict[str, Any], path: Path) -> subprocess.CompletedProcess[str]:
    assert ASL_VALIDATOR.exists(), "asl-validator is missing: run `make test`, which installs it with npm ci"
    path.write_text(json.dumps(definition, indent=2))
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def definitions(template: Template) -> dict[str, dict[str, Any]]:
    """Every state machine of the template, its definition resolved as the local runner resolves it."""
    machines = template.resources("AWS::StepFunctions::StateMachine")
    return {
        logical_id: json.loads(template.resolve(resource["Properties"]["DefinitionString"], REGION, ACCOUNT))
        for logical_id, resource in machines.items()
    }


def test_every_synthesized_definition_is_valid_asl(template: Template, tmp_path: Path) -> None:
    found = definitions(template)
    assert found, "the template has no state machine"
    # the one the runner executes is among them, and is what is validated
    assert template.definition(REGION, ACCOUNT) in found.values()
    for logical_id, definition in found.items():
        done = validate(definition, tmp_path / f"{logical_id}.asl.json")
        assert done.returncode == 0, f"{logical_id}: {done.stdout}{done.stderr}"
        assert "is valid" in done.stdout


def test_a_transition_to_a_missing_state_is_refused(template: Template, tmp_path: Path) -> None:
    definition = template.definition(REGION, ACCOUNT)
    first = definition["States"][definition["StartAt"]]
    assert "Next" in first, f"{definition['StartAt']} has no Next: break another transition"
    first["Next"] = "NoSuchState"
    done = validate(definition, tmp_path / "broken.asl.json")
    assert done.returncode != 0
    assert "MISSING_TRANSITION_TARGET" in done.stdout + done.stderr and "NoSuchState" in done.stdout + done.stderr
