"""Step Functions' and EventBridge's sides, recorded: the gateways the router and watcher logic answer through, and
the watcher workflow driven tick by tick."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from macsec_rotation import clock as runtime_clock
from macsec_rotation.gateways.directconnect import Target
from macsec_rotation.gateways.events import EventsGateway
from macsec_rotation.gateways.locks import LocksGateway
from macsec_rotation.gateways.tasks import TasksGateway
from macsec_rotation.gateways.waits import WaitsGateway
from macsec_rotation.logic.watcher import Tick, park, tick
from macsec_rotation.models import TargetRotation
from macsec_rotation.observability import metrics
from macsec_rotation.settings import RuntimeSettings


class RecordedTasks(TasksGateway):
    """Each token takes one answer, a success or a failure; a second one (or one for a task that ended) finds the
    task gone."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.failures: dict[str, tuple[str, str]] = {}
        self.beats: list[str] = []
        self.beaten_at: dict[str, list[float]] = {}  # each token's heartbeats, at the functions' clock
        self.gone: set[str] = set()

    def answered(self, task_token: str) -> bool:
        return task_token in self.answers or task_token in self.failures

    def answer(self, task_token: str, result: Any) -> bool:
        if self.answered(task_token) or task_token in self.gone:
            return False
        self.answers[task_token] = json.loads(json.dumps(result))
        return True

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        if self.answered(task_token) or task_token in self.gone:
            return False
        self.failures[task_token] = (error, cause)
        return True

    def beat(self, task_token: str) -> bool:
        self.beats.append(task_token)
        self.beaten_at.setdefault(task_token, []).append(runtime_clock.now())
        return task_token not in self.gone


def diverted(failure: dict[str, Any], error: str) -> dict[str, Any]:
    """The state data a task failed with under `error`, where the workflow has another way for it (its cause)."""
    assert failure.get("error") == error, failure
    state: dict[str, Any] = json.loads(failure["cause"])
    return state


class RecordedEvents(EventsGateway):
    def __init__(self) -> None:
        self.put_events: list[tuple[str, dict[str, Any]]] = []

    def put(self, detail_type: str, detail: dict[str, Any], bus: str = "default") -> None:
        self.put_events.append((detail_type, detail))


def dynamodb_tables(client: Any) -> tuple[WaitsGateway, LocksGateway]:
    """The waits table and the lock table, as the stack creates them (inside moto's mock)."""
    for name, key in (("waits", "id"), ("locks", "target")):
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return WaitsGateway(client, "waits"), LocksGateway(client, "locks")


class Watching:
    """The watcher workflow run as Step Functions runs it: a tick, a Wait of the tick's `wait_seconds`, a tick...
    following a hand-over to the successor; the parked executions' answers recorded."""

    def __init__(
        self,
        waits: WaitsGateway,
        locks: LocksGateway,
        read_fleet: Callable[[bool], Mapping[str, Target]],
        clock: Any,
        settings: RuntimeSettings,
    ) -> None:
        self.waits, self.locks, self.read_fleet, self.clock, self.settings = waits, locks, read_fleet, clock, settings
        self.tasks, self.events = RecordedTasks(), RecordedEvents()
        self.started: list[str] = []
        self.watcher: str | None = None
        self.started_at = self.lease_until = self.beaten_at = 0.0
        self.ticked_at: list[float] = []

    def park(self, condition: str, item: TargetRotation, token: str, timeout_seconds: int) -> None:
        park(condition, item, token, timeout_seconds, self.waits, self.locks, self.started.append, self.settings)
        self._follow()

    def tick(self) -> Tick:
        assert self.watcher is not None, "no watcher was started"
        self.ticked_at.append(self.clock.now())
        result = tick(
            self.watcher,
            self.started_at,
            self.lease_until,
            self.beaten_at,
            self.waits,
            self.read_fleet,
            self.tasks,
            self.locks,
            self.events,
            self.started.append,
            self.settings,
        )
        metrics.clear_metrics()  # the tick handler's log_metrics flushes them after each invocation
        self.lease_until, self.beaten_at = result.lease_until, result.beaten_at
        self._follow()
        return result

    def answer(self, token: str, within_seconds: float) -> dict[str, Any]:
        """Tick until the task is answered, at most `within_seconds` (a broken bound fails instead of hanging): the
        state data it succeeded with, or the {error, cause} it failed with."""
        began = self.clock.now()
        while True:
            result = self.tick()
            if self.tasks.answered(token):
                return self.outcome(token)
            assert result.next != "done", f"the watcher ended with {token} unanswered"
            assert self.clock.now() - began <= within_seconds, f"{token} unanswered after {within_seconds}s"
            self.clock.advance(result.wait_seconds)

    def outcome(self, token: str) -> dict[str, Any]:
        """The state data the task succeeded with, or the {error, cause} it failed with."""
        if token in self.tasks.failures:
            error, cause = self.tasks.failures[token]
            return {"error": error, "cause": cause}
        return dict(self.tasks.answers[token])

    def _follow(self) -> None:
        """A park that took the lease, or a hand-over, started a watcher: the workflow now runs that one."""
        if self.started and self.started[-1] != self.watcher:
            self.watcher, self.started_at, self.lease_until, self.beaten_at = (
                self.started[-1],
                self.clock.now(),
                0.0,
                0.0,
            )
