"""One watcher for the whole fleet: every wait of the workflow parks its execution on a condition (a task token
and a deadline in the waits table), and a single watcher reads Direct Connect once a tick for every target,
evaluates each parked condition and answers the executions whose condition resolved.

Direct Connect publishes no key-state event, so the fewest reads that see every target are one paged
DescribeConnections and one paged DescribeLags a tick, however many rotations wait. Exactly one watcher runs (a
lease, renewed by conditional write before it runs out). It survives its own crash: the watcher heartbeats every parked
task, so a task whose watcher died times out on its heartbeat, parks again and starts a new watcher; and a
watcher ends its run before Express's five minutes by starting its successor and handing it the lease.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from .. import clock
from ..errors import TargetNotFound
from ..gateways.directconnect import Target
from ..gateways.events import EventsGateway
from ..gateways.locks import LocksGateway
from ..gateways.tasks import TasksGateway
from ..gateways.waits import WaitsGateway, Watched, watched_id
from ..models import Failure, TargetRotation
from ..observability import logger, metrics
from ..settings import RuntimeSettings
from .abort import ABORTED
from .cleanup import removal_status
from .router import announce_removal

Next = Literal["tick", "done", "handover"]
# The conditions an execution can park on, and the state data the watcher answers with when one resolves.
ASSOCIATED = "associated"  # the new key is associated (or gone, or out of time, or the run aborted)
REMOVED = "removed"  # the old keys are gone and encryption held across the settle period (or went down)
# Express runs at most five minutes: a watcher hands over well before.
RUN_SECONDS = 240
# The lease is renewed when less than a tick and this margin are left.
LEASE_MARGIN_SECONDS = 8


@dataclass(frozen=True)
class Verdict:
    """What the watcher does with a parked task: answer it with `answer`, or keep it parked, with `keep` (the
    state data it carries to the next tick) when that changed."""

    answer: TargetRotation | None = None
    keep: TargetRotation | None = None


@dataclass(frozen=True)
class Tick:
    next: Next
    wait_seconds: int
    lease_until: float
    parked: int = 0
    answered: int = 0


def park(
    condition: str,
    item: TargetRotation,
    task_token: str,
    timeout_seconds: int,
    waits: WaitsGateway,
    start_watcher: Callable[[str], object],
    settings: RuntimeSettings,
) -> None:
    """Record the task for the watcher (replacing this execution's earlier token for the target), and make
    sure a watcher runs: take the lease if it is free or expired, and start one under it."""
    now = clock.now()
    waits.watch(
        Watched(
            wait_id=watched_id(item.lock_owner or "", item.target),
            condition=condition,
            task_token=task_token,
            item=item.model_dump_json(by_alias=True),
            parked_at=now,
            deadline=now + timeout_seconds,
            beat_at=now,
        )
    )
    watcher = f"watcher-{uuid.uuid4().hex}"
    if waits.take_lease(watcher, now, now + settings.watcher_lease_seconds):
        start_watcher(watcher)
        logger.info("watcher started", watcher=watcher)
    logger.info("parked", condition=condition, target=item.target, timeout_seconds=timeout_seconds)


def tick(
    watcher: str,
    started_at: float,
    lease_until: float,
    waits: WaitsGateway,
    read_fleet: Callable[[], Mapping[str, Target]],
    tasks: TasksGateway,
    locks: LocksGateway,
    events: EventsGateway,
    start_watcher: Callable[[str], object],
    settings: RuntimeSettings,
) -> Tick:
    """One round of the watcher: nothing to do ends it (and releases the lease); else one read of the fleet,
    every parked condition evaluated, the resolved ones answered, the others heartbeaten. The lease (until
    `lease_until`, as this watcher last wrote it) is renewed only when it would run out before the next tick is well
    under way: nobody else can take it before, and a write every tick would be most of the watcher's DynamoDB bill."""
    now = clock.now()
    if lease_until - now <= settings.watcher_tick_seconds + LEASE_MARGIN_SECONDS:
        lease_until = now + settings.watcher_lease_seconds
        if not waits.renew_lease(watcher, now, lease_until):
            logger.info("another watcher holds the lease", watcher=watcher)
            return Tick("done", 0, 0)
    parked = waits.watched()
    if not parked:
        waits.release_lease(watcher)
        # A park that saw this lease alive started no watcher: look again after releasing it.
        lease_until = now + settings.watcher_lease_seconds
        if not waits.watched() or not waits.take_lease(watcher, now, lease_until):
            return Tick("done", 0, 0)
        parked = waits.watched()
    fleet = read_fleet()
    answered = sum(_serve(p, fleet, now, waits, tasks, locks, events, settings) for p in parked)
    metrics.add_metric(name="ParkedTasks", unit="Count", value=len(parked))
    if now - started_at >= RUN_SECONDS:
        successor = f"watcher-{uuid.uuid4().hex}"
        if waits.hand_over_lease(watcher, successor, now, now + settings.watcher_lease_seconds):
            start_watcher(successor)
            logger.info("watcher handed over", watcher=watcher, successor=successor)
        return Tick("handover", 0, lease_until, len(parked), answered)
    return Tick("tick", settings.watcher_tick_seconds, lease_until, len(parked), answered)


def _serve(
    parked: Watched,
    fleet: Mapping[str, Target],
    now: float,
    waits: WaitsGateway,
    tasks: TasksGateway,
    locks: LocksGateway,
    events: EventsGateway,
    settings: RuntimeSettings,
) -> bool:
    item = TargetRotation.model_validate_json(parked.item)
    abort = parked.condition == ASSOCIATED and locks.abort_requested(item.lock_owner)
    verdict = evaluate(parked, item, fleet.get(item.target), now, abort, settings)
    if verdict.answer is not None:
        if not waits.settle(parked):
            return False  # parked again meanwhile: the next tick serves the new token
        if verdict.answer.status == "removed" and item.router_confirmation == "callback":
            announce_removal(verdict.answer, events)  # the router may delete the old keys now
        tasks.answer(parked.task_token, verdict.answer.dump())
        logger.info("condition resolved", condition=parked.condition, target=item.target, status=verdict.answer.status)
        return True
    kept = verdict.keep.model_dump_json(by_alias=True) if verdict.keep is not None else None
    if now - parked.beat_at >= settings.watcher_beat_seconds:
        if tasks.beat(parked.task_token):
            waits.beat(parked, now, kept)
        else:  # the execution ended (stopped, timed out): nobody waits for this any more
            waits.settle(parked)
    elif kept is not None:
        waits.beat(parked, parked.beat_at, kept)
    return False


def evaluate(
    parked: Watched,
    item: TargetRotation,
    target: Target | None,
    now: float,
    abort_requested: bool,
    settings: RuntimeSettings,
) -> Verdict:
    """What the condition says now about the target (None: the fleet read did not list it)."""
    waited = round(now - parked.parked_at, 3)
    if target is None:
        cause = f"{item.target} is no longer listed by Direct Connect in this account and Region."
        failure = Failure(error=TargetNotFound.__name__, cause=cause)
        return Verdict(answer=item.model_copy(update={"status": "targetGone", "failure": failure}))
    if parked.condition == ASSOCIATED:
        return Verdict(answer=_association(item, target, now, parked.deadline, abort_requested, waited))
    if parked.condition == REMOVED:
        checked = removal_status(item, target, waited, settings).model_copy(update={"waited_seconds": waited})
        if checked.status != "removing":
            return Verdict(answer=checked)
        changed = checked.settled_since != item.settled_since
        return Verdict(keep=checked if changed else None)
    raise ValueError(f"unknown condition {parked.condition!r}")


def _association(
    item: TargetRotation, target: Target, now: float, deadline: float, abort_requested: bool, waited: float
) -> TargetRotation | None:
    if abort_requested:  # an operator's abort: the old keys are all still there, the new key goes
        return item.model_copy(update={"status": ABORTED, "waited_seconds": waited})
    key = target.key(item.new_ckn)
    if key is not None and key.state == "associated":
        status = "associated"
    elif key is None:
        status = "dropped"
    elif now >= deadline:
        status = "timedOut"
    else:
        return None
    return item.model_copy(update={"status": status, "waited_seconds": waited})
