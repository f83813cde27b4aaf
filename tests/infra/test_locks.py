"""The environment is installed from hash-pinned locks (`make lock`); they must say what requirements*.txt say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line, following `-r` includes."""
    found: dict[str, str] = {}
    for line in (raw.strip() for raw in path.read_text().splitlines()):
        if line.startswith("-r "):
            found |= pins(path.parent / line.removeprefix("-r ").strip())
        elif match := PIN.match(line):
            found[canonical(match.group(1))] = match.group(3)
    return found


def locked(path: Path) -> dict[str, list[str]]:
    """name==version -> its hashes, for every package of a pip-compile --generate-hashes lock."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        if match := PIN.match(line):
            current = f"{canonical(match.group(1))}=={match.group(3)}"
            entries[current] = []
        elif current and (hashed := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            entries[current].append(hashed.group(1))
    return entries


@pytest.mark.parametrize(
    ("source", "lock"), [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")]
)
def test_every_pin_is_locked_at_its_version_with_hashes(source: str, lock: str) -> None:
    entries = locked(ROOT / lock)
    assert entries, f"{lock} is empty: run `make lock`"
    versions = {name.split("==")[0]: name.split("==")[1] for name in entries}
    for name, version in pins(ROOT / source).items():
        assert versions.get(name) == version, (
            f"{source} pins {name}=={version}, {lock} has {versions.get(name)}: run `make lock`"
        )
    unhashed = [entry for entry, hashes in entries.items() if not hashes]
    assert not unhashed, f"{lock} has packages without hashes: {unhashed}"


def test_the_runtime_lock_agrees_with_the_development_lock() -> None:
    runtime, development = locked(ROOT / "requirements.lock"), locked(ROOT / "requirements-dev.lock")
    assert set(runtime) <= set(development), set(runtime) - set(development)


def test_the_makefile_installs_only_the_hash_pinned_lock() -> None:
    # Every dependency comes from the lock; the one other install is the project itself (its command), which
    # brings nothing from the index: no dependencies, no build isolation (its build backend is in the lock).
    makefile = (ROOT / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if "pip install" in line and "LOCK_VENV" not in line]
    assert installs == [
        "$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock",
        "$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .",
    ]
    assert "$(STAMP): requirements-dev.lock pyproject.toml" in makefile
