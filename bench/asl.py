"""The shape of a state machine definition (Amazon States Language), as the benchmark reads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def scopes(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every scope of states: the top level, then each Map's and Parallel branch's, recursively."""
    states = definition.get("States", {})
    yield states
    for state in states.values():
        for inner in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if isinstance(inner, dict):
                yield from scopes(inner)


def successors(state: dict[str, Any]) -> set[str]:
    targets = {state[k] for k in ("Next", "Default") if isinstance(state.get(k), str)}
    return targets | {c["Next"] for c in state.get("Choices", []) + state.get("Catch", []) if "Next" in c}


def wait_seconds(definition: dict[str, Any]) -> set[float]:
    """The fixed durations (Seconds) of the definition's Wait states."""
    return {
        float(state["Seconds"])
        for states in scopes(definition)
        for state in states.values()
        if state.get("Type") == "Wait" and "Seconds" in state
    }


def looping_states(definition: dict[str, Any]) -> set[str]:
    """States that lie on a cycle of the definition (a wait loop: Wait, poll, Choice back), nested scopes
    included. Leaving the last of them is leaving the wait."""
    edges = {name: successors(state) for states in scopes(definition) for name, state in states.items()}
    looping = set()
    for start, following in edges.items():
        seen: set[str] = set()
        frontier = list(following)
        while frontier:
            state = frontier.pop()
            if state == start:
                looping.add(start)
                break
            if state in seen:
                continue
            seen.add(state)
            frontier += edges.get(state, set())
    return looping
