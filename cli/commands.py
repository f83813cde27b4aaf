"""The commands. Each writes its human-readable report through `Output` and returns its exit status and
the JSON document that `--json` prints instead."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from botocore.exceptions import ClientError

from macsec_rotation.errors import Aborted, InvalidInput, RotationError
from macsec_rotation.gateways.aws_errors import error_code
from macsec_rotation.gateways.directconnect import DirectConnectGateway, MacsecKey
from macsec_rotation.gateways.events import ROUTER_KEY_INSTALLED, EventsGateway
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.gateways.secrets import SecretsGateway
from macsec_rotation.gateways.waits import WaitsGateway
from macsec_rotation.logic.drift import check_drift
from macsec_rotation.logic.plan import preview_request
from macsec_rotation.logic.requests import request_from_event
from macsec_rotation.logic.router import router_waits
from macsec_rotation.settings import RuntimeSettings

from .account import Account, CliError

Document = dict[str, Any]
# The states after which `start` shows the target's keys: the waits, and the restore's rounds.
KEY_STATES = ("WaitForAssociation", "WaitForRemoval", "RestorePreviousKey")


@dataclass
class Output:
    """stdout carries the report, or with --json exactly one JSON document; progress (the states of a
    followed execution) goes with the report, or to stderr with --json."""

    out: TextIO
    err: TextIO
    as_json: bool

    def report(self, line: str) -> None:
        if not self.as_json:
            self.out.write(line + "\n")

    def progress(self, line: str) -> None:
        (self.err if self.as_json else self.out).write(line + "\n")
        (self.err if self.as_json else self.out).flush()

    def document(self, document: Document) -> None:
        if self.as_json:
            json.dump(document, self.out, indent=2, default=_json_default)
            self.out.write("\n")


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# ---- start, rerun ----


def start(account: Account, output: Output, secret: str, target: str | None, mode: str | None) -> tuple[int, Document]:
    execution_input = {
        "secretId": secret,
        **({"target": target} if target else {}),
        **({"encryptionMode": mode} if mode else {}),
    }
    return _start_and_follow(account, output, execution_input, f"cli-{uuid.uuid4().hex[:20]}")


def _execution_arn(account: Account, name: str) -> str:
    return account.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _describe(account: Account, name: str) -> dict[str, Any]:
    try:
        described: dict[str, Any] = account.client("stepfunctions").describe_execution(
            executionArn=_execution_arn(account, name)
        )
    except ClientError as error:
        if error_code(error) != "ExecutionDoesNotExist":
            raise
        raise CliError(f"no execution named {name}: see `history` for the names of recent rotations") from None
    return described


def rerun(account: Account, output: Output, name: str) -> tuple[int, Document]:
    """Start a failed, timed-out or aborted rotation again with its input, as a new execution. Every step
    resumes from what it finds (a key already associated, old keys already gone), so this is the recovery
    for any failure; a redrive would resume at the workflow's Fail state and fail again."""
    described = _describe(account, name)
    if described["status"] in ("RUNNING", "SUCCEEDED"):
        raise CliError(f"{name} is {described['status']}: only a failed, timed-out or aborted rotation is re-run")
    code, document = _start_and_follow(
        account, output, json.loads(described["input"]), f"rerun-{uuid.uuid4().hex[:12]}-{name}"[:80]
    )
    return code, {"rerunOf": name, **document}


# ---- abort ----


def abort(account: Account, output: Output, name: str) -> tuple[int, Document]:
    """Ask a running rotation to stop at its next safe point, and follow it until it ends. The workflow
    honours the request while nothing has been removed (waiting for the lock, planning, waiting for the
    association: the new key is rolled back); once CleanUp has started it finishes as it would have."""
    described = _describe(account, name)
    if described["status"] != "RUNNING":
        output.report(
            f"{name} already ended {described['status']}"
            + (f" ({described.get('error')})" if described.get("error") else "")
            + ": nothing to abort"
        )
        return 0, _abort_document(described, honoured=_was_aborted(described), already_ended=True)
    if not account.lock_table:
        raise CliError("the stack has no lock table (TargetLocks): it predates abort, deploy the current version")
    try:
        LocksGateway(account.client("dynamodb"), account.lock_table).request_abort(
            described["executionArn"], account.now()
        )
    except ClientError as error:
        raise CliError(f"cannot record the abort request: {error_code(error)} ({error})") from None
    output.progress(f"abort requested for {name}; following it until it ends")
    sfn = account.client("stepfunctions")
    while described["status"] == "RUNNING":
        account.wait(5)
        described = sfn.describe_execution(executionArn=described["executionArn"])
    honoured = _was_aborted(described)
    document = _abort_document(described, honoured=honoured, already_ended=False)
    if honoured:
        output.report(f"{name} aborted at a safe point: {described.get('cause')}")
        return 0, document
    output.report(
        f"{name} ended {described['status']}"
        + (f" ({described.get('error')}: {described.get('cause')})" if described.get("error") else "")
        + ": the abort was not honoured (CleanUp had started, past the point of no return, or the execution "
        "ended before its next safe point)"
    )
    return 1, document


