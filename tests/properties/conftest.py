"""Reports how many property examples ran, across xdist workers (make soak promises a count)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tests.properties import counting

EXAMPLES = "property examples"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if call.when == "call":
        report.user_properties.append((EXAMPLES, counting.take()))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    ran = sum(value for r in reports for name, value in r.user_properties if name == EXAMPLES)
    if ran:
        failed = any(r.failed for r in reports if any(name == EXAMPLES for name, _ in r.user_properties))
        verdict = "a violation was found (see above)" if failed else "no invariant violated"
        terminalreporter.write_line(f"{ran} random fleets run on the embedded AWS: {verdict}")
