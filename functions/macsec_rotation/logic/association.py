"""Associate the new key, and roll it back when it never gets `associated` (the watcher waits for that:
logic/conditions.py). `check_association` is the poll step of the naive design the benchmark compares against."""

from __future__ import annotations

from .. import clock
from ..errors import Aborted, AssociationRejected, AssociationTimeout, DirectConnectBusy, RouterNotConfirmed
from ..gateways.directconnect import DirectConnectGateway, Target
from ..gateways.secrets import SecretsGateway
from ..keys import parse_key_material
from ..models import Failure, TargetRotation
from ..observability import logger
from .abort import ABORTED


def associate_new_key(
    item: TargetRotation, secrets: SecretsGateway, dx: DirectConnectGateway, target: Target | None = None
) -> TargetRotation:
    target = target or dx.describe(item.target)
    if target.key(item.new_ckn) is None:
        # The CAK lives only in this frame: read, validated, handed to Direct Connect, dropped.
        key = parse_key_material(
            secrets.secret_string(item.secret_arn, item.version_id), item.secret_arn, item.version_id
        )
        try:
            dx.associate(item.target, key)
        except AssociationRejected as refused:
            lingering = target.listed(item.new_ckn)
            if lingering is None:
                raise
            # Our own key on its way out (an earlier roll-back): Direct Connect may refuse its CKN until it
            # is no longer listed. That passes, so it is retried like throttling.
            raise DirectConnectBusy(
                f"key {item.new_ckn} is still listed on {item.target} as {lingering.state}; {refused}"
            ) from None
        logger.info("key associated", target=item.target, ckn=item.new_ckn)
    else:
        logger.info("key already on target", target=item.target, ckn=item.new_ckn)
    return item.model_copy(update={"status": "associating", "poll": item.poll.model_copy(update={"attempt": 0})})


def check_association(item: TargetRotation, dx: DirectConnectGateway, abort_requested: bool = False) -> TargetRotation:
    """One round of the wait; an operator's abort (old keys all still there) sends the new key to the roll-back."""
    if abort_requested:
        logger.warning("rotation aborted during the association wait", target=item.target, ckn=item.new_ckn)
        return item.model_copy(update={"status": ABORTED})
    target = dx.describe(item.target)
    key = target.key(item.new_ckn)
    attempt = item.poll.attempt + 1
    if key is not None and key.state == "associated":
        status = "associated"
    elif key is None:
        status = "dropped"
    elif attempt >= item.poll.max_attempts:
        status = "timedOut"
    else:
        status = "associating"
    logger.info(
        "association polled",
        target=item.target,
        ckn=item.new_ckn,
        attempt=attempt,
        key_state=key.state if key else "gone",
        status=status,
    )
    return item.model_copy(update={"status": status, "poll": item.poll.model_copy(update={"attempt": attempt})})


def roll_back_new_key(item: TargetRotation, dx: DirectConnectGateway) -> TargetRotation:
    target = dx.describe(item.target)
    key = target.key(item.new_ckn)
    if key is not None:
        dx.disassociate(item.target, key.secret_arn)
    kept = [k.ckn for k in target.live_keys if key is None or k is not key]
    waited = round(item.waited_seconds) if item.waited_seconds is not None else 0
    what = (
        "was dropped by Direct Connect"
        if item.status == "dropped"
        else f"was still {key.state if key else 'gone'} after {waited}s"
    )
    logger.warning("new key rolled back", target=item.target, ckn=item.new_ckn, kept=kept, status=item.status)
    if item.status == ABORTED:
        cause = (
            f"The rotation of {item.target} was aborted by an operator request during the association wait; "
            f"the new key {item.new_ckn} was disassociated and the old keys {kept} were kept, so the link is as "
            "before; its lock is released. Start the rotation again when ready (macsec-rotation rerun)."
        )
        return item.model_copy(update={"failure": Failure(error=Aborted.__name__, cause=cause)})
    if item.status == "routerNotConfirmed":
        asked = round(clock.now() - item.router_asked_at) if item.router_asked_at else 0
        cause = (
            f"The router automation did not confirm key {item.new_ckn} on {item.target} within {asked}s of the "
            f"`MACsec Key Ready For Router` event; the new key was disassociated and the old keys {kept} were kept, "
            "so the link never lost encryption. Check the router automation (it must put `MACsec Router Key "
            "Installed` on the stack's router bus), or confirm by hand (macsec-rotation confirm), then re-run."
        )
        return item.model_copy(update={"failure": Failure(error=RouterNotConfirmed.__name__, cause=cause)})
    cause = (
        f"Key {item.new_ckn} on {item.target} {what}; it was disassociated and the old keys {kept} were kept, "
        "so the link is as before. Check the target's MACsec state in the Direct Connect console, then start "
        "the rotation again (a longer association timeout may help)."
    )
    return item.model_copy(update={"failure": Failure(error=AssociationTimeout.__name__, cause=cause)})
