"""Remove the superseded keys, then make sure encryption survived across the settle period."""

from __future__ import annotations

from .. import clock
from ..errors import DisassociationTimeout, NewKeyNotAssociated, TargetNotAvailable
from ..gateways.directconnect import DirectConnectGateway, Target
from ..keys import ckn_among, same_ckn
from ..models import Failure, TargetRotation
from ..observability import logger
from ..settings import RuntimeSettings
from .encryption import tighten_encryption


def clean_up(item: TargetRotation, dx: DirectConnectGateway, settings: RuntimeSettings) -> TargetRotation:
    """Once the new key is associated (and, under callback, on the router): tighten encryptionMode if asked, then
    remove the old keys, from one reading of the target (tightening changes no key nor port). Run again after a
    crash, each part recognises its own work."""
    target = dx.describe(item.target)
    return remove_old_keys(tighten_encryption(item, dx, target), dx, settings, target)


def remove_old_keys(
    item: TargetRotation, dx: DirectConnectGateway, settings: RuntimeSettings, target: Target | None = None
) -> TargetRotation:
    target = target or dx.describe(item.target)
    new_key = target.key(item.new_ckn)
    if new_key is None or new_key.state != "associated":
        raise NewKeyNotAssociated(
            f"key {item.new_ckn} on {item.target} is {new_key.state if new_key else 'gone'}, not associated, "
            "so the old keys were kept. Check the target and start the rotation again."
        )
    # Keys planned on the link that are no longer live were removed by an earlier try of this step (its
    # answer lost to a crash) or by someone else: either way the loss of encryption is ours to repair.
    already_gone = [ckn for ckn in item.ckns_before if target.key(ckn) is None]
    lost = encryption_lost(target, item)
    if lost and not already_gone and not item.removed_ckns:
        # Something else took encryption down (a port went down): removing keys now could not be
        # judged by its effect, so keep them.
        raise TargetNotAvailable(
            f"ports {', '.join(lost)} of {item.target} lost encryption before the old keys were removed; the new key "
            f"{item.new_ckn} is associated and the old keys were kept. Start the rotation again once they are up."
        )
    removed = {*item.removed_ckns, *already_gone}
    # With encryption already gone the check goes straight to the restore: remove nothing more.
    kept = {k.ckn.lower() for k in item.kept_ckns}
    old_keys = [] if lost else [k for k in target.live_keys if not ckn_among(k.ckn, [item.new_ckn, *kept])]
    for key in old_keys:
        dx.disassociate(item.target, key.secret_arn)
        logger.info("old key disassociated", target=item.target, ckn=key.ckn)
        removed.add(key.ckn)
    return item.model_copy(
        update={"removed_ckns": sorted(removed), "poll": settings.removal_poll(), "status": "removing"}
    )


def check_removal(item: TargetRotation, dx: DirectConnectGateway, settings: RuntimeSettings) -> TargetRotation:
    """One polling round (the restore's way back to the removal wait counts its rounds)."""
    attempt = item.poll.attempt + 1
    checked = removal_status(item, dx.describe(item.target), attempt * item.poll.interval_seconds, settings)
    if checked.status == "removing" and attempt >= item.poll.max_attempts:  # not reached while the bound holds
        checked = checked.model_copy(update={"status": "timedOut", "failure": _settle_timeout(item, settings)})
    return checked.model_copy(update={"poll": item.poll.model_copy(update={"attempt": attempt})})


def removal_status(
    item: TargetRotation, target: Target, waited_seconds: float, settings: RuntimeSettings
) -> TargetRotation:
    """Where the removal stands `waited_seconds` after the old keys were asked to go: removed (gone, and every
    port that was encrypted has stayed encrypted across the settle period), removing, encryptionDown (repair
    now) or timedOut (keys linger past the disassociation timeout, or encryption never held across the settle
    period within it)."""
    lingering = [k.ckn for k in target.keys if not same_ckn(k.ckn, item.new_ckn) and k.state == "disassociating"]
    failure, settled_since = None, None
    lost = encryption_lost(target, item)
    if lost:
        # Checked first: a port that lost encryption must be repaired now, not after the last key is gone.
        status = "encryptionDown"
    elif lingering and waited_seconds >= settings.disassociation_timeout_seconds:
        # Keys may linger as long as the disassociation timeout: the time after it is the settle period's.
        status = "timedOut"
        failure = Failure(
            error=DisassociationTimeout.__name__,
            cause=(
                f"Old keys {lingering} on {item.target} were still disassociating after {round(waited_seconds)}s. "
                f"The new key {item.new_ckn} is associated and encryption is up; re-run later to confirm they are "
                "gone."
            ),
        )
    elif lingering:
        status = "removing"
    else:
        settled_since, settled = settling(item, settings)
        status = "removed" if settled else "removing"
        bound = settings.disassociation_timeout_seconds + settings.encryption_settle_seconds
        if not settled and waited_seconds >= bound:
            status, failure = "timedOut", _settle_timeout(item, settings)
    # The watcher checks every tick: only a change of status is worth a log line (CloudWatch Logs bills by size).
    log = logger.debug if status == "removing" else logger.info
    log(
        "removal checked",
        target=item.target,
        waited_seconds=round(waited_seconds),
        lingering=lingering,
        encryption_lost=lost,
        settled_since=settled_since,
        status=status,
    )
    return item.model_copy(update={"status": status, "failure": failure, "settled_since": settled_since})


def _settle_timeout(item: TargetRotation, settings: RuntimeSettings) -> Failure:
    return Failure(
        error=DisassociationTimeout.__name__,
        cause=(
            f"Old keys on {item.target} went only at the end of the wait, and encryption has not yet held "
            f"across the settle period ({settings.encryption_settle_seconds}s). The new key {item.new_ckn} "
            "is associated; check every port's encryption status, then re-run to confirm."
        ),
    )


def settling(item: TargetRotation, settings: RuntimeSettings) -> tuple[float, bool]:
    """For a reading with every port encrypted and nothing left to wait for: since when that has held, and
    whether it has held across the settle period. Port status follows a key change only after MKA's timers
    (unpublished), so one good reading right after a change proves nothing."""
    since = item.settled_since or clock.now()
    return since, clock.now() - since >= settings.encryption_settle_seconds


def encryption_lost(target: Target, item: TargetRotation) -> list[str]:
    """Ports that were encrypted when the rotation was planned and are not now."""
    return [port for port in target.ports_down if port in item.ports_encrypted_before]
