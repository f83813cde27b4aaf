"""Where the commands act: the stack's state machine in an AWS account, or the embedded AWS of a scenario."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from macsec_rotation.settings import RuntimeSettings


class CliError(Exception):
    """Something the operator can fix; printed without a traceback."""


@dataclass
class Account:
    """Clients, the state machine, and how to let time pass while following an execution."""

    client: Callable[[str], Any]
    state_machine_arn: str
    wait: Callable[[float], None]
    # The settings the deployed functions decide with (maxTargetsPerSecret, ...), read when a command needs them.
    settings: Callable[[], RuntimeSettings] = RuntimeSettings
    # The stack's lock table, where `abort` records its request (None: the stack has none).
    lock_table: str | None = None
    # Now, on the clock the workflow's functions see (virtual with --local).
    now: Callable[[], float] = time.time
    # The parked waits (Waits) and the bus router automations confirm on (`confirm`); None: the
    # stack predates routerConfirmation.
    waits_table: str | None = None
    router_bus: str | None = None
    # The stack's name and resources as DescribeStackResources lists them (LogicalResourceId, ResourceType,
    # PhysicalResourceId): what `preflight` inspects.
    stack_name: str = "MacsecKeyRotation"
    stack_resources: tuple[dict[str, str], ...] = ()
    # The embedded AWS (local.runner.LocalAws) behind --local, None against AWS: `preflight` asks it what moto
    # cannot answer (local/preflight_world.py).
    embedded: Any = None


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
    prepare = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] == "AWS::Lambda::Function" and r["LogicalResourceId"].startswith("FunctionsPrepare")
    ]

    def settings() -> RuntimeSettings:
        """The Prepare function's settings; the defaults when they cannot be read (lambda:GetFunctionConfiguration)."""
        if not prepare:
            return RuntimeSettings()
        try:
            configuration = session.client("lambda").get_function_configuration(FunctionName=prepare[0])
        except (ClientError, BotoCoreError):
            return RuntimeSettings()
        return RuntimeSettings.from_env(configuration.get("Environment", {}).get("Variables", {}))

    tables = [
        r["PhysicalResourceId"]
        for r in resources
        if r["ResourceType"] in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table")
        and r["LogicalResourceId"].startswith("TargetLocks")
    ]
    return Account(
        client=session.client,
        state_machine_arn=machines[0],
        wait=time.sleep,
        settings=settings,
        lock_table=tables[0] if tables else None,
        waits_table=next(
            (r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"].startswith("Waits")), None
        ),
        router_bus=next(
            (r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Events::EventBus"), None
        ),
        stack_name=stack,
        stack_resources=tuple(
            {key: str(r.get(key, "")) for key in ("LogicalResourceId", "ResourceType", "PhysicalResourceId")}
            for r in resources
        ),
    )


@contextmanager
def local_account(scenario_path: str) -> Iterator[Account]:
    """The embedded AWS after the scenario's events have played out. The emulator (a test and demo tool in
    local/, with moto and the CDK app) is imported only here, so a command against AWS never loads it."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from local.scenario import ScenarioError, load  # noqa: PLC0415
    from local.simulation import scenario_world  # noqa: PLC0415

    try:
        scenario = load(scenario_path)
    except ScenarioError as error:
        raise CliError(str(error)) from None
    with scenario_world(scenario) as aws:
        yield embedded_account(aws)


def embedded_account(aws: Any) -> Account:
    """The commands' view of a running embedded AWS (local.runner.LocalAws). The functions' environment (the
    scenario's settings) is the process's while the world runs."""
    from local.simulation import lock_table_name  # noqa: PLC0415 (the embedded AWS loads only with --local)

    return Account(
        client=aws.client,
        state_machine_arn=aws.state_machine_arn,
        wait=aws.advance_by,
        settings=RuntimeSettings.from_env,
        lock_table=lock_table_name(aws),
        now=aws.clock.now,
        waits_table=next((name for name in aws.template.tables() if name.startswith("Waits")), None),
        router_bus=next(
            (bus["Properties"]["Name"] for bus in aws.template.resources("AWS::Events::EventBus").values()), None
        ),
        # The template's resources, each named by its logical id as the embedded AWS names them.
        stack_resources=tuple(
            {"LogicalResourceId": logical_id, "ResourceType": resource["Type"], "PhysicalResourceId": logical_id}
            for logical_id, resource in aws.template.raw["Resources"].items()
        ),
        embedded=aws,
    )
