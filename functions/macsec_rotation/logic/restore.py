"""The safety net: encryption went down when the old keys went, so put back what was on the link.

What is restored is fixed when the rotation plans: the keys associated then (`ckns_before`), their
pairs found by CKN among the secret's versions. Never "whatever is AWSPREVIOUS now": a second write
moves that label. The step runs in a loop until every port that had encryption has it again across the
settle period: each round re-associates what is not live yet, since Direct Connect may refuse a CKN that
is still listed on its way out (unpublished) and accept it later. A retry of a round does nothing twice.
"""

from __future__ import annotations

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
    first_round = item.status != "restoring"
    poll = settings.restore_poll() if first_round else item.poll
    attempt = poll.attempt + 1
    target = dx.describe(item.target)
    associated_now, refused, unrestorable = _reassociate_missing(item, target, secrets, dx)
    restored = sorted({*item.restored_ckns, *associated_now})
    lost = encryption_lost(target, item)
    coming = [k.ckn for k in target.live_keys if k.state == "associating" and ckn_among(k.ckn, item.ckns_before)]
    settled_since, settled = None, False
    # This round's reading predates what it just re-associated: only a later round can see it settle.
    if not lost and not coming and not refused and not associated_now:
        settled_since, settled = settling(item, settings)
    status, failure = "restoring", None
    if settled_since is not None and (settled or attempt >= poll.max_attempts):
        status, failure = "restored", _restored(item, target, restored, unrestorable)
    elif len(unrestorable) == len(item.ckns_before) and not restored:
        status, failure = "unrestorable", _unrestorable(item, target)
    elif attempt >= poll.max_attempts:
        waited = (attempt - 1) * poll.interval_seconds
        status, failure = "restoreTimedOut", _timed_out(item, lost, refused + unrestorable, waited)
    logger.info(
        "restore polled",
        target=item.target,
        attempt=attempt,
        ports_down=lost,
        refused=refused,
        unrestorable=unrestorable,
        status=status,
    )
    return item.model_copy(
        update={
            "status": status,
            "failure": failure,
            "restored_ckns": restored,
            "settled_since": settled_since,
            "poll": poll.model_copy(update={"attempt": attempt}),
        }
    )


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
