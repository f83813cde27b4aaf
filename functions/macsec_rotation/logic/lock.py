"""One rotation per target at a time. Two executions for the same target (two quick secret updates, an
operator start during an automatic run) must not interleave: one could remove the key the other just
put on. The lock survives crashes through its expiry and is released on every path of an iteration."""

from __future__ import annotations

from .. import clock
from ..errors import WorkflowError, reported_error_name
from ..gateways.locks import LocksGateway
from ..models import Failure, TargetRotation
from ..observability import logger
from ..settings import RuntimeSettings
from .abort import aborted


def acquire_lock(
    item: TargetRotation, locks: LocksGateway, execution_id: str, settings: RuntimeSettings
) -> TargetRotation:
    """Take the lock, or wait for it (the watcher's LOCK_FREE condition takes it for this execution once it is
    free, at most as long as the holder's lock can live)."""
    if locks.abort_requested(execution_id):  # nothing is held or changed yet
        return aborted(item, "while it waited for the target's lock")
    now = clock.now()
    holder = locks.acquire(item.target, execution_id, now, now + settings.lock_ttl_seconds)
    if holder is None:
        logger.info("lock acquired", target=item.target)
        return item.model_copy(update={"status": "locked", "lock_owner": execution_id})
    logger.info("waiting for lock", target=item.target, holder=holder)
    # lock_owner names the waiter (its wait and an abort are found by it); releasing a lock one does not hold
    # changes nothing.
    return item.model_copy(update={"status": "waitingForLock", "lock_owner": execution_id})


def release_lock(
    item: TargetRotation, locks: LocksGateway, execution_id: str, caught: dict[str, str] | None
) -> TargetRotation:
    """Release the lock if this execution holds it (a failed step's input may predate the lock: the owner is the
    execution); after an unexpected error (`caught`, Step Functions' {Error, Cause}) keep it as the failure."""
    locks.release(item.target, execution_id)
    logger.info("lock released", target=item.target)
    if caught:
        error = str(caught.get("Error") or WorkflowError.__name__)
        cause = str(caught.get("Cause") or "")
        if reported_error_name(error) != error:
            cause = f"{error}: {cause}"  # Step Functions' own error names are reserved; keep it in the cause
        return item.model_copy(update={"failure": Failure(error=reported_error_name(error), cause=cause)})
    return item
