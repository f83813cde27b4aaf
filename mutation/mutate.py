"""`make mutate`: apply each mutation below to a temporary copy of the tree (the working tree is never touched),
run the tests chosen to kill it there, and say which were killed and by what.

A mutation names a file, an exact snippet that must occur in it once, its replacement, and the pytest
arguments of its tests. A snippet that no longer matches fails the run: the set must follow the code.
The run fails when any mutation survives (those marked `required` are the survivors issue 14 found).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOGIC = "functions/macsec_rotation/logic"
COPY_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdk.out", ".*cache", ".hypothesis", "__pycache__", "mutation"
)
TIMEOUT_SECONDS = 900
PYTEST = ("-q", "-x", "-p", "no:cacheprovider", "-p", "no:logging", "-rfE")


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    original: str
    replacement: str
    tests: tuple[str, ...]
    required: bool = False


BOUNDS = ("tests/unit/test_loop_bounds.py",)
MUTATIONS = (
    Mutation(
        "the watcher's association wait gives up after its deadline",
        f"{LOGIC}/conditions.py",
        "elif now >= parked.deadline:",
        "elif now > parked.deadline:",
        ("tests/unit/test_watcher.py",),
        required=True,
    ),
    Mutation(
        "AssociateMacSecKey allowed on connections only",
        "infra/permissions.py",
        'associate = write("AssociateMacSecKey", connections, lags)',
        'associate = write("AssociateMacSecKey", connections)',
        ("tests/infra/test_iam_boundaries.py", "-k", "writable"),
        required=True,
    ),
    Mutation(
        "removal check gives up one round late",
        f"{LOGIC}/cleanup.py",
        "elif lingering and waited_seconds >= settings.disassociation_timeout_seconds:",
        "elif lingering and waited_seconds > settings.disassociation_timeout_seconds:",
        BOUNDS,
    ),
    Mutation(
        "restore gives up a moment late",
        f"{LOGIC}/restore.py",
        "clock.now() - (item.restoring_since or clock.now()) >= settings.restore_budget_seconds",
        "clock.now() - (item.restoring_since or clock.now()) > settings.restore_budget_seconds",
        (*BOUNDS, "tests/unit/test_restore.py"),
    ),
    Mutation(
        "lock wait gives up a tick late",
        f"{LOGIC}/conditions.py",
        "    if now < parked.deadline:\n        return Verdict()\n    cause = (",
        "    if now <= parked.deadline:\n        return Verdict()\n    cause = (",
        (*BOUNDS, "tests/unit/test_lock.py"),
    ),
    Mutation(
        "removal bound leaves out the settle period",
        f"{LOGIC}/cleanup.py",
        "bound = settings.disassociation_timeout_seconds + settings.encryption_settle_seconds",
        "bound = settings.disassociation_timeout_seconds",
        BOUNDS,
    ),
    Mutation(
        "encryption settles one instant late",
        f"{LOGIC}/cleanup.py",
        "return since, clock.now() - since >= settings.encryption_settle_seconds",
        "return since, clock.now() - since > settings.encryption_settle_seconds",
        ("tests/unit/test_steps.py", "tests/unit/test_restore.py"),
    ),
    Mutation(
        "removal counts without the settle period",
        f"{LOGIC}/cleanup.py",
        'status = "removed" if settled else "removing"',
        'status = "removed"',
        ("tests/unit/test_steps.py",),
    ),
    Mutation(
        "restore counts without the settle period",
        f"{LOGIC}/restore.py",
        "if settled or out_of_time:",
        "if True:",
        ("tests/unit/test_restore.py",),
    ),
    Mutation(
        "removal check no longer sees encryption lost",
        f"{LOGIC}/cleanup.py",
        "failure, settled_since = None, None\n    lost = encryption_lost(target, item)",
        "failure, settled_since = None, None\n    lost: list[str] = []",
        ("tests/unit/test_restore.py",),
    ),
    Mutation(
        "old keys removed while the new key is still associating",
        f"{LOGIC}/cleanup.py",
        'if new_key is None or new_key.state != "associated":',
        "if new_key is None:",
        ("tests/unit/test_steps.py",),
    ),
    Mutation(
        "keys no version holds are removed anyway",
        f"{LOGIC}/cleanup.py",
        "kept = {k.ckn.lower() for k in item.kept_ckns}",
        "kept: set[str] = set()",
        ("tests/unit/test_steps.py",),
    ),
    Mutation(
        "every target counts as bound to the secret",
        f"{LOGIC}/prepare.py",
        "if bound not in (secret.name, secret.arn):",
        "if False:",
        ("tests/scenarios/test_scenarios.py", "-k", "unbound-target or foreign"),
    ),
    Mutation(
        "an unbound target is judged on its state first",
        f"{LOGIC}/prepare.py",
        "    bound = target.tag(settings.binding_tag)\n",
        '    if target.state != "available":\n'
        '        raise TargetNotAvailable(f"{target.target_id} is {target.state!r}")\n'
        "    bound = target.tag(settings.binding_tag)\n",
        BOUNDS,
    ),
    Mutation(
        "the lock is never released",
        f"{LOGIC}/lock.py",
        "    locks.release(item.target, execution_id)\n",
        "    pass\n",
        ("tests/scenarios/test_scenarios.py", "-k", "lock-free-after"),
    ),
    Mutation(
        "encryptionMode may be loosened",
        f"{LOGIC}/encryption.py",
        "if MODE_STRICTNESS[wanted] < MODE_STRICTNESS[now]:",
        "if False:",
        ("tests/scenarios/test_scenarios.py", "-k", "never-loosen"),
    ),
    Mutation(
        "no refusal is ever taken for a passing one",
        "functions/macsec_rotation/gateways/aws_errors.py",
        "return error_code(error) == DX_CLIENT_ERROR and _TRANSIENT_REFUSAL.search(error_message(error)) is not None",
        "return False",
        ("tests/scenarios/test_scenarios.py", "-k", "direct-connect-busy-then-accepts"),
    ),
    Mutation(
        "disassociated keys take a place in the keychain",
        "functions/macsec_rotation/gateways/directconnect.py",
        "return tuple(k for k in self.keys if k.state != DISASSOCIATED)",
        "return tuple(self.keys)",
        BOUNDS,
    ),
)


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    verdict: str  # killed, survived, or an error that makes the run fail
    by: str
    seconds: float


def copy_of_tree(into: Path) -> Path:
    tree = into / "tree"
    shutil.copytree(ROOT, tree, ignore=COPY_IGNORED, symlinks=True)
    return tree


def python(tree: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'functions'}",  # the copy, never the working tree
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(  # noqa: S603 (our own interpreter and fixed arguments)
        [sys.executable, *arguments],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def pytest(tree: Path, arguments: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    return python(tree, "-m", "pytest", *PYTEST, *arguments)


def imports_the_copy() -> bool:
    """The project is also installed (editable) in the venv: the copy's packages must be the ones imported."""
    with tempfile.TemporaryDirectory(prefix="macsec-imports-") as scratch:
        tree = copy_of_tree(Path(scratch))
        packages = ("macsec_rotation", "infra", "local", "tests")
        shown = "; ".join(f"import {p}; print({p}.__file__)" for p in packages)
        found = python(tree, "-c", shown).stdout.split()
        wrong = [f for f in found if not Path(f).resolve().is_relative_to(tree.resolve())]
        if len(found) != len(packages) or wrong:
            sys.stdout.write(f"the mutants would not be imported: {wrong or found}\n")
            return False
    return True


