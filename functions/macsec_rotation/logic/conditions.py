"""What each wait of the workflow waits for, as the watcher evaluates it every tick.

Five conditions, one primitive: the new key associated, the old keys gone with encryption settled, the previous
keys restored, the target's lock free, the router's confirmation. The first three need Direct Connect's state of
the target (the watcher's one fleet-wide read); the lock and the router need only DynamoDB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import TargetBusy, TargetNotFound
from ..gateways.directconnect import Target
from ..gateways.locks import LocksGateway
from ..gateways.waits import WaitsGateway, Watched
from ..models import Failure, TargetRotation
from ..settings import RuntimeSettings
from .abort import ABORTED, aborted
from .cleanup import removal_status
from .restore import restoration_status

ASSOCIATED = "associated"  # the new key is associated (or gone, or out of time, or the run aborted)
REMOVED = "removed"  # the old keys are gone and encryption held across the settle period (or went down)
RESTORED = "restored"  # the previous keys are back and encryption held (or a key must be associated again)
LOCK_FREE = "lockFree"  # the target's lock is this execution's (taken for it by the watcher)
ROUTER_CONFIRMED = "routerConfirmed"  # the router automation installed the new key
READS_DIRECT_CONNECT = frozenset({ASSOCIATED, REMOVED, RESTORED})
# What the router wait answers with when no confirmation came in time.
ROUTER_NOT_CONFIRMED = "routerNotConfirmed"
# The association and removal waits end their usual way (associated, removed) as a task success and the workflow
# goes straight on, with no Choice state to pay for. Any other outcome fails the task: under the name here, with
# the state data as the cause, where the workflow has another way (the roll-back, the restore); else with the
# outcome's own failure (its Catch releases the lock and fails the target).
USUAL = {ASSOCIATED: "associated", REMOVED: "removed"}
DIVERTED = {ASSOCIATED: {"*": "KeyNotAssociated"}, REMOVED: {"encryptionDown": "EncryptionDown"}}


@dataclass(frozen=True)
class Verdict:
    """What the watcher does with a parked task: answer it with `answer`, or keep it parked, with `keep` (the
    state data it carries to the next tick) when that changed."""

    answer: TargetRotation | None = None
    keep: TargetRotation | None = None


@dataclass(frozen=True)
class Answer:
    """How the watcher answers a parked task: a success with the state data, or a failure (error, cause)."""

    output: TargetRotation
    error: str | None = None
    cause: str | None = None


def answer_for(condition: str, answer: TargetRotation) -> Answer:
    if condition not in USUAL or answer.status == USUAL[condition]:
        return Answer(answer)
    diverted = DIVERTED[condition].get(answer.status) or DIVERTED[condition].get("*")
    if diverted is not None:
        return Answer(answer, diverted, answer.model_dump_json(by_alias=True))
    failure = answer.failure
    return Answer(answer, failure.error if failure else "WorkflowError", failure.cause if failure else answer.status)


@dataclass(frozen=True)
class Look:
    """What one tick knows: the fleet as Direct Connect listed it (None: not read, no parked condition needs it),
    and the tables where locks, aborts and router confirmations are."""

    fleet: Mapping[str, Target] | None
    locks: LocksGateway
    waits: WaitsGateway
    abort_checked: bool = True  # an operator's abort is looked for once a heartbeat period, not every tick

    def abort_requested(self, execution_id: str | None) -> bool:
        return self.abort_checked and self.locks.abort_requested(execution_id)


def evaluate(parked: Watched, item: TargetRotation, look: Look, now: float, settings: RuntimeSettings) -> Verdict:
    waited = round(now - parked.parked_at, 3)
    judge = _JUDGES.get(parked.condition)
    if judge is None:
        raise ValueError(f"unknown condition {parked.condition!r}")
    if parked.condition in READS_DIRECT_CONNECT:
        target = look.fleet.get(item.target) if look.fleet is not None else None
        if target is None:
            cause = f"{item.target} is no longer listed by Direct Connect in this account and Region."
            failure = Failure(error=TargetNotFound.__name__, cause=cause)
            return Verdict(answer=item.model_copy(update={"status": "targetGone", "failure": failure}))
        verdict = judge(parked, item, look, now, settings, target)
    else:
        verdict = judge(parked, item, look, now, settings, None)
    if verdict.answer is not None:
        return Verdict(answer=verdict.answer.model_copy(update={"waited_seconds": waited}))
    return verdict


Judge = Callable[[Watched, TargetRotation, Look, float, RuntimeSettings, "Target | None"], Verdict]


def _associated(
    parked: Watched, item: TargetRotation, look: Look, now: float, settings: RuntimeSettings, target: Target | None
) -> Verdict:
    assert target is not None
    if look.abort_requested(item.lock_owner):  # the old keys are all still there: the new key goes
        return Verdict(answer=item.model_copy(update={"status": ABORTED}))
    key = target.key(item.new_ckn)
    if key is not None and key.state == "associated":
        status = "associated"
    elif key is None:
        status = "dropped"
    elif now >= parked.deadline:
        status = "timedOut"
    else:
        return Verdict()
    return Verdict(answer=item.model_copy(update={"status": status}))


def _removed(
    parked: Watched, item: TargetRotation, look: Look, now: float, settings: RuntimeSettings, target: Target | None
) -> Verdict:
    assert target is not None
    checked = removal_status(item, target, now - parked.parked_at, settings)
    return _settling(item, checked, "removing")


def _restored(
    parked: Watched, item: TargetRotation, look: Look, now: float, settings: RuntimeSettings, target: Target | None
) -> Verdict:
    assert target is not None
    checked = restoration_status(item, target, settings)
    if checked.status == "restoring" and now - parked.parked_at < settings.watcher_beat_seconds:
        return Verdict()  # back to the step at most once a heartbeat period: a flapping key cannot fill the history
    return _settling(item, checked, "waitingForRestore")


def _settling(item: TargetRotation, checked: TargetRotation, waiting: str) -> Verdict:
    if checked.status != waiting:
        return Verdict(answer=checked)
    changed = checked.settled_since != item.settled_since
    return Verdict(keep=checked if changed else None)


def _lock_free(
    parked: Watched, item: TargetRotation, look: Look, now: float, settings: RuntimeSettings, target: Target | None
) -> Verdict:
    owner = item.lock_owner or ""
    if look.abort_requested(owner):  # nothing is held or changed yet
        return Verdict(answer=aborted(item, "while it waited for the target's lock"))
    holder = look.locks.holder(item.target, now)
    if holder is None or holder == owner:
        holder = look.locks.acquire(item.target, owner, now, now + settings.lock_ttl_seconds)
        if holder is None:
            return Verdict(answer=item.model_copy(update={"status": "locked"}))
    if now < parked.deadline:
        return Verdict()
    cause = (
        f"{item.target} stayed locked by {holder} for {round(now - parked.parked_at)}s; nothing was changed. Check "
        "that execution, then start this rotation again."
    )
    return Verdict(
        answer=item.model_copy(update={"status": "busy", "failure": Failure(error=TargetBusy.__name__, cause=cause)})
    )


def _router_confirmed(
    parked: Watched, item: TargetRotation, look: Look, now: float, settings: RuntimeSettings, target: Target | None
) -> Verdict:
    if look.abort_requested(item.lock_owner):
        return Verdict(answer=item.model_copy(update={"status": ABORTED}))
    if look.waits.confirmed(item.target, item.new_ckn):
        return Verdict(answer=item.model_copy(update={"status": ROUTER_CONFIRMED}))
    if now >= parked.deadline:
        return Verdict(answer=item.model_copy(update={"status": ROUTER_NOT_CONFIRMED}))
    return Verdict()


_JUDGES: dict[str, Judge] = {
    ASSOCIATED: _associated,
    REMOVED: _removed,
    RESTORED: _restored,
    LOCK_FREE: _lock_free,
    ROUTER_CONFIRMED: _router_confirmed,
}