def confirm(account: Account, output: Output, target: str, ckn: str | None) -> tuple[int, Document]:
    """Confirm the router side of a rotation waiting on `target` (routerConfirmation callback): the event a router
    automation puts, `MACsec Router Key Installed`, on the stack's router bus. Without --ckn, the CKN the waiting
    rotation asked for; a confirmation for a rotation that does not wait yet is kept for when it does."""
    if not account.router_bus or not account.waits_table:
        raise CliError("the stack has no router bus: it predates routerConfirmation, deploy the current version")
    try:
        waits = router_waits(target, WaitsGateway(account.client("dynamodb"), account.waits_table))
    except ClientError as error:
        raise CliError(f"cannot read the router waits: {error_code(error)} ({error})") from None
    waiting = waits[0][1] if waits else None
    if ckn is None:
        if waiting is None:
            raise CliError(
                f"no rotation of {target} waits for the router now: pass --ckn to confirm a key ahead of its rotation"
            )
        ckn = waiting.new_ckn
    try:
        EventsGateway(account.client("events")).put(
            ROUTER_KEY_INSTALLED, {"target": target, "ckn": ckn}, bus=account.router_bus
        )
    except (ClientError, RotationError) as error:
        raise CliError(f"cannot put the confirmation on {account.router_bus}: {error}") from None
    answers = waiting is not None and waiting.new_ckn.lower() == ckn.lower()
    output.report(
        f"confirmed {ckn} on the router of {target}"
        + (f": {waiting.lock_owner} goes on" if answers and waiting else ": kept for the rotation that asks for it")
    )
    return 0, {
        "target": target,
        "ckn": ckn,
        "bus": account.router_bus,
        "waitingExecution": waiting.lock_owner if answers and waiting else None,
    }


def _was_aborted(described: dict[str, Any]) -> bool:
    return bool(described["status"] == "FAILED" and described.get("error") == Aborted.__name__)


def _abort_document(described: dict[str, Any], honoured: bool, already_ended: bool) -> Document:
    return {
        "execution": described["name"],
        "executionArn": described["executionArn"],
        "honoured": honoured,
        "alreadyEnded": already_ended,
        "status": described["status"],
        "error": described.get("error"),
        "cause": described.get("cause"),
    }


def _start_and_follow(
    account: Account, output: Output, execution_input: dict[str, Any], name: str
) -> tuple[int, Document]:
    sfn = account.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=account.state_machine_arn, name=name, input=json.dumps(execution_input))[
        "executionArn"
    ]
    output.progress(f"started {name}")
    states: list[Document] = []
    seen = 0
    began: float | None = None
    while True:
        described = sfn.describe_execution(executionArn=arn)  # before the history, so nothing is missed
        events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        for event in events[seen:]:
            at = event["timestamp"].timestamp()
            began = at if began is None else began
            if event["type"].endswith("StateEntered"):
                state = event["stateEnteredEventDetails"]["name"]
                entered: Document = {"state": state, "elapsedSeconds": round(at - began, 3)}
                keys = _keys(account, state, execution_input)
                suffix = ""
                if keys is not None:
                    entered["keys"] = [{"ckn": k.ckn, "state": k.state} for k in keys]
                    suffix = "   keys: " + ", ".join(f"{k.ckn[:8]}… {k.state}" for k in keys)
                states.append(entered)
                output.progress(f"  +{at - began:6.0f}s  {state}{suffix}")
        seen = len(events)
        if described["status"] != "RUNNING":
            return _outcome(described, output, states)
        account.wait(5)


def _keys(account: Account, state: str, execution_input: dict[str, Any]) -> tuple[MacsecKey, ...] | None:
    """The target's keys on each wait (the association and removal waits) and on the restore's rounds, when the
    input names the target."""
    if state not in KEY_STATES or "target" not in execution_input:
        return None
    return DirectConnectGateway(account.client("directconnect")).describe(execution_input["target"]).keys


