"""How many examples the property tests ran: counted in the worker, summed in the terminal summary."""

from __future__ import annotations

from collections import Counter

_ran: Counter[str] = Counter()  # one test runs at a time in a worker


def example_ran() -> None:
    _ran["examples"] += 1


def take() -> int:
    """The examples run since the last call (by the test that just ended)."""
    return _ran.pop("examples", 0)
