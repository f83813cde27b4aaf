"""One rotation per target at a time. Two executions for the same target (two quick secret updates, an
operator start during an automatic run) must not interleave: one could remove the key the other just
put on. The lock survives crashes through its expiry and is released on every path of an iteration."""

from __future__ import annotations

from .. import clock
from ..errors import TargetBusy, WorkflowError, reported_error_name
from ..gateways.locks import LocksGateway
from ..models import Failure, TargetRotation
from ..observability import logger
from ..settings import RuntimeSettings
from .abort import aborted


def acquire_lock(
    item: TargetRotation, locks: LocksGateway, execution_id: str, settings: RuntimeSettings
) -> TargetRotation:
    if locks.abort_requested(execution_id):  # nothing is held or changed yet
        return aborted(item, "while it waited for the target's lock")
    poll = item.poll if item.status == "waitingForLock" else settings.lock_poll()
    now = clock.now()
    holder = locks.acquire(item.target, execution_id, now, now + settings.lock_ttl_seconds)
    if holder is None:
        logger.info("lock acquired", target=item.target, waited_rounds=poll.attempt)
        return item.model_copy(update={"status": "locked", "lock_owner": execution_id})
    attempt = poll.attempt + 1
    if attempt >= poll.max_attempts:
        cause = (
            f"{item.target} stayed locked by {holder} for {(attempt - 1) * poll.interval_seconds}s; nothing was "
            "changed. Check that execution, then start this rotation again."
        )
        logger.warning("target busy", target=item.target, holder=holder)
        return item.model_copy(update={"status": "busy", "failure": Failure(error=TargetBusy.__name__, cause=cause)})
    logger.info("waiting for lock", target=item.target, holder=holder, attempt=attempt)
    return item.model_copy(update={"status": "waitingForLock", "poll": poll.model_copy(update={"attempt": attempt})})


def release_lock(item: TargetRotation, locks: LocksGateway, caught: dict[str, str] | None) -> TargetRotation:
    """Release; after an unexpected error (`caught`, Step Functions' {Error, Cause}) keep it as the failure."""
    if item.lock_owner:
        locks.release(item.target, item.lock_owner)
        logger.info("lock released", target=item.target)
    if caught:
        error = str(caught.get("Error") or WorkflowError.__name__)
        cause = str(caught.get("Cause") or "")
        if reported_error_name(error) != error:
            cause = f"{error}: {cause}"  # Step Functions' own error names are reserved; keep it in the cause
        return item.model_copy(update={"failure": Failure(error=reported_error_name(error), cause=cause)})
    return item
