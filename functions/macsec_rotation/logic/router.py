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
from ..gateways.waits import WaitsGateway, Watched
from ..keys import same_ckn
from ..models import TargetRotation
from ..observability import logger
from ..settings import RuntimeSettings
from .conditions import ROUTER_CONFIRMED

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


def hold_lock_for_router(
    item: TargetRotation, locks: LocksGateway, timeout_seconds: int, settings: RuntimeSettings
) -> None:
    """The router wait may outlast the lock's time to live: renew it past the wait's end before parking."""
    now = clock.now()
    until = now + timeout_seconds + settings.lock_ttl_seconds
    holder = locks.acquire(item.target, item.lock_owner or "", now, until)
    if holder is not None:
        raise TargetBusy(
            f"the lock on {item.target} passed to {holder} while this execution waited for the router; the new key "
            f"{item.new_ckn} is associated and the old keys were kept. Check that execution, then re-run this one."
        )


def router_waits(target: str, waits: WaitsGateway) -> list[tuple[Watched, TargetRotation]]:
    """The rotations of `target` parked until its router confirms their new key (one at a time: the lock)."""
    found = []
    for parked in waits.watched():
        if parked.condition == ROUTER_CONFIRMED:
            item = TargetRotation.model_validate_json(parked.item)
            if item.target == target:
                found.append((parked, item))
    return found


def confirm_router_key(detail: Any, waits: WaitsGateway, tasks: TasksGateway) -> str:
    """The router automation (or `macsec-rotation confirm`) installed a CKN on a target's router. Kept in any
    case (the watcher's ROUTER_CONFIRMED condition finds it); it answers at once the execution parked on that
    target for that CKN, if one is. Another CKN, another target or a repeat changes nothing."""
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
    answered = 0
    for parked, item in router_waits(target, waits):
        # settled first: exactly one party (this confirmation or the watcher) answers a token
        if same_ckn(item.new_ckn, ckn) and waits.settle(parked):
            answered += tasks.answer(parked.task_token, item.model_copy(update={"status": ROUTER_CONFIRMED}).dump())
            logger.info("router confirmation answered", target=target, ckn=ckn, execution=item.lock_owner)
    if not answered:
        logger.info("router confirmation kept; no rotation waits for it now", target=target, ckn=ckn)
        return "kept"
    return ROUTER_CONFIRMED


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