def first_failure(output: str) -> str:
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return found.group(1) if found else "(no failing test named)"


def run(mutation: Mutation) -> Outcome:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="macsec-mutant-") as scratch:
        tree = copy_of_tree(Path(scratch))
        target = tree / mutation.path
        text = target.read_text()
        if text.count(mutation.original) != 1:
            found = text.count(mutation.original)
            return Outcome(mutation, "stale", f"snippet found {found} times in {mutation.path}", 0.0)
        target.write_text(text.replace(mutation.original, mutation.replacement))
        try:
            result = pytest(tree, mutation.tests)
        except subprocess.TimeoutExpired:
            return Outcome(mutation, "killed", f"timeout after {TIMEOUT_SECONDS}s", time.monotonic() - started)
    seconds = time.monotonic() - started
    if result.returncode == 0:
        return Outcome(mutation, "survived", "every selected test passed", seconds)
    if result.returncode == 1:
        return Outcome(mutation, "killed", first_failure(result.stdout), seconds)
    tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
    return Outcome(mutation, "error", f"pytest exit {result.returncode}: {' | '.join(tail)}", seconds)


def baseline(mutations: tuple[Mutation, ...]) -> bool:
    """The selected tests must pass on the code as it is, or a kill proves nothing."""
    with tempfile.TemporaryDirectory(prefix="macsec-baseline-") as scratch:
        tree = copy_of_tree(Path(scratch))
        for arguments in dict.fromkeys(m.tests for m in mutations):
            result = pytest(tree, arguments)
            if result.returncode != 0:
                sys.stdout.write(f"baseline failed for {' '.join(arguments)}: {first_failure(result.stdout)}\n")
                return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--no-baseline", action="store_true", help="skip running the selections unmutated first")
    parser.add_argument("-k", "--only", action="append", help="only mutations whose name contains this (repeatable)")
    options = parser.parse_args(argv)
    mutations = tuple(m for m in MUTATIONS if not options.only or any(part in m.name for part in options.only))
    if not mutations:
        parser.error(f"no mutation is named like {options.only}")
    started = time.monotonic()
    if not imports_the_copy() or (not options.no_baseline and not baseline(mutations)):
        return 2
    width = max(len(m.name) for m in mutations)
    outcomes = []
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        for outcome in pool.map(run, mutations):
            flag = " [issue 14 survivor]" if outcome.mutation.required else ""
            name, seconds = outcome.mutation.name, outcome.seconds
            sys.stdout.write(f"{outcome.verdict:<8} {name:<{width}}  {seconds:5.1f}s  by {outcome.by}{flag}\n")
            sys.stdout.flush()
            outcomes.append(outcome)
    killed = sum(o.verdict == "killed" for o in outcomes)
    sys.stdout.write(f"mutation score: {killed}/{len(outcomes)} killed ({time.monotonic() - started:.0f}s)\n")
    return 0 if killed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
