"""The naive reference design the benchmark compares against: the same steps, one Lambda each, but every
loop waits a fixed 30 seconds (the obvious first design)."""

from __future__ import annotations

import copy
from typing import Any

from local.template import Template

FIXED_WAIT_SECONDS = 30


class NaiveTemplate(Template):
    def __init__(self, synthesized: Template) -> None:
        super().__init__(synthesized.raw, synthesized.outdir)

    def definition(self, region: str, account: str) -> dict[str, Any]:
        definition = copy.deepcopy(super().definition(region, account))
        _fixed_waits(definition["States"])
        return definition


def _fixed_waits(states: dict[str, Any]) -> None:
    for state in states.values():
        if state["Type"] == "Wait":
            state.pop("SecondsPath", None)
            state["Seconds"] = FIXED_WAIT_SECONDS
        if state["Type"] == "Map":
            _fixed_waits(state["ItemProcessor"]["States"])
