"""One watcher for the whole fleet: every wait of the workflow (association, removal, restore, lock, router) parks
its execution on a condition (logic/conditions.py: a task token and a deadline in the waits table), and a single
watcher reads Direct Connect once a tick for every target, evaluates each parked condition and answers the
executions whose condition resolved.

Direct Connect publishes no key-state event, so the fewest reads that see every target are one paged
DescribeConnections and one paged DescribeLags a tick, however many rotations wait. Exactly one watcher runs (a
lease, renewed by conditional write before it runs out). It survives its own crash: the watcher heartbeats every parked
task, so a task whose watcher died times out on its heartbeat, parks again and starts a new watcher; and a
watcher ends its run before Express's five minutes by starting its successor and handing it the lease.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from .. import clock
from ..gateways.directconnect import Target
from ..gateways.events import EventsGateway
from ..gateways.locks import LocksGateway
from ..gateways.tasks import TasksGateway
from ..gateways.waits import WaitsGateway, Watched, watched_id
from ..models import TargetRotation
from ..observability import logger, metrics
from ..settings import RuntimeSettings
from .conditions import READS_DIRECT_CONNECT, ROUTER_CONFIRMED, Look, answer_for, evaluate
from .router import announce_removal, hold_lock_for_router

Next = Literal["tick", "done", "handover"]
# A new watcher's input besides when it started: no lease yet (it takes it), no heartbeat sent yet.
FIRST_TICK = {"leaseUntil": 0, "beatenAt": 0}
# Express runs at most five minutes: a watcher hands over when its next tick would come later than this.
RUN_SECONDS = 240
# A tick renews the lease when less than a tick and this margin are left, and before a long wait, to outlive it
# by this margin.
LEASE_MARGIN_SECONDS = 8


@dataclass(frozen=True)
class Tick:
    next: Next
    wait_seconds: int
    lease_until: float
    parked: int = 0
    answered: int = 0
    beaten_at: float = 0.0  # when this watcher last heartbeat every parked task


def park(
    condition: str,
    item: TargetRotation,
    task_token: str,
    timeout_seconds: int,
    waits: WaitsGateway,
    locks: LocksGateway,
    start_watcher: Callable[[str], object],
    settings: RuntimeSettings,
) -> None:
    """Record the task for the watcher (replacing this execution's earlier token for the target), and make
    sure a watcher runs: take the lease if it is free or expired, and start one under it."""
    if condition == ROUTER_CONFIRMED:
        hold_lock_for_router(item, locks, timeout_seconds, settings)
    now = clock.now()
    waits.watch(
        Watched(
            wait_id=watched_id(item.lock_owner or "", item.target),
            condition=condition,
            task_token=task_token,
            item=item.model_dump_json(by_alias=True),
            parked_at=now,
            deadline=now + timeout_seconds,
        )
    )
    watcher = f"watcher-{uuid.uuid4().hex}"
    if waits.take_lease(
        watcher,
        now,
        now + settings.watcher_lease_seconds,
        take_over_after=_look_by(condition, item, now, now + timeout_seconds, waits, settings),
    ):
        start_watcher(watcher)
        logger.info("watcher started", watcher=watcher)
    logger.info("parked", condition=condition, target=item.target, timeout_seconds=timeout_seconds)


def _look_by(
    condition: str, item: TargetRotation, now: float, deadline: float, waits: WaitsGateway, settings: RuntimeSettings
) -> float:
    """When a watcher must look at this wait at the latest: a watcher that sleeps past it is taken over. A wait
    that needs Direct Connect's state, or a router confirmation that came already, at the next tick; else by its
    deadline."""
    confirmed_already = condition == ROUTER_CONFIRMED and waits.confirmed(item.target, item.new_ckn)
    if condition in READS_DIRECT_CONNECT or confirmed_already:
        return now + settings.watcher_tick_seconds + 1
    return deadline


def tick(
    watcher: str,
    started_at: float,
    lease_until: float,
    beaten_at: float,
    waits: WaitsGateway,
    read_fleet: Callable[[bool], Mapping[str, Target]],
    tasks: TasksGateway,
    locks: LocksGateway,
    events: EventsGateway,
    start_watcher: Callable[[str], object],
    settings: RuntimeSettings,
) -> Tick:
    """One round of the watcher: nothing to do ends it (and releases the lease); else one read of the fleet (when
    a parked condition needs Direct Connect's state), every parked condition evaluated, the resolved ones answered,
    the others heartbeaten. The next tick comes after `watcherTickSeconds` while a condition needs Direct Connect,
    else (a lock or a router confirmation is all that waits) at the nearest deadline, within a slow beat. The
    lease (until `lease_until`, as this watcher last wrote it) is renewed only when it would run out before the next
    tick is well under way (nobody else can take it before, and a write every tick would be most of the watcher's
    DynamoDB bill), and before a long wait."""
    now = clock.now()
    if lease_until - now <= settings.watcher_tick_seconds + LEASE_MARGIN_SECONDS:
        lease_until = now + settings.watcher_lease_seconds
        if not waits.renew_lease(watcher, now, lease_until, next_tick_at=now):
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
    reads_dx = any(p.condition in READS_DIRECT_CONNECT for p in parked)
    # Every parked task is heartbeaten (and its abort request looked for) once a beat, not every tick: the times
    # live in the watcher's state, so that a beat costs no DynamoDB write.
    beat = now - beaten_at >= settings.watcher_beat_seconds
    beaten_at = now if beat else beaten_at
    # DescribeLags only while a LAG waits: a connection's keys and port are all in DescribeConnections.
    lags = any(p.condition in READS_DIRECT_CONNECT and p.target.startswith("dxlag-") for p in parked)
    look = Look(fleet=read_fleet(lags) if reads_dx else None, locks=locks, waits=waits, abort_checked=beat)
    waiting = [p for p in parked if not _serve(p, look, now, beat, waits, tasks, events, settings)]
    answered = len(parked) - len(waiting)
    metrics.add_metric(name="ParkedTasks", unit="Count", value=len(parked))
    wait = _next_wait(waiting, now, settings)
    if now - started_at + wait >= RUN_SECONDS:  # its next tick would come too close to Express's five minutes
        successor = f"watcher-{uuid.uuid4().hex}"
        if waits.hand_over_lease(watcher, successor, now, now + settings.watcher_lease_seconds):
            start_watcher(successor)
            logger.info("watcher handed over", watcher=watcher, successor=successor)
        return Tick("handover", 0, lease_until, len(parked), answered, beaten_at)
    if wait > settings.watcher_tick_seconds:
        # A long wait: the lease must outlive it, and says when this watcher looks next, so that a wait parked
        # meanwhile that must be looked at sooner takes the lease over and starts a watcher that looks at once.
        lease_until = now + wait + LEASE_MARGIN_SECONDS
        if not waits.renew_lease(watcher, now, lease_until, next_tick_at=now + wait):
            return Tick("done", 0, 0)
        # One parked between the scan and that write saw no long wait to take over: look again, and say so in the
        # lease (else a later park would take over from a watcher that looks after all).
        if any(p.condition in READS_DIRECT_CONNECT for p in waits.watched()):
            wait = settings.watcher_tick_seconds
            if not waits.renew_lease(watcher, now, lease_until, next_tick_at=now + wait):
                return Tick("done", 0, 0)
    return Tick("tick", wait, lease_until, len(parked), answered, beaten_at)


def _next_wait(waiting: list[Watched], now: float, settings: RuntimeSettings) -> int:
    """Every tick while a wait needs Direct Connect's state; else (a lock, a router confirmation, which its event
    answers at once) at the next slow beat or deadline, whichever comes first."""
    if not waiting or any(p.condition in READS_DIRECT_CONNECT for p in waiting):
        return settings.watcher_tick_seconds
    soonest = min(p.deadline for p in waiting) - now
    return max(settings.watcher_tick_seconds, min(settings.watcher_slow_beat_seconds, math.ceil(soonest)))


def _serve(
    parked: Watched,
    look: Look,
    now: float,
    beat: bool,
    waits: WaitsGateway,
    tasks: TasksGateway,
    events: EventsGateway,
    settings: RuntimeSettings,
) -> bool:
    """Evaluate one parked condition: answer it when it resolved (True), else heartbeat it when a beat is due."""
    item = TargetRotation.model_validate_json(parked.item)
    verdict = evaluate(parked, item, look, now, settings)
    if verdict.answer is not None:
        if not waits.settle(parked):
            return False  # parked again meanwhile: the next tick serves the new token
        if verdict.answer.status == "removed" and item.router_confirmation == "callback":
            announce_removal(verdict.answer, events)  # the router may delete the old keys now
        answer = answer_for(parked.condition, verdict.answer)
        if answer.error is None:
            tasks.answer(parked.task_token, answer.output.dump())
        else:
            tasks.fail(parked.task_token, answer.error, answer.cause or "")
        logger.info("condition resolved", condition=parked.condition, target=item.target, status=verdict.answer.status)
        return True
    if verdict.keep is not None:  # what the next tick needs (a settle period's start)
        waits.keep(parked, verdict.keep.model_dump_json(by_alias=True))
    if beat and not tasks.beat(parked.task_token):  # the execution ended (stopped, timed out)
        waits.settle(parked)
        return True
    if beat and parked.condition == ROUTER_CONFIRMED:  # the RouterWaitLong alarm watches the longest
        metrics.add_metric(name="RouterWaitSeconds", unit="Seconds", value=round(now - parked.parked_at))
    return False
