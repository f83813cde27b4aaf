"""Tighten encryptionMode: only stricter, and only while every port is encrypted."""

from __future__ import annotations

from ..gateways.directconnect import DirectConnectGateway
from ..models import MODE_STRICTNESS, TargetRotation
from ..observability import logger


def tighten_encryption(item: TargetRotation, dx: DirectConnectGateway) -> TargetRotation:
    target = dx.describe(item.target)
    current = target.encryption_mode or "no_encrypt"
    wanted = item.wanted_mode
    skipped: str | None = None
    if wanted is None:
        skipped = "no encryptionMode requested"
    elif current == wanted:
        # Already there: either it was so from the start, or an earlier try of this step set it.
        skipped = None if item.mode_before != current else f"already {current}"
    elif MODE_STRICTNESS[wanted] < MODE_STRICTNESS[current]:
        skipped = f"{wanted} is looser than {current}; the mode is never loosened"
    elif target.ports_down:
        skipped = f"ports {', '.join(target.ports_down)} report Encryption Down; {wanted} now would take the link down"
    else:
        dx.set_encryption_mode(target, wanted)
        current = wanted
    logger.info(
        "encryption mode decided",
        target=item.target,
        before=item.mode_before,
        after=current,
        wanted=wanted,
        skipped=skipped,
    )
    return item.model_copy(update={"mode_after": current, "tightening_skipped": skipped})
