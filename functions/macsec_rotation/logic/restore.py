"""The safety net: encryption went down when the old keys went, so put back what was on the link.

What is restored is fixed when the rotation plans: the keys associated then (`ckns_before`), their
pairs found by CKN among the secret's versions. Never "whatever is AWSPREVIOUS now": a second write
moves that label. Done when every port that had encryption has it again across the settle period: the
watcher waits for that (RESTORED) and sends the rotation back to the restore step when a key
is to be associated again, since Direct Connect may refuse a CKN that is still listed on its way out
(unpublished) and accept it later. A retry of a round does nothing twice.
"""

from __future__ import annotations

from .. import clock
from ..errors import AssociationRejected, DirectConnectBusy, EncryptionDown
from ..gateways.directconnect import DirectConnectGateway, Target
from ..gateways.secrets import SecretsGateway
from ..keys import ckn_among
from ..models import Failure, TargetRotation
from ..observability import logger
from ..settings import RuntimeSettings
from .cleanup import encryption_lost, settling
from .pairs import find_pairs


def restore_previous_keys(
    item: TargetRotation, secrets: SecretsGateway, dx: DirectConnectGateway, settings: RuntimeSettings
) -> TargetRotation:
    """One round: associate again each planned key that is not live, then park until the watcher sees them back
    (RESTORED); it sends the rotation here again when a key is to be associated again (one refused while listed
    left the listing, or one restored went), until the restore's time is up."""
    target = dx.describe(item.target)
    associated_now, refused, unrestorable = _reassociate_missing(item, target, secrets, dx)
    restored = sorted({*item.restored_ckns, *associated_now})
    status, failure = "waitingForRestore", None
    if len(unrestorable) == len(item.ckns_before) and not restored:
        status, failure = "unrestorable", _unrestorable(item, target)
    # A refused key is worth trying again once the target's listing changed (the key itself left, or another
    # freed a place in the keychain): remember how the target was listed when the key was refused.
    refused_listed = {ckn.lower(): keys_listed(target) for ckn in refused}
    logger.info("restore round", target=item.target, refused=refused, unrestorable=unrestorable, status=status)
    return item.model_copy(
        update={
            "status": status,
            "failure": failure,
            "restored_ckns": restored,
            "refused_ckns": refused_listed,
            "unrestorable_ckns": unrestorable,
            "restoring_since": item.restoring_since or clock.now(),
            "settled_since": None,
        }
    )


def restoration_status(item: TargetRotation, target: Target, settings: RuntimeSettings) -> TargetRotation:
    """Where the restore stands (the watcher's RESTORED condition): restoring (a key to associate again: back to
    the restore step), restored (every planned key live and encryption held across the settle period on every
    port that had it), restoreTimedOut, or still waitingForRestore."""
    out_of_time = clock.now() - (item.restoring_since or clock.now()) >= settings.restore_budget_seconds
    missing = [c for c in item.ckns_before if target.key(c) is None and not ckn_among(c, item.unrestorable_ckns)]
    listed = keys_listed(target)
    again = [c for c in missing if listed != item.refused_ckns.get(c.lower())]
    if again and not out_of_time:
        logger.info("restore goes again", target=item.target, ckns=again)
        return item.model_copy(update={"status": "restoring", "settled_since": None})
    lost = encryption_lost(target, item)
    coming = [k.ckn for k in target.live_keys if k.state == "associating" and ckn_among(k.ckn, item.ckns_before)]
    if not lost and not coming and not missing:
        settled_since, settled = settling(item, settings)
        if settled or out_of_time:
            restored = _restored(item, target, item.restored_ckns, item.unrestorable_ckns)
            return item.model_copy(update={"status": "restored", "failure": restored, "settled_since": settled_since})
        return item.model_copy(update={"status": "waitingForRestore", "settled_since": settled_since})
    if out_of_time:
        waited = round(clock.now() - (item.restoring_since or clock.now()))
        failure = _timed_out(item, lost, missing, waited)
        return item.model_copy(update={"status": "restoreTimedOut", "failure": failure, "settled_since": None})
    return item.model_copy(update={"status": "waitingForRestore", "settled_since": None})


def keys_listed(target: Target) -> str:
    """Every key the target lists, with its state (a CKN may be listed more than once: an old entry can linger
    `disassociated` beside a newer one still `disassociating`): what changes when a refusal may pass."""
    return ",".join(sorted(f"{k.ckn.lower()}:{k.state}" for k in target.keys))


def _reassociate_missing(
    item: TargetRotation, target: Target, secrets: SecretsGateway, dx: DirectConnectGateway
) -> tuple[list[str], list[str], list[str]]:
    """Associate again each planned key that is not live: (associated now, refused for now, no pair found)."""
    missing = [ckn for ckn in item.ckns_before if target.key(ckn) is None]
    pairs = find_pairs(item.secret_arn, missing, secrets) if missing else {}
    associated, refused = [], []
    for ckn in missing:
        pair = pairs.get(ckn.lower())
        if pair is None:
            continue
        try:
            dx.associate(item.target, pair)
            logger.warning("previous key re-associated", target=item.target, ckn=ckn)
            associated.append(ckn)
        except (AssociationRejected, DirectConnectBusy) as error:
            # Likely our own key, still listed on its way out: try again next round.
            logger.warning("previous key refused for now", target=item.target, ckn=ckn, reason=str(error))
            refused.append(ckn)
    return associated, refused, [ckn for ckn in missing if ckn.lower() not in pairs]


def _advice(item: TargetRotation) -> str:
    return (
        f"the peer router evidently lacks the new key {item.new_ckn}. Load the new CKN/CAK on the router, "
        f"then start the rotation again for {item.secret_arn}."
    )


def _restored(item: TargetRotation, target: Target, restored: list[str], unrestorable: list[str]) -> Failure:
    kept = [k.ckn for k in target.live_keys]
    not_found = f" No version of the secret holds {unrestorable}." if unrestorable else ""
    cause = (
        f"Encryption went down on {item.target} after the old keys were removed: {_advice(item)} "
        f"The keys on the link when the rotation planned ({', '.join(item.ckns_before)}) were restored "
        f"(re-associated: {restored or 'none needed'}); the target now holds {kept} and encryption is up again "
        f"on every port that had it.{not_found}"
    )
    logger.error("rotation reverted", target=item.target, restored=restored, kept=kept)
    return Failure(error=EncryptionDown.__name__, cause=cause)


def _unrestorable(item: TargetRotation, target: Target) -> Failure:
    logger.error("encryption down, nothing to restore", target=item.target, ports=list(target.ports_down))
    return Failure(
        error=EncryptionDown.__name__,
        cause=(
            f"Encryption is down on {', '.join(target.ports_down)} of {item.target} after the old keys "
            f"{item.ckns_before} were removed, and no version of secret {item.secret_arn} holds their pairs, so "
            f"nothing could be restored. Load CKN {item.new_ckn} on the peer router now."
        ),
    )


def _timed_out(item: TargetRotation, still_down: list[str], not_back: list[str], waited: int) -> Failure:
    logger.error("restore timed out", target=item.target, ports_down=still_down, not_back=not_back)
    return Failure(
        error=EncryptionDown.__name__,
        cause=(
            f"Encryption went down on {item.target} and is still down on {', '.join(still_down) or 'no port now'} "
            f"after {waited}s of restoring the keys {item.ckns_before} (not back: {not_back or 'none'}): "
            f"{_advice(item)} Act now."
        ),
    )
