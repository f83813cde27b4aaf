"""Operator CLI: start a rotation and watch it, show each target's state, list recent rotations.

    python -m local.cli [--stack NAME] [--region R] start --secret ID [--target T] [--mode M]
    python -m local.cli rerun NAME
    python -m local.cli status [--target T] [--prefix macsec/]
    python -m local.cli history [--max 20]

Against AWS through boto3's usual credentials (AWS_PROFILE, environment, SSO), or against the embedded
AWS with `--local SCENARIO` (the scenario's account after its events have played out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from macsec_rotation.gateways.aws_errors import error_code
from macsec_rotation.gateways.directconnect import DirectConnectGateway
from macsec_rotation.gateways.secrets import SecretsGateway
from macsec_rotation.logic.drift import check_drift
from macsec_rotation.settings import RuntimeSettings


class CliError(Exception):
    """Something the operator can fix; printed without a traceback."""


@dataclass
class Account:
    """Where the commands act: clients, the state machine, and how to let time pass while following."""

    client: Callable[[str], Any]
    state_machine_arn: str
    wait: Callable[[float], None]


def aws_account(stack: str, region: str | None) -> Account:
    try:
        session = boto3.session.Session(region_name=region)
        cloudformation = session.client("cloudformation")
        resources = cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    except NoCredentialsError:
        raise CliError("no AWS credentials: set AWS_PROFILE (or the AWS_* variables), or use --local") from None
    except NoRegionError:
        raise CliError("no AWS Region: pass --region or set AWS_REGION") from None
    except ClientError as error:
        raise CliError(
            f"stack {stack} not found in {session.region_name}: deploy it, or pass --stack "
            f"({error.response['Error'].get('Message', '')})"
        ) from None
    except BotoCoreError as error:
        raise CliError(f"cannot reach AWS: {error}") from None
    machines = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::StepFunctions::StateMachine"]
    if not machines:
        raise CliError(f"stack {stack} has no state machine: is it the MACsec key rotation stack?")
    return Account(client=session.client, state_machine_arn=machines[0], wait=time.sleep)


@contextmanager
def local_account(scenario_path: str) -> Iterator[Account]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from .scenario import ScenarioError, load  # noqa: PLC0415 (the embedded AWS loads only with --local)
    from .simulation import scenario_world  # noqa: PLC0415

    try:
        scenario = load(scenario_path)
    except ScenarioError as error:
        raise CliError(str(error)) from None
    with scenario_world(scenario) as aws:
        yield Account(client=aws.client, state_machine_arn=aws.state_machine_arn, wait=aws.advance_by)


# ---- commands ----


def start(account: Account, out: TextIO, secret: str, target: str | None, mode: str | None) -> int:
    execution_input = {
        "secretId": secret,
        **({"target": target} if target else {}),
        **({"encryptionMode": mode} if mode else {}),
    }
    return _start_and_follow(account, out, execution_input, f"cli-{uuid.uuid4().hex[:20]}")


def rerun(account: Account, out: TextIO, name: str) -> int:
    """Start a failed, timed-out or aborted rotation again with its input, as a new execution. Every step
    resumes from what it finds (a key already associated, old keys already gone), so this is the recovery
    for any failure; a redrive would resume at the workflow's Fail state and fail again."""
    sfn = account.client("stepfunctions")
    arn = account.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
    try:
        described = sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        if error_code(error) != "ExecutionDoesNotExist":
            raise
        raise CliError(f"no execution named {name}: see `history` for the names of recent rotations") from None
    if described["status"] in ("RUNNING", "SUCCEEDED"):
        raise CliError(f"{name} is {described['status']}: only a failed, timed-out or aborted rotation is re-run")
    return _start_and_follow(account, out, json.loads(described["input"]), f"rerun-{uuid.uuid4().hex[:12]}-{name}"[:80])


def _start_and_follow(account: Account, out: TextIO, execution_input: dict[str, Any], name: str) -> int:
    sfn = account.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=account.state_machine_arn, name=name, input=json.dumps(execution_input))[
        "executionArn"
    ]
    out.write(f"started {name}\n")
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
                out.write(f"  +{at - began:6.0f}s  {state}{_keys_suffix(account, state, execution_input)}\n")
        seen = len(events)
        if described["status"] != "RUNNING":
            return _outcome(described, out)
        account.wait(5)


