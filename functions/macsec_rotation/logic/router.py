"""The customer's router side of a rotation (routerConfirmation `callback`).

AWS's guide says only that after associating a pair "you must configure the same pair on your device", and that
the Direct Connect device falls back to the previous working key while the new one does not match: so the link
survives a new key the router lacks until the old key is removed. Under `callback` the workflow asks the
router automation (`MACsec Key Ready For Router`), parks until it confirms (`MACsec Router Key Installed`), and
removes nothing before; no confirmation in time rolls the new key back (`RouterNotConfirmed`).
"""

from __future__ import annotations

import re
from typing import Any

from .. import clock
from ..errors import InvalidConfirmation, TargetBusy
from ..gateways.events import KEY_READY, KEY_ROLLED_BACK, OLD_KEYS_REMOVED, EventsGateway
from ..gateways.locks import LocksGateway
from ..gateways.tasks import TasksGateway
from ..gateways.waits import Parked, WaitsGateway
from ..models import TargetRotation
from ..observability import logger, metrics
from ..settings import RuntimeSettings
from .abort import ABORTED

# What a parked router wait answers with (its state writes it to $.status).
CONFIRMED = "routerConfirmed"
NOT_CONFIRMED = "routerNotConfirmed"
_TARGET_ID = re.compile(r"dx(con|lag)-[0-9a-zA-Z]{1,40}")
_CKN = re.compile(r"[0-9a-fA-F]{2,64}")


def ask_router(item: TargetRotation, events: EventsGateway) -> TargetRotation:
    """Tell the router automation the new key is on Direct Connect: it reads the pair from the secret's
    version (the event carries identifiers only). A re-run asks again."""
    events.put(
        KEY_READY,
        {
            "target": item.target,
            "secretArn": item.secret_arn,
            "versionId": item.version_id,
            "ckn": item.new_ckn,
            "executionArn": item.lock_owner,
        },
    )
    logger.info("router asked for the new key", target=item.target, ckn=item.new_ckn)
    return item.model_copy(update={"router_asked_at": clock.now(), "status": "waitingForRouter"})


def park_for_router(
    item: TargetRotation,
    task_token: str,
    waits: WaitsGateway,
    tasks: TasksGateway,
    locks: LocksGateway,
    settings: RuntimeSettings,
    abort_requested: bool,
) -> str:
    """One round of the wait: answer at once when the outcome is known (aborted, out of time, confirmed
    already), else leave the task parked for the confirmation, the lock renewed past the round."""
    now = clock.now()
    waited = now - (item.router_asked_at or now)
    if abort_requested:
        return _answer(tasks, task_token, ABORTED, item, waited)
    # Rounds split the timeout evenly, so the one due to end past the deadline is not started.
    if waited + settings.router_round_seconds / 2 >= settings.router_confirmation_timeout_seconds:
        return _answer(tasks, task_token, NOT_CONFIRMED, item, waited)
    holder = locks.acquire(item.target, item.lock_owner or "", now, now + settings.lock_ttl_seconds)
    if holder is not None:
        raise TargetBusy(
            f"the lock on {item.target} passed to {holder} while this execution waited for the router; the new key "
            f"{item.new_ckn} is associated and the old keys were kept. Check that execution, then re-run this one."
        )
    waits.park(
        item.target,
        Parked(item.lock_owner or "", item.new_ckn, task_token),
        expires_at=now + settings.router_confirmation_timeout_seconds + settings.router_round_seconds,
    )
    metrics.add_metric(name="RouterWaitSeconds", unit="Seconds", value=waited)
    if waits.confirmed(item.target, item.new_ckn) and waits.claim(item.target, item.new_ckn):
        return _answer(tasks, task_token, CONFIRMED, item, waited)
    logger.info("waiting for the router", target=item.target, ckn=item.new_ckn, waited_seconds=round(waited))
    return "parked"


def _answer(tasks: TasksGateway, task_token: str, status: str, item: TargetRotation, waited: float) -> str:
    tasks.answer(task_token, status)
    logger.info("router wait ended", target=item.target, ckn=item.new_ckn, status=status, waited_seconds=round(waited))
    return status


def confirm_router_key(detail: Any, waits: WaitsGateway, tasks: TasksGateway) -> str:
    """The router automation (or `macsec-rotation confirm`) installed a CKN on a target's router. Kept in any
    case; it answers the execution waiting on that target for that CKN, if one does. Another CKN, another target
    or a repeat changes nothing."""
    target = detail.get("target") if isinstance(detail, dict) else None
    ckn = detail.get("ckn") if isinstance(detail, dict) else None
    if not isinstance(target, str) or not _TARGET_ID.fullmatch(target):
        raise InvalidConfirmation(
            "the event's detail.target must be the connection (dxcon-...) or LAG (dxlag-...) id the key went on; "
            'nothing was changed. Put the event again with detail {"target": ..., "ckn": ...}.'
        )
    if not isinstance(ckn, str) or not _CKN.fullmatch(ckn):
        raise InvalidConfirmation(
            f"the event's detail.ckn for {target} must be the CKN (hex) the router installed, as the "
            "`MACsec Key Ready For Router` event named it; nothing was changed."
        )
    waits.record_confirmation(target, ckn, clock.now())
    parked = waits.claim(target, ckn)
    if parked is None:
        logger.info("router confirmation kept; no rotation waits for it now", target=target, ckn=ckn)
        return "kept"
    answered = tasks.answer(parked.task_token, CONFIRMED)
    logger.info("router confirmation answered", target=target, ckn=ckn, execution=parked.execution_id)
    return CONFIRMED if answered else "kept"


def announce_roll_back(item: TargetRotation, events: EventsGateway, waits: WaitsGateway) -> None:
    """The router automation may drop the new key: so a confirmation of it no longer says the router has it."""
    waits.forget_confirmation(item.target, item.new_ckn)
    events.put(
        KEY_ROLLED_BACK,
        {
            "target": item.target,
            "secretArn": item.secret_arn,
            "versionId": item.version_id,
            "ckn": item.new_ckn,
            "reason": item.failure.error if item.failure else item.status,
            "executionArn": item.lock_owner,
        },
    )


def announce_removal(item: TargetRotation, events: EventsGateway) -> None:
    """The contract: the router keeps an old key until this event, and may delete it after."""
    events.put(OLD_KEYS_REMOVED, {"target": item.target, "ckns": item.removed_ckns, "executionArn": item.lock_owner})
