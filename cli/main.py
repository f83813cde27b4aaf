"""macsec-rotation: the operator's command.

    macsec-rotation [--stack NAME] [--region R] [--local SCENARIO] COMMAND [--json] ...
    macsec-rotation start --secret ID [--target T] [--mode M]
    macsec-rotation plan --secret ID [--target T] [--mode M] [--version V]
    macsec-rotation rerun NAME
    macsec-rotation abort NAME
    macsec-rotation confirm --target T [--ckn C]
    macsec-rotation status [--target T] [--prefix macsec/]
    macsec-rotation history [--max 20]
    macsec-rotation preflight [--prefix P]

Against AWS through boto3's usual credentials (AWS_PROFILE, environment, SSO), or against the embedded
AWS with `--local SCENARIO` (the scenario's account after its events have played out). With `--json`,
stdout carries exactly one JSON document (on an error too: {"error": ...}); progress goes to stderr.
Exit status: 0 done (in sync, would succeed), 1 the rotation failed (a target drifted, it would be refused),
2 an error the operator can fix.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TextIO

from .account import Account, CliError, aws_account, local_account
from .commands import Document, Output, abort, confirm, history, plan, rerun, start, status
from .preflight import preflight

PROG = "macsec-rotation"


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=PROG,
        description="MACsec key rotation operator CLI",
        epilog="exit status: 0 done (in sync, would succeed), 1 the rotation failed (a target drifted, it would be "
        "refused), 2 an error to fix",
    )
    top.add_argument("--stack", default="MacsecKeyRotation", help="CloudFormation stack name")
    top.add_argument("--region", help="AWS Region (default: your configuration's)")
    top.add_argument("--local", metavar="SCENARIO", help="use the embedded AWS set up by this scenario")
    json_help = "print one JSON document on stdout (progress goes to stderr)"
    top.add_argument("--json", action="store_true", help=json_help)
    # --json also after the command; SUPPRESS keeps a top-level --json when the command does not repeat it
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
    commands = top.add_subparsers(
        dest="command", required=True, metavar="{start,plan,preflight,status,history,rerun,abort,confirm}"
    )
    start_command = commands.add_parser("start", parents=[as_json], help="start a rotation and follow it")
    start_command.add_argument("--secret", required=True)
    start_command.add_argument("--target")
    start_command.add_argument("--mode", choices=["no_encrypt", "should_encrypt", "must_encrypt"])
    plan_command = commands.add_parser(
        "plan", parents=[as_json], help="what a rotation started now would do, changing nothing"
    )
    plan_command.add_argument("--secret", required=True)
    plan_command.add_argument("--target")
    plan_command.add_argument("--mode", choices=["no_encrypt", "should_encrypt", "must_encrypt"])
    plan_command.add_argument("--version", help="the version to plan for; it must be the AWSCURRENT one")
    preflight_command = commands.add_parser(
        "preflight",
        parents=[as_json],
        help="read-only checks that the account is ready for a rotation, each with what to do (exit 1: blocked)",
    )
    preflight_command.add_argument("--prefix", help="the managed secrets' prefix (default: the stack's)")
    status_command = commands.add_parser("status", parents=[as_json], help="each managed target against its secret")
    status_command.add_argument("--target")
    status_command.add_argument("--prefix", default="macsec/")
    history_command = commands.add_parser("history", parents=[as_json], help="recent rotations")
    history_command.add_argument("--max", type=int, default=20)
    rerun_command = commands.add_parser(
        "rerun", parents=[as_json], help="start a failed rotation again with its input, and follow it"
    )
    rerun_command.add_argument("name", help="the failed execution's name (see history)")
    abort_command = commands.add_parser(
        "abort",
        parents=[as_json],
        help="stop a running rotation at its next safe point (before old keys go), and follow it",
    )
    abort_command.add_argument("name", help="the running execution's name (see history)")
    confirm_command = commands.add_parser(
        "confirm",
        parents=[as_json],
        help="confirm the router side of a rotation waiting on a target (routerConfirmation callback)",
    )
    confirm_command.add_argument("--target", required=True, help="the dxcon-/dxlag- id whose router holds the key")
    confirm_command.add_argument("--ckn", help="the CKN the router installed (default: the one the rotation waits for)")
    return top


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    output = Output(out=out, err=err, as_json=args.json)

    def run(account: Account) -> tuple[int, Document]:
        if args.command == "start":
            return start(account, output, args.secret, args.target, args.mode)
        if args.command == "plan":
            return plan(account, output, args.secret, args.target, args.mode, args.version)
        if args.command == "rerun":
            return rerun(account, output, args.name)
        if args.command == "abort":
            return abort(account, output, args.name)
        if args.command == "confirm":
            return confirm(account, output, args.target, args.ckn)
        if args.command == "status":
            return status(account, output, args.target, args.prefix)
        if args.command == "preflight":
            return preflight(account, output, args.prefix)
        return history(account, output, args.max)

    # With --json, stdout is the document's alone: anything else printed on the way goes to stderr.
    quiet = contextlib.redirect_stdout(err) if args.json else contextlib.nullcontext()
    try:
        with quiet:
            if args.local:
                with local_account(args.local) as account:
                    code, document = run(account)
            else:
                code, document = run(aws_account(args.stack, args.region))
    except CliError as error:
        err.write(f"error: {error}\n")
        output.document({"error": str(error)})
        return 2
    output.document({"command": args.command, **document})
    return code


if __name__ == "__main__":
    sys.exit(main())
