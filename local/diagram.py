"""python -m local.diagram [--write]: the workflow as a Mermaid flowchart, drawn from the synthesized
state machine, so the README's picture cannot drift from the code (a test compares them)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- workflow-diagram:start -->", "<!-- workflow-diagram:end -->"


def _id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", name)


def _label(choice: dict[str, Any]) -> str:
    value = next((v for k, v in choice.items() if k not in ("Variable", "Next")), "")
    return str(value)


def _states(states: dict[str, Any], lines: list[str], indent: str) -> None:
    for name, state in states.items():
        kind = state["Type"]
        shape = {"Choice": ("{", "}"), "Wait": ("([", "])"), "Fail": ("[[", "]]"), "Succeed": ("[[", "]]")}
        left, right = shape.get(kind, ("[", "]"))
        if kind == "Map":
            lines.append(f'{indent}subgraph {_id(name)} ["{name}: each target"]')
            processor = state["ItemProcessor"]
            lines.append(f"{indent}  {_id(name)}_start(( )) --> {_id(processor['StartAt'])}")
            _states(processor["States"], lines, indent + "  ")
            lines.append(f"{indent}end")
        else:
            lines.append(f'{indent}{_id(name)}{left}"{name}"{right}')
    for name, state in states.items():
        if "Next" in state:
            lines.append(f"{indent}{_id(name)} --> {_id(state['Next'])}")
        for choice in state.get("Choices", []):
            lines.append(f'{indent}{_id(name)} -- "{_label(choice)}" --> {_id(choice["Next"])}')
        if "Default" in state:
            lines.append(f"{indent}{_id(name)} -- otherwise --> {_id(state['Default'])}")
        for catch in state.get("Catch", []):
            lines.append(f'{indent}{_id(name)} -. "{", ".join(catch["ErrorEquals"])}" .-> {_id(catch["Next"])}')


def mermaid(definition: dict[str, Any]) -> str:
    lines = ["flowchart TD", f"  start(( )) --> {_id(definition['StartAt'])}"]
    _states(definition["States"], lines, "  ")
    return "```mermaid\n" + "\n".join(lines) + "\n```"


def readme_with(diagram: str, readme: str) -> str:
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{diagram}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.diagram", description=__doc__)
    parser.add_argument("--write", action="store_true", help="update the diagram in README.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from .template import synthesize  # noqa: PLC0415 (jsii starts only when a diagram is asked for)

    diagram = mermaid(synthesize().definition("us-east-1", "123456789012"))
    if args.write:
        README.write_text(readme_with(diagram, README.read_text()))
    else:
        sys.stdout.write(diagram + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
