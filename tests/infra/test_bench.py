"""The benchmark's naive reference design (bench/naive.asl.json) stays runnable whatever the real workflow does:
it names only handler modules that exist, every transition lands on a state, it polls after fixed waits, and its
template serves it with the functions it names (no synthesis here: a hand-made template)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.asl import looping_states, scopes, successors, wait_seconds
from bench.reference import NAIVE_MEMORY_MB, NaiveTemplate, naive_steps, naive_text
from local.template import Template

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "functions" / "macsec_rotation" / "handlers"
FROZEN = ROOT / "bench" / "naive_handlers"


def naive_definition() -> dict[str, object]:
    return json.loads(naive_text())  # type: ignore[no-any-return]


def test_the_naive_design_names_only_handler_modules_that_exist() -> None:
    steps = naive_steps()
    assert {"prepare", "associate", "tighten_encryption", "remove_old_keys", "report"} <= steps
    missing = [s for s in steps if not (HANDLERS / f"{s}.py").is_file() and not (FROZEN / f"{s}.py").is_file()]
    assert missing == []


def test_every_transition_of_the_naive_design_lands_on_a_state_of_its_scope() -> None:
    for states in scopes(naive_definition()):
        targets = {target for state in states.values() for target in successors(state)}
        assert targets <= set(states)


def test_the_naive_design_polls_after_fixed_30_second_waits_and_leaves_the_association_wait_once() -> None:
    definition = naive_definition()
    assert wait_seconds(definition) == {30.0}
    looping = looping_states(definition)
    assert {"WaitForAssociation", "CheckAssociation", "WaitForRemoval", "CheckRemoval"} <= looping
    assert "TightenEncryption" not in looping  # the first state past the wait: where detection is measured


def test_the_naive_template_serves_the_definition_with_the_functions_it_names(tmp_path: Path) -> None:
    steps = sorted(naive_steps())
    present = [s for s in steps if (HANDLERS / f"{s}.py").is_file()]
    resources: dict[str, object] = {
        f"Fn{s.replace('_', '')}": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": f"macsec_rotation.handlers.{s}.handler",
                "MemorySize": 1024,
                "Architectures": ["arm64"],
                "Environment": {"Variables": {"LOCK_TABLE_NAME": {"Ref": "Locks"}}},
            },
            "Metadata": {"aws:asset:path": "asset"},
        }
        for s in present
    }
    resources |= {
        "Locks": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "NotificationsTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Workflow": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": "{}"}},
        "Watcher": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"StateMachineType": "EXPRESS"}},
    }
    naive = NaiveTemplate(Template({"Resources": resources}, tmp_path))

    assert list(naive.resources("AWS::StepFunctions::StateMachine")) == [naive.state_machine_logical_id()]
    functions = naive.functions("eu-west-1", "111122223333")
    assert sorted(spec.step for spec in functions.values()) == steps
    for resource in naive.resources("AWS::Lambda::Function").values():
        assert resource["Properties"]["MemorySize"] == NAIVE_MEMORY_MB
        assert resource["Properties"]["Architectures"] == ["x86_64"]
    arns = {naive.function_arn(logical_id, "eu-west-1", "111122223333") for logical_id in functions}
    definition = naive.definition("eu-west-1", "111122223333")
    definition.pop("Comment")  # which mentions the token form
    text = json.dumps(definition)
    assert "${" not in text
    for states in scopes(definition):
        for state in states.values():
            if state["Type"] == "Task" and state["Resource"].startswith("arn:aws:lambda:"):
                assert state["Resource"] in arns
    assert "arn:aws:sns:eu-west-1:111122223333:NotificationsTopic" in text


def test_the_frozen_poll_handlers_still_import_over_the_projects_logic() -> None:
    import importlib  # noqa: PLC0415 (the handlers' import is what is tested)

    for path in sorted(FROZEN.glob("[a-z]*.py")):
        module = importlib.import_module(f"bench.naive_handlers.{path.stem}")
        assert callable(module.handler)
