"""The start of a target's rotation, in one step: take the target's lock (or wait for it), decide again under it,
and associate the new key when the decision is to. One step instead of three saves two state transitions and two
readings of the target per rotation; a retry after a crash finds its own lock and its own key and goes on."""

from __future__ import annotations

from ..gateways.directconnect import DirectConnectGateway
from ..gateways.locks import LocksGateway
from ..gateways.secrets import SecretsGateway
from ..models import TargetRotation
from ..settings import RuntimeSettings
from .abort import aborted
from .association import associate_new_key
from .lock import acquire_lock
from .prepare import replan_under_lock

# The decisions that start with the new key's association; the others wait for it, clean up, or end.
ASSOCIATES = ("Associate",)


def begin_rotation(
    item: TargetRotation,
    execution_id: str,
    locks: LocksGateway,
    secrets: SecretsGateway,
    dx: DirectConnectGateway,
    settings: RuntimeSettings,
) -> TargetRotation:
    locked = acquire_lock(item, locks, execution_id, settings)
    if locked.status != "locked":
        return locked  # waitingForLock (the watcher takes it once free), or aborted while nothing was held
    if locks.abort_requested(execution_id):  # nothing changed yet: give the lock back and end
        locks.release(item.target, execution_id)
        return aborted(locked.model_copy(update={"lock_owner": None}), "before it planned")
    target = dx.describe(item.target)
    plan = replan_under_lock(locked, secrets, dx, settings, target).model_copy(update={"lock_owner": execution_id})
    if plan.action in ASSOCIATES:
        return associate_new_key(plan, secrets, dx, target)
    return plan