def _outcome(described: dict[str, Any], output: Output, states: list[Document]) -> tuple[int, Document]:
    results = json.loads(described.get("output") or "{}").get("results", [])
    document: Document = {
        "execution": described["name"],
        "executionArn": described["executionArn"],
        "status": described["status"],
        "input": json.loads(described.get("input") or "{}"),
        "startDate": described.get("startDate"),
        "stopDate": described.get("stopDate"),
        "states": states,
        "results": results,
        "error": described.get("error"),
        "cause": described.get("cause"),
    }
    if described["status"] == "SUCCEEDED":
        for result in results:
            output.report(
                f"{result['target']}: {result['outcome']}, key {result['newCkn'][:12]}…, removed "
                f"{len(result['removedCkns'])}, mode {result['encryptionModeAfter']}"
            )
        return 0, document
    output.report(f"{described['status']}: {described.get('error')}: {described.get('cause')}")
    return 1, document


# ---- plan ----


def plan(
    account: Account, output: Output, secret: str, target: str | None, mode: str | None, version: str | None
) -> tuple[int, Document]:
    """What a rotation started now would do, decided by the workflow's own code (Prepare, then Begin's decision
    and CleanUp's on the mode), reading only: no lock, no key, no mode change."""
    request_input = {
        "secretId": secret,
        **({"target": target} if target else {}),
        **({"encryptionMode": mode} if mode else {}),
        **({"versionId": version} if version else {}),
    }
    try:
        request = request_from_event(request_input)
    except InvalidInput as error:
        raise CliError(str(error)) from None
    try:
        preview = preview_request(
            request,
            SecretsGateway(account.client("secretsmanager")),
            DirectConnectGateway(account.client("directconnect")),
            account.settings(),
        )
    except ClientError as error:  # the operator's own access (the workflow's errors are in the preview)
        raise CliError(f"cannot read what the plan needs: {error_code(error)} ({error})") from None
    if preview.error:
        output.report(f"{secret}: would fail {preview.error}: {preview.cause}")
    for item in preview.targets:
        if item.error:
            output.report(f"{item.target}: would fail {item.error}: {item.cause}")
            continue
        output.report(f"{item.target}: {item.action}, key {item.new_ckn}")
        for ckn in item.remove_ckns:
            output.report(f"    remove {ckn}")
        for kept in item.kept_ckns:
            output.report(f"    keep   {kept.ckn}: {kept.reason}")
        mode_line = f"    mode   {item.encryption_mode_before} -> {item.encryption_mode_after}"
        output.report(mode_line + (f" (not tightened: {item.tightening_skipped})" if item.tightening_skipped else ""))
    output.report("the rotation would succeed" if preview.would_succeed else "the rotation would be refused")
    return (0 if preview.would_succeed else 1), preview.dump()


# ---- status, history ----


def status(account: Account, output: Output, target: str | None, prefix: str) -> tuple[int, Document]:
    statuses = check_drift(
        SecretsGateway(account.client("secretsmanager")),
        DirectConnectGateway(account.client("directconnect")),
        prefix,
        RuntimeSettings(),
        only_target=target,
    )
    if not statuses:
        raise CliError(f"no secret under {prefix} names {target or 'any target'} in its macsec:target tag")
    targets = []
    for item in statuses:
        verdict = "in sync" if item.in_sync else ", ".join(item.findings)
        output.report(f"{item.target}  [{item.encryption_mode}]  {item.secret}: {verdict}")
        keys = []
        for key in item.keys:
            current = bool(item.current_ckn and key["ckn"].lower() == item.current_ckn.lower())
            keys.append({**key, "current": current})
            output.report(f"    {key['ckn'][:16]}…  {key['state']:<14} {'current' if current else 'other'}")
        if item.ports_down:
            output.report(f"    encryption down on {', '.join(item.ports_down)}")
        targets.append({**item.dump(), "keys": keys, "inSync": item.in_sync})
    in_sync = all(s.in_sync for s in statuses)
    return (0 if in_sync else 1), {"inSync": in_sync, "targets": targets}


def history(account: Account, output: Output, most: int) -> tuple[int, Document]:
    sfn = account.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=account.state_machine_arn, maxResults=most)["executions"]
    executions = []
    for execution in sorted(listed, key=lambda e: e["startDate"], reverse=True):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        results = json.loads(described.get("output") or "{}").get("results", [])
        summary = ", ".join(f"{r['target']} {r['outcome']}" for r in results) or (described.get("error") or "")
        output.report(
            f"{execution['startDate']:%Y-%m-%d %H:%M:%S}  {execution['status']:<9} {execution['name']}  {summary}"
        )
        executions.append(
            {
                "execution": execution["name"],
                "executionArn": execution["executionArn"],
                "status": execution["status"],
                "startDate": execution["startDate"],
                "stopDate": execution.get("stopDate"),
                "results": results,
                "error": described.get("error"),
                "cause": described.get("cause"),
            }
        )
    return 0, {"executions": executions}
