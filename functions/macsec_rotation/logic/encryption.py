"""Tighten encryptionMode: only stricter, and only while every port is encrypted."""

from __future__ import annotations

from ..gateways.directconnect import DirectConnectGateway, Target
from ..models import MODE_STRICTNESS, EncryptionMode, TargetRotation
from ..observability import logger


def decide_tightening(
    current: str | None,
    wanted: EncryptionMode | None,
    mode_before: EncryptionMode | None,
    ports_down: list[str],
) -> tuple[str, str | None, bool]:
    """The mode the target ends with, why tightening was skipped (None when it was not), and whether
    UpdateConnection/UpdateLag must be called for it: decided from what DescribeConnections/DescribeLags shows,
    so that a plan (`macsec-rotation plan`, a dry run) decides exactly as TightenEncryption does."""
    now = current or "no_encrypt"
    if wanted is None:
        return now, "no encryptionMode requested", False
    if now == wanted:
        # Already there: either it was so from the start, or an earlier try of this step set it.
        return now, (None if mode_before != now else f"already {now}"), False
    if MODE_STRICTNESS[wanted] < MODE_STRICTNESS[now]:
        return now, f"{wanted} is looser than {now}; the mode is never loosened", False
    if ports_down:
        return (
            now,
            f"ports {', '.join(ports_down)} report Encryption Down; {wanted} now would take the link down",
            False,
        )
    return wanted, None, True


def tighten_encryption(item: TargetRotation, dx: DirectConnectGateway, target: Target | None = None) -> TargetRotation:
    target = target or dx.describe(item.target)
    after, skipped, change = decide_tightening(
        target.encryption_mode, item.wanted_mode, item.mode_before, list(target.ports_down)
    )
    if change:
        dx.set_encryption_mode(target, after)
    logger.info(
        "encryption mode decided",
        target=item.target,
        before=item.mode_before,
        after=after,
        wanted=item.wanted_mode,
        skipped=skipped,
    )
    return item.model_copy(update={"mode_after": after, "tightening_skipped": skipped})
