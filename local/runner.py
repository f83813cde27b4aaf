"""LocalAws: moto, the Direct Connect emulator and the synthesized workflow on one virtual clock."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import sys
import threading
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from moto import mock_aws
from moto.events.models import EventPattern
from moto.sns.models import sns_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from . import moto_fixes, patches, service_faults
from .clock import VirtualClock
from .directconnect import DirectConnectEmulator, emulator_backend, installed
from .eventbridge import EventBridge, Participants
from .lambdas import LambdaDispatcher, LogSink
from .service_faults import ServiceFault
from .template import DEFAULT_BUS, Template, synthesize

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
REAL_SECONDS_PER_RUN = 300.0


class RotationStepFailed(Exception):
    """A step of the rotation function failed: Secrets Manager ends that rotation attempt there."""


class RunStuck(RuntimeError):
    """Executions did not finish in real time: a deadlock or a runaway, never a slow rotation."""


@dataclass
class ExecutionRecord:
    arn: str
    name: str
    started_at: float
    stopped_at: float | None = None


class LocalAws:
    def __init__(
        self, region: str = "us-east-1", account: str = "123456789012", template: Template | None = None
    ) -> None:
        if str(FUNCTIONS_DIR) not in sys.path:
            sys.path.insert(0, str(FUNCTIONS_DIR))
        self.region = region
        self.account = account
        self.template = template or synthesize()
        self.clock = VirtualClock()
        self.logs = LogSink()
        self.dispatcher = LambdaDispatcher(self.template, self.logs, region, account)
        self.dead_letters: list[dict[str, Any]] = []
        self.service_faults: list[ServiceFault] = []
        self.executions: dict[str, ExecutionRecord] = {}
        self._finished = threading.Condition()
        self._stack = contextlib.ExitStack()
        self._ended_histories: dict[str, list[dict[str, Any]]] = {}
        self._rotating = threading.local()  # set in the thread that drives a RotateSecret call
        self._driver_waiting = False  # the driving thread waits for the run to end, not a participant
        self.state_machine_arn = ""
        # EventBridge (local/eventbridge.py): every PutEvents entry, delivered to the template's rules and to
        # the actors (the customer's router automations), whose delayed actions are participants of the clock.
        self.bridge = EventBridge(self.clock, region, account, self.deliver_event)
        self.actors = Participants(self.clock, self._activity_ended)

    # ---- lifecycle ----

    def __enter__(self) -> LocalAws:
        from macsec_rotation import clock as runtime_clock  # noqa: PLC0415 (on sys.path from __init__)

        stack = self._stack
        for key, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "MOTO_ACCOUNT_ID": self.account,
        }.items():
            stack.enter_context(_env(key, value))
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        stack.enter_context(mock_aws(config=MOTO_CONFIG))
        stack.enter_context(installed())
        stack.enter_context(self.bridge.applied())
        stack.enter_context(moto_fixes.applied())
        stack.enter_context(service_faults.injected(self.service_faults, applies=self.dispatcher.in_function))
        previous_clock = runtime_clock.use(self.clock)
        stack.callback(runtime_clock.use, previous_clock)
        stack.enter_context(self.dispatcher.environment())
        stack.enter_context(contextlib.redirect_stdout(self.logs))  # EMF metrics are printed
        stack.enter_context(patches.applied(self.clock, self._lambda_api_invoke, self._execution_finished))
        self.dx.clock = self.clock.now
        self._create_functions_and_topics()
        self.state_machine_arn = self.client("stepfunctions").create_state_machine(
            name=self.template.state_machine_logical_id(),
            definition=json.dumps(self.template.definition(self.region, self.account)),
            roleArn=f"arn:aws:iam::{self.account}:role/StateMachineRole",
        )["stateMachineArn"]
        for logical_id, name in self.template.express_machines().items():  # the watcher
            self.client("stepfunctions").create_state_machine(
                name=name,
                type="EXPRESS",
                definition=json.dumps(self.template.definition(self.region, self.account, logical_id)),
                roleArn=f"arn:aws:iam::{self.account}:role/StateMachineRole",
            )
        self.clock.join()  # the driving thread takes part until it waits for the run to end
        stack.callback(self.clock.leave)
        stack.callback(self.clock.freeze)  # at the end: a watcher between ticks must not wake into the next run
        stack.callback(self.actors.close)  # before the driver leaves: actors due later do nothing
        return self

    def _create_functions_and_topics(self) -> None:
        """What the template deploys besides the state machine: its topics, its table, and the rotation
        function as moto knows it (Secrets Manager invokes it through moto's Lambda; Step Functions tasks
        and EventBridge targets are called directly)."""
        for name in self.template.topic_names():
            self.client("sns").create_topic(Name=name)
        for name in self.template.event_buses().values():
            self.client("events").create_event_bus(Name=name)
        for name, table in self.template.tables().items():
            self.client("dynamodb").create_table(
                TableName=name,
                KeySchema=table["KeySchema"],
                AttributeDefinitions=table["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
        role = self.client("iam").create_role(RoleName="LocalFunctionRole", AssumeRolePolicyDocument="{}")["Role"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as package:
            package.writestr("placeholder.py", "# the runner calls the handlers in-process\n")
        for spec in self.dispatcher.functions.values():
            if spec.step != "rotate_secret":
                continue
            self.client("lambda").create_function(
                FunctionName=spec.logical_id,
                Runtime="python3.11",
                Role=role["Arn"],
                Handler=spec.handler,
                Code={"ZipFile": archive.getvalue()},
            )

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stack.close()

    # ---- access ----

    @property
    def dx(self) -> DirectConnectEmulator:
        return emulator_backend(self.account, self.region)

    def client(self, service: str) -> Any:
        return _client(service, self.region)

    # ---- driving ----

    def advance_to(self, at: float) -> None:
        """Let virtual time run (executions progress) until `at` seconds into the run."""
        if at > self.clock.elapsed():
            self.clock.sleep(at - self.clock.elapsed())

    def advance_by(self, seconds: float) -> None:
        self.advance_to(self.clock.elapsed() + seconds)

    def start_execution(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        name = name or f"local-{uuid.uuid4().hex[:12]}"
        arn: str = self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(execution_input)
        )["executionArn"]
        self.executions.setdefault(arn, ExecutionRecord(arn, name, self.clock.elapsed()))
        return arn

    def deliver_event(self, event: dict[str, Any], bus: str = DEFAULT_BUS) -> list[dict[str, Any]]:
        """EventBridge: each rule of the template on `bus` whose pattern matches invokes its target functions,
        asynchronously as Lambda does: two more tries on error, then the dead-letter queue. AWS services'
        events (Secrets Manager's) come here directly; PutEvents entries through `self.bridge`."""
        results = []
        for rule in self.template.rules(self.region, self.account):
            if rule.bus != bus or not EventPattern(None, rule.pattern).matches_event(event):
                continue
            for logical_id in rule.target_functions:
                arn = self.template.function_arn(logical_id, self.region, self.account)
                for _ in range(3):
                    payload, error = self.dispatcher.invoke(arn, json.dumps(event))
                    if not error:
                        results.append(json.loads(payload))
                        self._adopt_started_executions()
                        break
                else:
                    self.dead_letters.append(event)
        return results

    def rotate_secret(self, secret_id: str) -> bool:
        """Secrets Manager's RotateSecret with the stack's rotation function: its four steps run for real.
        As in AWS, a step that fails ends the attempt: the new version keeps AWSPENDING, AWSCURRENT stays
        where it was, and RotationFailed follows. (moto alone would run the remaining steps and make the
        new version current whatever they did; and it leaves AWSPENDING on the completed version, which makes
        the next RotateSecret fail.) True when the new version became AWSCURRENT."""
        rotation = self.dispatcher.function_for_step("rotate_secret")
        client = self.client("secretsmanager")
        self._rotating.attempt = True
        try:
            token = client.rotate_secret(
                SecretId=secret_id,
                RotationLambdaARN=self.template.function_arn(rotation.logical_id, self.region, self.account),
                RotationRules={"AutomaticallyAfterDays": 30},
            )["VersionId"]
        except RotationStepFailed:
            return False
        finally:
            self._rotating.attempt = False
        stages = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"].get(token, [])
        if "AWSCURRENT" not in stages:
            return False
        if "AWSPENDING" in stages:  # Secrets Manager drops the label once a rotation completes; moto does not
            client.update_secret_version_stage(SecretId=secret_id, VersionStage="AWSPENDING", RemoveFromVersionId=token)
        return True

    def _lambda_api_invoke(self, function_name: str, body: bytes | str) -> tuple[bytes, str | None]:
        """A function call from a Step Functions task, or through moto's Lambda. Secrets Manager's rotation
        runs the function in the thread that called RotateSecret; executions run in threads of their own."""
        payload, error = self.dispatcher.invoke(function_name, body)
        if error and getattr(self._rotating, "attempt", False):
            raise RotationStepFailed(payload.decode())
        return payload, error

    def _adopt_started_executions(self) -> None:
        """Executions a function started (the intake) are tracked like the ones started here."""
        listed = self.client("stepfunctions").list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        with self._finished:
            for execution in listed:
                if execution["executionArn"] not in self.executions:
                    self.executions[execution["executionArn"]] = ExecutionRecord(
                        execution["executionArn"], execution["name"], self.clock.elapsed()
                    )

    @property
    def notifications(self) -> list[dict[str, Any]]:
        sent = []
        for name in self.template.topic_names():
            topic = sns_backends[self.account][self.region].topics[f"arn:aws:sns:{self.region}:{self.account}:{name}"]
            sent += [{"subject": subject, "message": message} for _, message, subject, _, _ in topic.sent_notifications]
        return sent

    @property
    def bus_events(self) -> list[dict[str, Any]]:
        """Every event put on EventBridge (PutEvents), in order: {at, bus, source, detailType, detail, id}."""
        return list(self.bridge.events)

    def wait_for_executions(self, timeout: float = REAL_SECONDS_PER_RUN) -> None:
        """Let virtual time run until every execution has ended and no actor acts at that moment. The thread
        that ends the run hands participation back to this one in the same step (as `_activity_ended` does),
        so time stops where the run ended: an actor that sleeps past it never acts."""
        with self._finished:
            if self._run_over():
                return
            self._driver_waiting = True
            self.clock.leave()
            try:
                done = self._finished.wait_for(lambda: not self._driver_waiting, timeout=timeout)
            finally:
                if self._driver_waiting:  # out of real time: take part again on our own
                    self._driver_waiting = False
                    self.clock.join()
        if not done:
            running = [r.name for r in self.executions.values() if r.stopped_at is None]
            raise RunStuck(f"executions {running} did not finish within {timeout:.0f} real seconds")

    def _run_over(self) -> bool:
        return all(r.stopped_at is not None for r in self.executions.values()) and not self.actors.due()

    def _activity_ended(self) -> None:
        """An execution or an actor's action ended (in its own thread, still a participant): if that was the
        last, the waiting driver takes part again before this thread leaves, so time cannot move on."""
        with self._finished:
            if self._driver_waiting and self._run_over():
                self._driver_waiting = False
                self.clock.join()  # on behalf of the driver
            self._finished.notify_all()

    def _execution_finished(self, arn: str) -> None:
        rotations = self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":"
        if not arn.startswith(rotations):  # a watcher's run: the rotations are what a run is made of
            return
        with self._finished:
            record = self.executions.get(arn)
            if record is None:  # finished before start_execution returned
                record = self.executions[arn] = ExecutionRecord(arn, arn.rsplit(":", 1)[-1], self.clock.elapsed())
            record.stopped_at = self.clock.elapsed()
        self._activity_ended()

    # ---- reading results ----

    def describe(self, arn: str) -> dict[str, Any]:
        return dict(self.client("stepfunctions").describe_execution(executionArn=arn))

    def history(self, arn: str) -> list[dict[str, Any]]:
        """The execution's history events as GetExecutionHistory returns them, read from moto's state
        machine backend: the same events, without serializing thousands of them through the API (that
        was most of a run's time). tests/workflow checks both ways give the same events."""
        if arn in self._ended_histories:
            return self._ended_histories[arn]
        execution = stepfunctions_parser_backends[self.account][self.region].describe_execution(arn)
        events = [_as_returned(event) for event in execution.to_history_output()["events"]]
        record = self.executions.get(arn)
        if record is not None and record.stopped_at is not None:  # an ended execution's history is final
            self._ended_histories[arn] = events
        return events

    def history_via_api(self, arn: str) -> list[dict[str, Any]]:
        client = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = client.get_execution_history(
                executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
            )
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events


@functools.lru_cache(maxsize=32)
def _client(service: str, region: str) -> Any:
    """Making a client costs more than most calls on it. moto's interception is global, so a client made
    in one run serves the next; its state lives in moto's backends, which each run resets."""
    return boto3.client(service, region_name=region)


def _as_returned(value: Any) -> Any:
    """A backend history event as botocore parses it: enum members as their strings, timestamps as datetimes."""
    if isinstance(value, dict):
        return {
            key: datetime.fromisoformat(item) if key == "timestamp" and isinstance(item, str) else _as_returned(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_as_returned(item) for item in value]
    return value.value if isinstance(value, Enum) else value


@contextlib.contextmanager
def _env(key: str, value: str) -> Any:
    saved = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = saved
