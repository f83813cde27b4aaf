"""Drift: does each managed target carry exactly its secret's AWSCURRENT key, with encryption up?

Run daily by a schedule (metrics and an alarm) and by the operator CLI's `status`. It reads only: the
CAK of the current version is parsed and dropped, never reported."""

from __future__ import annotations

from typing import Literal

from ..errors import RotationError
from ..gateways.directconnect import DirectConnectGateway
from ..gateways.secrets import CURRENT, Secret, SecretsGateway
from ..keys import parse_key_material, same_ckn
from ..models import StateModel
from ..settings import RuntimeSettings

Finding = Literal["CurrentKeyMissing", "StaleKeys", "EncryptionDown", "Unreadable"]


class TargetStatus(StateModel):
    target: str
    secret: str
    current_ckn: str | None
    keys: list[dict[str, str]]
    encryption_mode: str | None
    ports_down: list[str]
    findings: list[Finding]

    @property
    def in_sync(self) -> bool:
        return not self.findings


def check_drift(
    secrets: SecretsGateway,
    dx: DirectConnectGateway,
    prefix: str,
    settings: RuntimeSettings,
    only_target: str | None = None,
) -> list[TargetStatus]:
    statuses = []
    for secret in secrets.under_prefix(prefix):
        for target_id in _targets(secret, settings):
            if only_target is None or target_id == only_target:
                statuses.append(_status(secret, target_id, secrets, dx))
    return statuses


def _targets(secret: Secret, settings: RuntimeSettings) -> list[str]:
    return [t.strip() for t in secret.tags.get(settings.target_tag, "").split(",") if t.strip()]


def _status(secret: Secret, target_id: str, secrets: SecretsGateway, dx: DirectConnectGateway) -> TargetStatus:
    try:
        version = secret.version_in_stage(CURRENT) or ""
        current = parse_key_material(secrets.secret_string(secret.arn, version), secret.name, version).ckn
        target = dx.describe(target_id)
    except RotationError:
        return TargetStatus(
            target=target_id,
            secret=secret.name,
            current_ckn=None,
            keys=[],
            encryption_mode=None,
            ports_down=[],
            findings=["Unreadable"],
        )
    findings: list[Finding] = []
    associated = [k for k in target.keys if k.state == "associated"]
    if not any(same_ckn(k.ckn, current) for k in associated):
        findings.append("CurrentKeyMissing")
    if any(not same_ckn(k.ckn, current) for k in target.keychain):  # a listed `disassociated` key is gone
        findings.append("StaleKeys")
    if target.ports_down:
        findings.append("EncryptionDown")
    return TargetStatus(
        target=target_id,
        secret=secret.name,
        current_ckn=current,
        keys=[{"ckn": k.ckn, "state": k.state} for k in target.keys],
        encryption_mode=target.encryption_mode,
        ports_down=list(target.ports_down),
        findings=findings,
    )
