"""The naive reference design the benchmark compares against, as a template of its own.

`bench/naive.asl.json` is the obvious first design, frozen: the project's workflow as it was synthesized on
2026-11-29, every wait a fixed 30 s (`Seconds: 30`), router confirmation and dry run left out. It names its
Lambda functions by step (`"${Function:associate}"`: the function whose handler is
`macsec_rotation.handlers.associate.handler`) and its notification topic as `"${Topic:Notifications}"`, so it
does not depend on the real workflow's states or on CDK's logical ids. A step whose handler module the project
no longer has (check_association and check_removal: the watcher replaced those poll loops) is served by the
benchmark's frozen copy of that handler, `bench/naive_handlers/<step>.py`, with the environment of the naive
design's other functions; so is a step whose handler the project has since merged into another or changed
(acquire_lock, plan_target, associate, tighten_encryption, remove_old_keys, release_lock).

`NaiveTemplate` serves that definition from a synthesized template: it keeps the real template's tables, topics
and buses, keeps only the functions the naive definition names (found by handler module), deploys them as they
were when it was frozen (x86_64, 256 MB: what `bench.pricing` bills), and sets aside every other state machine
(the real workflow, an Express watcher), function and schedule, so nothing of the real design runs beside it.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from local.template import Template

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NAIVE_DEFINITION = BENCH / "naive.asl.json"
# Steps the project no longer has a handler for (its poll loops became a watcher): the naive design's own,
# frozen with it, over the project's logic (bench/naive_handlers/).
FROZEN_HANDLERS = "bench.naive_handlers"
NAIVE_STATE_MACHINE = "NaiveWorkflowStateMachine"
# How the naive design's functions were deployed when it was frozen.
NAIVE_MEMORY_MB = 256
NAIVE_ARCHITECTURE = "x86_64"
HANDLER_PACKAGE = "macsec_rotation.handlers"
# A whole JSON string value "${Kind:name}": a function by step, or the notification topic.
TOKEN = re.compile(r'"\$\{(Function|Topic):([A-Za-z_]+)\}"')
# Resources the naive design does not deploy: set aside (kept under another type, so Refs to them still resolve).
SET_ASIDE = ("AWS::StepFunctions::StateMachine", "AWS::Scheduler::Schedule", "AWS::Scheduler::ScheduleGroup")
SET_ASIDE_PREFIX = "Bench::SetAside::"
# The variables that pace a function's Direct Connect calls (functions/macsec_rotation/clients.py).
UNPACED = ("PACE_TABLE_NAME", "DX_REQUESTS_PER_SECOND")


def _frozen(step: str) -> bool:
    """The naive design keeps its own copy of a step the project has merged or changed since it was frozen."""
    return (BENCH / "naive_handlers" / f"{step}.py").is_file()


def naive_text() -> str:
    return NAIVE_DEFINITION.read_text()


def naive_steps(text: str | None = None) -> set[str]:
    """The steps (handler module names) the naive definition calls."""
    return {name for kind, name in TOKEN.findall(text or naive_text()) if kind == "Function"}


class NaiveTemplate(Template):
    def __init__(self, synthesized: Template) -> None:
        raw = copy.deepcopy(synthesized.raw)
        resources: dict[str, dict[str, Any]] = raw["Resources"]
        text = naive_text()
        steps = naive_steps(text)
        by_step: dict[str, str] = {}
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            # Frozen before the stack had a Direct Connect budget: its calls take no turns.
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            for name in UNPACED:
                variables.pop(name, None)
            step = _step(resource["Properties"].get("Handler", ""))
            if step in steps and step not in by_step and not _frozen(step):
                by_step[step] = logical_id
                resource["Properties"]["MemorySize"] = NAIVE_MEMORY_MB
                resource["Properties"]["Architectures"] = [NAIVE_ARCHITECTURE]
            else:
                resource["Type"] = SET_ASIDE_PREFIX + resource["Type"]
        frozen = sorted(step for step in steps - set(by_step) if _frozen(step))
        if frozen:
            # (the real template's functions: the set-aside ones too, where the lock table's name now is)
            every_function = [r for r in resources.values() if r["Type"].endswith("AWS::Lambda::Function")]
            environment = _richest_environment(every_function)
            for step in frozen:
                logical_id = "NaiveFrozen" + "".join(part.title() for part in step.split("_"))
                resources[logical_id] = {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Handler": f"{FROZEN_HANDLERS}.{step}.handler",
                        "MemorySize": NAIVE_MEMORY_MB,
                        "Architectures": [NAIVE_ARCHITECTURE],
                        "Environment": {"Variables": environment},
                    },
                    "Metadata": {"aws:asset:path": str(ROOT)},  # absolute: the runner finds the module under it
                }
                by_step[step] = logical_id
        missing = steps - set(by_step)
        if missing:
            raise RuntimeError(f"the naive design calls steps the template has no function for: {sorted(missing)}")
        for resource in resources.values():
            if resource["Type"] in SET_ASIDE:
                resource["Type"] = SET_ASIDE_PREFIX + resource["Type"]
        topics = [k for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"]
        topic = next((t for t in topics if t.startswith("Notifications")), topics[0] if len(topics) == 1 else None)
        resources[NAIVE_STATE_MACHINE] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineType": "STANDARD",
                "DefinitionString": _definition_string(text, by_step, topic),
            },
        }
        super().__init__(raw, synthesized.outdir)
        self.function_by_step = by_step
        self.frozen_steps = frozen

    def state_machine_logical_id(self) -> str:
        return NAIVE_STATE_MACHINE


def _step(handler: str) -> str:
    module = handler.rsplit(".", 1)[0]
    package, _, step = module.rpartition(".")
    return step if package == HANDLER_PACKAGE else ""


def _richest_environment(functions: list[dict[str, Any]]) -> dict[str, Any]:
    """The variables of the function that has the most (the lock table's name among them, when one has it)."""
    variables = [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions]
    return copy.deepcopy(max(variables, key=lambda v: ("LOCK_TABLE_NAME" in v, len(v))))


def _definition_string(text: str, by_step: dict[str, str], topic: str | None) -> dict[str, Any]:
    """The definition as CloudFormation would hold it: a Fn::Join whose parts resolve the function and topic
    ARNs (so `Template.definition` serves it for any region and account)."""
    compact = json.dumps(json.loads(text), separators=(",", ":"))
    parts: list[Any] = []
    position = 0
    for match in TOKEN.finditer(compact):
        parts.append(compact[position : match.start()] + '"')
        kind, name = match.groups()
        if kind == "Function":
            parts.append({"Fn::GetAtt": [by_step[name], "Arn"]})
        else:
            if topic is None:
                raise RuntimeError("the naive design notifies a topic; the template has no single notification topic")
            parts.append({"Ref": topic})
        parts.append('"')
        position = match.end()
    parts.append(compact[position:])
    return {"Fn::Join": ["", parts]}
