"""A gitleaks-style scan: no key-shaped literal outside the test and demo fixtures."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ("tests/", "local/scenarios/")  # made-up keys that exist to be rotated in scenarios
SKIPPED_DIRS = {
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    ".synth-cache",  # synthesized templates (asset hashes are 64 hex digits)
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    ".hypothesis",
}
PATTERNS = {
    "64-hex CKN/CAK": re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])"),
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def repository_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        if path.is_file() and not SKIPPED_DIRS & set(path.relative_to(ROOT).parts):
            files.append(path)
    return files


def test_no_key_material_outside_fixtures() -> None:
    findings = []
    for path in repository_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(FIXTURES) or relative == "package-lock.json":  # lock file integrity hashes
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if relative in ("requirements.lock", "requirements-dev.lock"):  # pip's integrity hashes, not keys
            text = re.sub(r"--hash=sha256:[0-9a-f]{64}\b", "", text)
        findings += [f"{relative}: {name}" for name, pattern in PATTERNS.items() if pattern.search(text)]
    assert not findings, findings


def test_the_scan_would_notice_a_key() -> None:
    assert PATTERNS["64-hex CKN/CAK"].search("cak = '" + "0f" * 32 + "'")
    assert not PATTERNS["64-hex CKN/CAK"].search("sha256:" + "0f" * 33)
