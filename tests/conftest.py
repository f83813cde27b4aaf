"""Shared fixtures: an emulated account for unit tests, the synthesized template, a CAK scanner."""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from local.directconnect import DirectConnectEmulator, emulator_backend, installed
from local.template import Template, synthesize
from tests.properties import counting

REGION = "us-east-1"
ACCOUNT = "123456789012"


class ManualClock:
    """A clock a test moves by hand."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.value = start

    def now(self) -> float:
        return self.value

    def sleep(self, seconds: float) -> None:
        self.value += seconds

    def advance(self, seconds: float) -> None:
        self.value += seconds


@dataclass
class Emulated:
    dx: Any
    secrets: Any
    backend: DirectConnectEmulator
    clock: ManualClock

    def secret(self, name: str, value: Any, tags: dict[str, str] | None = None) -> str:
        arn: str = self.secrets.create_secret(
            Name=name,
            SecretString=value if isinstance(value, str) else json.dumps(value),
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )["ARN"]
        return arn


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulated]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    from macsec_rotation import clock as runtime_clock  # noqa: PLC0415 (functions/ is on the path by now)

    clock = ManualClock()
    previous = runtime_clock.use(clock)  # the functions' time and the emulator's are one
    with mock_aws(), installed():
        backend = emulator_backend(ACCOUNT, REGION)
        backend.clock = clock.now
        yield Emulated(
            boto3.client("directconnect", region_name=REGION),
            boto3.client("secretsmanager", region_name=REGION),
            backend,
            clock,
        )
    runtime_clock.use(previous)


@pytest.fixture(scope="session")
def template() -> Template:
    return synthesize()


def new_key() -> tuple[str, str]:
    return secrets.token_hex(32), secrets.token_hex(32)


ECHO_DIGITS = 16  # the shortest run of a CAK's hex digits that counts as a (partial) echo
_HEX_RUN = re.compile(rf"[0-9a-f]{{{ECHO_DIGITS},}}")


def assert_no_key_material(blob: Any, caks: list[str]) -> None:
    """The one scanner every tier uses: no CAK, in either case, anywhere in what a run produced, and no run of
    16 or more consecutive hex digits taken from one (a service or library text may echo part of a value)."""
    text = (blob if isinstance(blob, str) else json.dumps(blob, default=str)).lower()
    leaked = [cak[:6] + "…" for cak in caks if cak.lower() in text]
    assert not leaked, f"key material leaked: CAKs starting {leaked}"
    # One set of every 16-digit window of every CAK; the blob's distinct hex runs (a report repeats the same
    # CKNs and ARNs thousands of times) are slid over it, window by window.
    windows = {cak.lower()[i : i + ECHO_DIGITS]: cak[:6] for cak in caks for i in range(len(cak) - ECHO_DIGITS + 1)}
    partial = {
        windows[run[i : i + ECHO_DIGITS]] + "…"
        for run in set(_HEX_RUN.findall(text))
        for i in range(len(run) - ECHO_DIGITS + 1)
        if run[i : i + ECHO_DIGITS] in windows
    }
    assert not partial, f"key material leaked: {ECHO_DIGITS}+ hex digits of CAKs starting {sorted(partial)}"


# ---- how many property examples ran, across xdist workers (make soak promises a count) ----
# Here, not in tests/properties/: under xdist the controller, which prints the summary, loads only this file.

EXAMPLES = "property examples"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if call.when == "call":
        ran = counting.take()
        if ran:
            report.user_properties.append((EXAMPLES, ran))
    return report


MATRIX_CELL = "test_fault_equivalence.py::test_a_fault_in_any_step"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    cells = {
        outcome: sum(MATRIX_CELL in r.nodeid for r in terminalreporter.stats.get(outcome, []) if r.when != "teardown")
        for outcome in ("passed", "skipped", "failed")
    }
    if any(cells.values()):
        terminalreporter.write_line(
            f"fault-equivalence matrix: {sum(cells.values())} cells, {cells['passed']} equivalent, "
            f"{cells['skipped']} skipped (the step never runs in that rotation), {cells['failed']} not equivalent"
        )
    reports = [r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])]
    counted = [(r, value) for r in reports for name, value in r.user_properties if name == EXAMPLES]
    if counted:
        verdict = "a violation was found (see above)" if any(r.failed for r, _ in counted) else "no invariant violated"
        terminalreporter.write_line(f"{sum(v for _, v in counted)} random fleets run on the embedded AWS: {verdict}")
