"""One scenario on the embedded AWS, measured for the benchmark: what it billed and what Direct Connect saw.

Counters live here, inside the bench process only (local/ is not changed for them):
- DynamoDB: every data-plane call anyone made while the scenario played (functions, Step Functions tasks), by a
  wrapper of `botocore.client.BaseClient._make_api_call`; the report's own reads afterwards are not counted.
- Lambda billed duration by function: a wrapper of `LambdaDispatcher.invoke` (the runner's own total does not say
  which function, and functions may differ in memory and architecture). Requests are the runner's own counts.
- Express runs and their billed durations: `local.express.express_runs(clock)` for the runs that ended, and, for
  a run still going when the last rotation ended (the watcher waits for its next tick), the time from its start to
  that moment (a wrapper of `ExpressExecutions.run_program` notes when each run starts).
- Standard transitions: every StateEntered of every execution of a STANDARD state machine, plus one per retry (a
  task scheduled again within the same state entry).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from bench.asl import looping_states
from local import express
from local.clock import EPOCH
from local.lambdas import LambdaDispatcher
from local.scenario import Scenario
from local.simulation import scenario_world
from local.template import Template
from macsec_rotation import clock as runtime_clock

# DynamoDB's data plane: what on-demand capacity bills (CreateTable and the like are not requests of the run).
DYNAMODB_DATA = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "GetItem",
    "Query",
    "Scan",
    "BatchWriteItem",
    "BatchGetItem",
    "TransactWriteItems",
    "TransactGetItems",
}
SCHEDULED = {"LambdaFunctionScheduled", "TaskScheduled", "ActivityScheduled"}
DX_READS = ("DescribeConnections", "DescribeLags")
PAGE_SIZE = 100


@dataclass
class Execution:
    arn: str
    name: str
    machine_type: str
    status: str
    definition: dict[str, Any]
    history: list[dict[str, Any]]

    @property
    def started_at(self) -> float:
        return _seconds(self.history[0]["timestamp"])

    @property
    def stopped_at(self) -> float:
        return _seconds(self.history[-1]["timestamp"])

    @property
    def states_entered(self) -> int:
        return sum(e["type"].endswith("StateEntered") for e in self.history)

    @property
    def retries(self) -> int:
        """Tasks scheduled again within one entry of their state (Retry): each is billed as a transition."""
        scheduled = sum(1 for e in self.history if e["type"] in SCHEDULED)
        return max(0, scheduled - sum(1 for e in self.history if e["type"] == "TaskStateEntered"))

    @property
    def failure(self) -> dict[str, str] | None:
        """The error and cause an execution that did not succeed ended with."""
        if self.status == "SUCCEEDED":
            return None
        details: dict[str, Any] = next((v for k, v in self.history[-1].items() if k.endswith("EventDetails")), {})
        return {"error": str(details.get("error", self.status)), "cause": str(details.get("cause", ""))[:400]}

    def entered(self) -> list[tuple[float, str]]:
        return [
            (_seconds(e["timestamp"]), e["stateEnteredEventDetails"]["name"])
            for e in self.history
            if e["type"].endswith("StateEntered")
        ]


@dataclass
class Measured:
    executions: list[Execution]
    lambda_requests: dict[str, int]
    lambda_billed_ms: dict[str, int]
    dynamodb_calls: dict[str, int]
    express_billed_ms: list[int]
    dx_calls: dict[str, int]
    dx_throttled: dict[str, int]
    dx_log: list[tuple[float, str, str, str]]  # (virtual seconds, operation, target or "", outcome)
    keys: dict[str, list[dict[str, Any]]]  # target -> every key it had: ckn and its state times (virtual seconds)
    connections: int  # every connection, LAG members included
    lags: int
    dx_unpaged: dict[str, int]  # DescribeConnections/DescribeLags calls that asked for every item without maxResults
    real_seconds: float
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def standard(self) -> list[Execution]:
        return [e for e in self.executions if e.machine_type == "STANDARD"]

    def billing(self) -> dict[str, Any]:
        """What bench.pricing.cost needs."""
        return {
            "standardTransitions": sum(e.states_entered + e.retries for e in self.standard),
            "expressRuns": len(self.express_billed_ms),
            "expressBilledMs": sum(self.express_billed_ms),
            "lambdaRequests": self.lambda_requests,
            "lambdaBilledMs": self.lambda_billed_ms,
            "dynamodbCalls": self.dynamodb_calls,
        }

    def dx_reads(self) -> dict[str, int]:
        """Direct Connect read calls as the emulator saw them (throttled ones included), and as pages of 100: the
        emulator pages when asked (maxResults) but answers a call without maxResults with every item at once, so
        such a call counts as the ceil(items / 100) pages it would take at 100 a page."""
        reads = [entry for entry in self.dx_log if entry[1] in DX_READS]
        extra = 0
        for operation, calls in self.dx_unpaged.items():
            listed = self.connections if operation == "DescribeConnections" else self.lags
            extra += calls * (max(1, math.ceil(listed / PAGE_SIZE)) - 1)
        one_target = sum(1 for entry in reads if entry[2])
        return {
            "calls": len(reads),
            "pages": len(reads) + extra,
            "oneTargetCalls": one_target,  # DescribeConnections(connectionId=...) and the like: a step's own look
            "listCalls": len(reads) - one_target,  # every connection or LAG (a page of them): a fleet-wide look
        }


@dataclass
class _Counters:
    on: bool = False
    dynamodb: Counter[str] = field(default_factory=Counter)
    lambda_ms: Counter[str] = field(default_factory=Counter)
    dx_unpaged: Counter[str] = field(default_factory=Counter)
    express_open: dict[int, float] = field(default_factory=dict)  # running Express runs: id -> started (virtual s)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def _counting() -> Iterator[_Counters]:
    counters = _Counters(on=True)
    make_api_call = BaseClient._make_api_call
    invoke = LambdaDispatcher.invoke
    run_program = express.ExpressExecutions.run_program

    def noted_run(self: express.ExpressExecutions, program: Any, env: Any) -> None:
        token = id(env)
        with counters.lock:
            counters.express_open[token] = self._clock.elapsed()
        try:
            run_program(self, program, env)
        finally:
            with counters.lock:
                counters.express_open.pop(token, None)

    def counted_call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        asks_everything = not any(params.get(k) for k in ("connectionId", "lagId", "maxResults"))
        if counters.on and service == "directconnect" and operation in DX_READS and asks_everything:
            with counters.lock:
                counters.dx_unpaged[operation] += 1
        if counters.on and service == "dynamodb" and operation in DYNAMODB_DATA:
            with counters.lock:
                counters.dynamodb[operation] += 1
                if operation in ("BatchWriteItem", "BatchGetItem"):
                    tables = params.get("RequestItems", {}).values()
                    items = (len(t) if operation == "BatchWriteItem" else len(t.get("Keys", [])) for t in tables)
                    counters.dynamodb[f"{operation}.items"] += sum(items)
                if operation in ("TransactWriteItems", "TransactGetItems"):
                    counters.dynamodb[f"{operation}.items"] += len(params.get("TransactItems", []))
        return make_api_call(self, operation, params)

    def timed_invoke(self: LambdaDispatcher, function_name: str, body: bytes | str) -> Any:
        # Billed: the handler's time on this machine, plus the virtual seconds it spent blocked (a paced call
        # waiting for its turn in the Direct Connect budget, an emulated service's latency): Lambda bills both.
        started, virtual_start = time.perf_counter(), runtime_clock.now()
        try:
            return invoke(self, function_name, body)
        finally:
            if counters.on:
                logical_id = function_name.rsplit(":", 1)[-1]
                seconds = time.perf_counter() - started + max(0.0, runtime_clock.now() - virtual_start)
                with counters.lock:
                    counters.lambda_ms[logical_id] += max(1, math.ceil(seconds * 1000))

    BaseClient._make_api_call = counted_call
    LambdaDispatcher.invoke = timed_invoke  # type: ignore[method-assign]
    express.ExpressExecutions.run_program = noted_run  # type: ignore[method-assign]
    try:
        yield counters
    finally:
        BaseClient._make_api_call = make_api_call
        LambdaDispatcher.invoke = invoke  # type: ignore[method-assign]
        express.ExpressExecutions.run_program = run_program  # type: ignore[method-assign]


def measure(scenario: Scenario, template: Template) -> Measured:
    real_start = time.perf_counter()
    with _counting() as counters, scenario_world(scenario, template) as aws:
        counters.on = False  # the scenario has played out: what follows is the benchmark reading
        real_seconds = time.perf_counter() - real_start
        sfn = aws.client("stepfunctions")
        machines: dict[str, dict[str, Any]] = {}
        executions = []
        for record in aws.executions.values():
            described = aws.describe(record.arn)
            machine_arn = described["stateMachineArn"]
            if machine_arn not in machines:
                machines[machine_arn] = sfn.describe_state_machine(stateMachineArn=machine_arn)
            machine = machines[machine_arn]
            executions.append(
                Execution(
                    record.arn,
                    record.name,
                    str(machine.get("type", "STANDARD")),
                    described["status"],
                    json.loads(machine["definition"]),
                    aws.history(record.arn),
                )
            )
        dx = aws.dx
        keys = {
            holder.target_id: [
                {
                    "ckn": k.ckn,
                    "requestedAt": _virtual(k.requested_at),
                    "associatedAt": _virtual(k.associated_at),
                    "removalRequestedAt": _virtual(k.removal_requested_at),
                    "goneAt": _virtual(k.gone_at),
                }
                for k in holder.keys
            ]
            for holder in [*dx.connections.values(), *dx.lags.values()]
        }
        measured = Measured(
            executions=executions,
            lambda_requests=dict(aws.dispatcher.invocations),
            lambda_billed_ms=dict(counters.lambda_ms),
            dynamodb_calls=dict(counters.dynamodb),
            express_billed_ms=[run.billed_milliseconds for run in express.express_runs(aws.clock)]
            + [_billed_ms(aws.clock.elapsed() - started) for started in counters.express_open.values()],
            dx_calls=dict(dx.calls),
            dx_throttled=dict(dx.throttled),
            dx_log=[(round(t - EPOCH, 3), op, target, outcome) for t, op, target, outcome in dx.api_log],
            keys=keys,
            connections=len(dx.connections),
            lags=len(dx.lags),
            dx_unpaged=dict(counters.dx_unpaged),
            real_seconds=real_seconds,
            errors=list(aws.dispatcher.errors),
        )
    return measured


def _billed_ms(seconds: float) -> int:
    """Express duration as billed: rounded up to the next 100 ms, at least 100 ms."""
    increments = math.ceil(round(seconds * 1000 / express.BILLING_INCREMENT_MS, 6))
    return max(1, increments) * express.BILLING_INCREMENT_MS


def _virtual(at: float | None) -> float | None:
    return None if at is None else round(at - EPOCH, 3)


def _seconds(timestamp: Any) -> float:
    return round(float(timestamp.timestamp()) - EPOCH, 3)


def detection(execution: Execution, associated_at: float) -> dict[str, Any]:
    """When the workflow moved past the association wait: the first state it entered at or after the moment the
    key became associated that lies on no loop of the definition (today's design: CleanUp; any renaming
    of states keeps this meaning)."""
    looping = looping_states(execution.definition)
    for at, name in execution.entered():
        if at >= associated_at and name not in looping:
            return {"state": name, "at": at, "latencySeconds": round(at - associated_at, 3)}
    raise RuntimeError(f"{execution.name}: no state past the wait was entered after {associated_at}")