def _keys_suffix(account: Account, state: str, execution_input: dict[str, Any]) -> str:
    if not state.startswith("Check") or "target" not in execution_input:
        return ""
    target = DirectConnectGateway(account.client("directconnect")).describe(execution_input["target"])
    return "   keys: " + ", ".join(f"{k.ckn[:8]}… {k.state}" for k in target.keys)


def _outcome(described: dict[str, Any], out: TextIO) -> int:
    if described["status"] == "SUCCEEDED":
        for result in json.loads(described.get("output") or "{}").get("results", []):
            out.write(
                f"{result['target']}: {result['outcome']}, key {result['newCkn'][:12]}…, removed "
                f"{len(result['removedCkns'])}, mode {result['encryptionModeAfter']}\n"
            )
        return 0
    out.write(f"{described['status']}: {described.get('error')}: {described.get('cause')}\n")
    return 1


def status(account: Account, out: TextIO, target: str | None, prefix: str) -> int:
    statuses = check_drift(
        SecretsGateway(account.client("secretsmanager")),
        DirectConnectGateway(account.client("directconnect")),
        prefix,
        RuntimeSettings(),
        only_target=target,
    )
    if not statuses:
        raise CliError(f"no secret under {prefix} names {target or 'any target'} in its macsec:target tag")
    for item in statuses:
        verdict = "in sync" if item.in_sync else ", ".join(item.findings)
        out.write(f"{item.target}  [{item.encryption_mode}]  {item.secret}: {verdict}\n")
        for key in item.keys:
            mark = "current" if item.current_ckn and key["ckn"].lower() == item.current_ckn.lower() else "other"
            out.write(f"    {key['ckn'][:16]}…  {key['state']:<14} {mark}\n")
        if item.ports_down:
            out.write(f"    encryption down on {', '.join(item.ports_down)}\n")
    return 0 if all(s.in_sync for s in statuses) else 1


def history(account: Account, out: TextIO, most: int) -> int:
    sfn = account.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=account.state_machine_arn, maxResults=most)["executions"]
    for execution in sorted(listed, key=lambda e: e["startDate"], reverse=True):
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        results = json.loads(described.get("output") or "{}").get("results", [])
        summary = ", ".join(f"{r['target']} {r['outcome']}" for r in results) or (described.get("error") or "")
        out.write(
            f"{execution['startDate']:%Y-%m-%d %H:%M:%S}  {execution['status']:<9} {execution['name']}  {summary}\n"
        )
    return 0


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m local.cli", description="MACsec key rotation operator CLI")
    parser.add_argument("--stack", default="MacsecKeyRotation", help="CloudFormation stack name")
    parser.add_argument("--region", help="AWS Region (default: your configuration's)")
    parser.add_argument("--local", metavar="SCENARIO", help="use the embedded AWS set up by this scenario")
    commands = parser.add_subparsers(dest="command", required=True)
    start_command = commands.add_parser("start", help="start a rotation and follow it")
    start_command.add_argument("--secret", required=True)
    start_command.add_argument("--target")
    start_command.add_argument("--mode", choices=["no_encrypt", "should_encrypt", "must_encrypt"])
    status_command = commands.add_parser("status", help="each managed target against its secret")
    status_command.add_argument("--target")
    status_command.add_argument("--prefix", default="macsec/")
    rerun_command = commands.add_parser("rerun", help="start a failed rotation again with its input, and follow it")
    rerun_command.add_argument("name", help="the failed execution's name (see history)")
    history_command = commands.add_parser("history", help="recent rotations")
    history_command.add_argument("--max", type=int, default=20)
    args = parser.parse_args(argv)

    def run(account: Account) -> int:
        if args.command == "start":
            return start(account, out, args.secret, args.target, args.mode)
        if args.command == "rerun":
            return rerun(account, out, args.name)
        if args.command == "status":
            return status(account, out, args.target, args.prefix)
        return history(account, out, args.max)

    try:
        if args.local:
            with local_account(args.local) as account:
                return run(account)
        return run(aws_account(args.stack, args.region))
    except CliError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
