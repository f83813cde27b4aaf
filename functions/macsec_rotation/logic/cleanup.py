"""Remove the superseded keys, then make sure encryption survived; restore the previous key if not."""

from __future__ import annotations

from ..errors import DisassociationTimeout, EncryptionDown, NewKeyNotAssociated, TargetNotAvailable
from ..gateways.directconnect import DirectConnectGateway, Target
from ..gateways.secrets import PREVIOUS, SecretsGateway
from ..keys import parse_key_material, same_ckn
from ..models import Failure, TargetRotation
from ..observability import logger


def remove_old_keys(item: TargetRotation, dx: DirectConnectGateway, poll_attempts: int) -> TargetRotation:
    target = dx.describe(item.target)
    new_key = target.key(item.new_ckn)
    if new_key is None or new_key.state != "associated":
        raise NewKeyNotAssociated(
            f"key {item.new_ckn} on {item.target} is {new_key.state if new_key else 'gone'}, not associated, "
            "so the old keys were kept. Check the target and start the rotation again."
        )
    lost = _encryption_lost(target, item)
    if lost and not item.removed_ckns:
        # Something else took encryption down (a port went down): removing keys now could not be
        # judged by its effect, so keep them.
        raise TargetNotAvailable(
            f"ports {', '.join(lost)} of {item.target} lost encryption before the old keys were removed; the new key "
            f"{item.new_ckn} is associated and the old keys were kept. Start the rotation again once they are up."
        )
    removed = set(item.removed_ckns)
    for key in target.keys:
        if same_ckn(key.ckn, item.new_ckn):
            continue
        if key.state in ("associating", "associated"):
            dx.disassociate(item.target, key.secret_arn)
            logger.info("old key disassociated", target=item.target, ckn=key.ckn)
        removed.add(key.ckn)
    poll = item.poll.model_copy(update={"attempt": 0, "max_attempts": poll_attempts})
    return item.model_copy(update={"removed_ckns": sorted(removed), "poll": poll, "status": "removing"})


def check_removal(item: TargetRotation, dx: DirectConnectGateway) -> TargetRotation:
    target = dx.describe(item.target)
    attempt = item.poll.attempt + 1
    lingering = [k.ckn for k in target.keys if not same_ckn(k.ckn, item.new_ckn) and k.state == "disassociating"]
    failure = None
    lost = _encryption_lost(target, item)
    if lost:
        # Checked first: a port that lost encryption must be repaired now, not after the last key is gone.
        status = "encryptionDown"
    elif lingering and attempt >= item.poll.max_attempts:
        status = "timedOut"
        failure = Failure(
            error=DisassociationTimeout.__name__,
            cause=(
                f"Old keys {lingering} on {item.target} were still disassociating after "
                f"{attempt * item.poll.interval_seconds}s. The new key {item.new_ckn} is associated and "
                "encryption is up; re-run later to confirm they are gone."
            ),
        )
    elif lingering:
        status = "removing"
    else:
        status = "removed"
    logger.info(
        "removal polled", target=item.target, attempt=attempt, lingering=lingering, encryption_lost=lost, status=status
    )
    return item.model_copy(
        update={"status": status, "failure": failure, "poll": item.poll.model_copy(update={"attempt": attempt})}
    )


def restore_previous_key(item: TargetRotation, secrets: SecretsGateway, dx: DirectConnectGateway) -> TargetRotation:
    target = dx.describe(item.target)
    secret = secrets.describe(item.secret_arn)
    previous_version = secret.version_in_stage(PREVIOUS)
    poll = item.poll.model_copy(update={"attempt": 0})
    if previous_version is None:
        cause = (
            f"Encryption is down on {', '.join(target.ports_down)} after the old keys were removed and secret "
            f"{secret.name} has no AWSPREVIOUS version to restore. Load CKN {item.new_ckn} on the peer "
            "router now."
        )
        logger.error("encryption down, nothing to restore", target=item.target, ports=list(target.ports_down))
        return item.model_copy(
            update={
                "status": "unrestorable",
                "poll": poll,
                "failure": Failure(error=EncryptionDown.__name__, cause=cause),
            }
        )
    key = parse_key_material(secrets.secret_string(secret.arn, previous_version), secret.name, previous_version)
    if target.key(key.ckn) is None:
        dx.associate(item.target, key)
    logger.warning("previous key restored", target=item.target, ckn=key.ckn, ports_down=list(target.ports_down))
    return item.model_copy(update={"restored_ckn": key.ckn, "status": "restoring", "poll": poll})


def check_restore(item: TargetRotation, dx: DirectConnectGateway) -> TargetRotation:
    target = dx.describe(item.target)
    attempt = item.poll.attempt + 1
    restored = target.key(item.restored_ckn or "")
    still_down = _encryption_lost(target, item)
    up = restored is not None and restored.state == "associated" and not still_down
    advice = (
        f"the peer router evidently lacks the new key {item.new_ckn}. Load the new CKN/CAK on the router, "
        f"then start the rotation again for {item.secret_arn}."
    )
    if up:
        status = "restored"
        cause = (
            f"Encryption went down on {item.target} after the old keys were removed: {advice} "
            f"The previous key {item.restored_ckn} was re-associated and encryption is up again."
        )
    elif attempt >= item.poll.max_attempts:
        status = "restoreTimedOut"
        cause = (
            f"Encryption went down on {item.target} and is still down on {', '.join(still_down)} "
            f"after re-associating the previous key {item.restored_ckn}: {advice} Act now."
        )
    else:
        logger.info("restore polled", target=item.target, attempt=attempt, ports_down=still_down)
        return item.model_copy(
            update={"status": "restoring", "poll": item.poll.model_copy(update={"attempt": attempt})}
        )
    logger.error("rotation reverted", target=item.target, status=status, restored=item.restored_ckn)
    return item.model_copy(
        update={
            "status": status,
            "failure": Failure(error=EncryptionDown.__name__, cause=cause),
            "poll": item.poll.model_copy(update={"attempt": attempt}),
        }
    )


def _encryption_lost(target: Target, item: TargetRotation) -> list[str]:
    """Ports that were encrypted when the rotation was planned and are not now."""
    return [port for port in target.ports_down if port in item.ports_encrypted_before]
