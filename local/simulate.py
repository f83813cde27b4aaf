"""python -m local.simulate SCENARIO.json [--json]: run a scenario on the embedded AWS and report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from .scenario import ScenarioError, load
from .simulation import run_scenario


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.simulate", description=__doc__)
    parser.add_argument("scenario", help="path to a scenario JSON file (see docs/scenarios.md)")
    parser.add_argument("--json", action="store_true", help="print the full JSON report instead of a timeline")
    args = parser.parse_args(argv)
    try:
        scenario = load(args.scenario)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = run_scenario(scenario)
    if args.json:
        report.pop("timeline")
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print(render(scenario.description, report))
    return 0 if all(e["status"] == "SUCCEEDED" for e in report["executions"]) else 1


def render(description: str, report: dict[str, Any]) -> str:
    lines = [description, ""] if description else []
    lines += ["Timeline (virtual time):", *report["timeline"], "", "Executions:"]
    for e in report["executions"]:
        outcome = e["status"] + (f" {e['error']}: {e['cause']}" if e["error"] else "")
        lines.append(
            f"  {e['name']}: {outcome} ({e['stoppedAt'] - e['startedAt']:.0f}s, {e['transitions']} transitions)"
        )
        for result in (e.get("output") or {}).get("results", []):
            lines.append(
                f"    {result['target']}: {result['outcome']}, new key {result['newCkn'][:12]}…, "
                f"removed {len(result['removedCkns'])}, mode {result['encryptionModeBefore']} -> "
                f"{result['encryptionModeAfter']}"
                + (f" (tightening skipped: {result['tighteningSkipped']})" if result["tighteningSkipped"] else "")
            )
    lines += ["", "Final keys:"]
    for target, view in report["targets"].items():
        ports = view.get("members") or {target: view}
        status = ", ".join(f"{p} {v['portEncryptionStatus']}" for p, v in ports.items())
        lines.append(f"  {target} [{view['encryptionMode']}] {status}")
        for key in view["macSecKeys"]:
            lines.append(f"    {key['ckn'][:12]}… {key['state']}")
    down = {k: v for k, v in report["encryptionDownSeconds"].items() if v}
    lines.append(
        f"\nEncryption down (virtual seconds): {down or 'none'}; "
        f"Direct Connect calls: {sum(report['apiCalls'].values())}; virtual time {report['virtualSeconds']}s"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
