"""Prepare: resolve secret, version and targets, then decide per target before touching anything."""

from __future__ import annotations

import re

from ..errors import (
    InvalidInput,
    InvalidKeyMaterial,
    KeychainFull,
    SecretNotFound,
    TargetNotAuthorized,
    TargetNotAvailable,
    TargetNotMacsecCapable,
    VersionNotCurrent,
)
from ..gateways.directconnect import DirectConnectGateway, Target
from ..gateways.secrets import CURRENT, Secret, SecretsGateway
from ..keys import parse_key_material, same_ckn, shown
from ..models import (
    MODE_STRICTNESS,
    Action,
    ConsoleInput,
    EncryptionMode,
    KeptKey,
    RotationPlan,
    RouterConfirmation,
    TargetRotation,
)
from ..observability import logger
from ..settings import RuntimeSettings
from .pairs import find_pairs

KEYCHAIN_SIZE = 3
_TARGET_ID = re.compile(r"dx(con|lag)-[0-9a-zA-Z]{1,40}")


def plan_rotation(
    request: ConsoleInput, secrets: SecretsGateway, dx: DirectConnectGateway, settings: RuntimeSettings
) -> RotationPlan:
    """Resolve the request and refuse what cannot be done, reading no key material: the key is read, and
    every decision taken, by PlanTarget under the target's lock."""
    secret = secrets.describe(request.secret_id)
    version_id = _current_version(secret, request.version_id)
    target_ids = _target_ids(request, secret, settings)
    wanted_mode = _wanted_mode(request, secret, settings)
    router = router_confirmation(secret, settings)
    items = []
    for target_id in target_ids:
        target = dx.describe(target_id)
        _check_target(target, secret, settings)
        items.append(
            TargetRotation(
                secret_arn=secret.arn,
                version_id=version_id,
                version_pinned=request.version_id is not None,
                target=target.target_id,
                target_type=target.target_type,
                wanted_mode=wanted_mode,
                poll=settings.poll_for(settings.association_timeout_seconds),
                router_confirmation=router,
            )
        )
    return RotationPlan(secret_arn=secret.arn, version_id=version_id, targets=items, dry_run=request.dry_run)


def replan_under_lock(
    item: TargetRotation,
    secrets: SecretsGateway,
    dx: DirectConnectGateway,
    settings: RuntimeSettings,
    target: Target | None = None,
) -> TargetRotation:
    """Decide once this execution holds the target's lock: another rotation may have changed the keys or
    the secret while it waited. A request for a version that is no longer current (an event's) ends as
    Superseded; one that named no version (a console start) takes the current one."""
    secret = secrets.describe(item.secret_arn)
    version_id = item.version_id
    current = secret.version_in_stage(CURRENT)
    if current != version_id:
        if item.version_pinned or current is None:
            logger.info("superseded", target=item.target, version_id=version_id, current_version_id=current)
            ckn = _ckn_of(secret, version_id, secrets)
            return item.model_copy(update={"action": "Superseded", "status": "superseded", "new_ckn": ckn})
        version_id = current
    new_ckn = parse_key_material(secrets.secret_string(secret.arn, version_id), secret.name, version_id).ckn
    target = target or dx.describe(item.target)  # read under the lock, by the caller or here
    _check_target(target, secret, settings)
    planned = _plan_target(secret, version_id, new_ckn, target, item.wanted_mode, settings, item.version_pinned)
    return planned.model_copy(
        update={
            "kept_ckns": _unrestorable_keys(planned, target, secrets),
            "router_confirmation": item.router_confirmation,
        }
    )


def _plan_target(
    secret: Secret,
    version_id: str,
    new_ckn: str,
    target: Target,
    wanted_mode: EncryptionMode | None,
    settings: RuntimeSettings,
    pinned: bool,
) -> TargetRotation:
    action = _decide(target, new_ckn)
    logger.info(
        "target planned",
        target=target.target_id,
        action=action,
        new_ckn=new_ckn,
        keys=[{"ckn": k.ckn, "state": k.state} for k in target.keys],
    )
    return TargetRotation(
        secret_arn=secret.arn,
        version_id=version_id,
        version_pinned=pinned,
        target=target.target_id,
        target_type=target.target_type,
        new_ckn=new_ckn,
        action=action,
        wanted_mode=wanted_mode,
        mode_before=target.encryption_mode,
        ports_encrypted_before=[p.connection_id for p in target.ports if p.encrypted],
        ckns_before=[k.ckn for k in target.keys if k.state == "associated" and not same_ckn(k.ckn, new_ckn)],
        poll=settings.poll_for(settings.association_timeout_seconds),
    )


def _ckn_of(secret: Secret, version_id: str, secrets: SecretsGateway) -> str:
    """The CKN a superseded version held, for the result; none when it holds no valid pair (it is not put on
    any link, so it is not refused either)."""
    try:
        return parse_key_material(secrets.secret_string(secret.arn, version_id), secret.name, version_id).ckn
    except (InvalidKeyMaterial, SecretNotFound):
        return ""


def _unrestorable_keys(item: TargetRotation, target: Target, secrets: SecretsGateway) -> list[KeptKey]:
    """Old keys whose pair no version of the secret holds: removing one could not be undone if the new key
    fails, so it stays on the target."""
    old = [k.ckn for k in target.live_keys if not same_ckn(k.ckn, item.new_ckn)]
    if item.action not in ("Associate", "AwaitAssociation", "CleanUp") or not old:
        return []
    pairs = find_pairs(item.secret_arn, old, secrets)
    reason = (
        "no version of the secret holds this key's pair, so it could not be put back if the new key failed; "
        "remove it by hand once the new key carries the link"
    )
    return [KeptKey(ckn=ckn, reason=reason) for ckn in old if ckn.lower() not in pairs]


def _current_version(secret: Secret, requested: str | None) -> str:
    current = secret.version_in_stage(CURRENT)
    if requested is None:
        if current is None:
            raise InvalidKeyMaterial(f"secret {secret.name} has no AWSCURRENT version; put the CKN/CAK first.")
        return current
    stages = secret.versions.get(requested)
    if stages is None:
        raise VersionNotCurrent(
            f"version {shown(requested)} does not exist on secret {secret.name} (current is {current})."
        )
    if CURRENT not in stages:
        raise VersionNotCurrent(
            f"version {shown(requested)} of secret {secret.name} is {stages or 'unstaged'}, not AWSCURRENT "
            f"(current is {current}); only the current version is put on a link. Start again without versionId."
        )
    return requested


def _target_ids(request: ConsoleInput, secret: Secret, settings: RuntimeSettings) -> list[str]:
    raw = request.target or secret.tags.get(settings.target_tag)
    if not raw:
        raise InvalidInput(
            f'no target: pass "target" in the input or tag secret {secret.name} with '
            f"{settings.target_tag}=dxcon-...|dxlag-... (comma-separated for several)."
        )
    ids = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    bad = [i for i in ids if not _TARGET_ID.fullmatch(i)]
    if bad or not ids:
        raise InvalidInput(f"target {bad or raw!r} is not a connection (dxcon-...) or LAG (dxlag-...) id.")
    if len(ids) > settings.max_targets_per_secret:
        raise InvalidInput(
            f"{len(ids)} targets for one secret; at most {settings.max_targets_per_secret} (maxTargetsPerSecret) keep "
            "one execution under Step Functions' history limit. Split them over several secrets, or pass target."
        )
    return ids


def _wanted_mode(request: ConsoleInput, secret: Secret, settings: RuntimeSettings) -> EncryptionMode | None:
    if request.encryption_mode:
        return request.encryption_mode
    tagged = secret.tags.get(settings.mode_tag)
    if tagged is None:
        return None
    if tagged not in MODE_STRICTNESS:
        raise InvalidInput(
            f"tag {settings.mode_tag}={tagged!r} on {secret.name} is not one of {', '.join(MODE_STRICTNESS)}."
        )
    return tagged  # type: ignore[return-value]


def router_confirmation(secret: Secret, settings: RuntimeSettings) -> RouterConfirmation:
    """The secret's tag, else the stack's setting (routerConfirmation)."""
    tagged = secret.tags.get(settings.router_tag)
    if tagged is None:
        return settings.router_confirmation
    if tagged not in ("none", "callback"):
        raise InvalidInput(
            f"tag {settings.router_tag}={tagged!r} on {secret.name} is not 'none' or 'callback'; fix the tag (or "
            "remove it to take the stack's routerConfirmation setting), then start again. Nothing was changed."
        )
    return tagged  # type: ignore[return-value]


def _check_target(target: Target, secret: Secret, settings: RuntimeSettings) -> None:
    if target.lag_id:
        raise InvalidInput(
            f"{target.target_id} is a member of LAG {target.lag_id}; a LAG's keys apply to all its "
            f"members, so rotate {target.lag_id} instead."
        )
    bound = target.tag(settings.binding_tag)
    if bound not in (secret.name, secret.arn):
        raise TargetNotAuthorized(
            f"{target.target_id} is not bound to secret {secret.name}: its Direct Connect tag "
            f"{settings.binding_tag} is {shown(bound) if bound else 'not set'}. Only the target's owner may bind "
            f"it: tag the {target.target_type} with {settings.binding_tag}={secret.name} (aws directconnect "
            "tag-resource), then start again. Nothing was changed."
        )
    if not target.mac_sec_capable:
        raise TargetNotMacsecCapable(
            f"{target.target_id} was not created with MACsec support; MACsec capability is fixed at creation."
        )
    if target.state != "available":
        raise TargetNotAvailable(
            f"{target.target_id} is {target.state!r}, not 'available'; re-run once it is available."
        )


def _decide(target: Target, new_ckn: str) -> Action:
    existing = target.key(new_ckn)
    others = [k for k in target.live_keys if existing is None or k is not existing]
    if existing is not None:
        if existing.state == "associating":
            return "AwaitAssociation"
        return "CleanUp" if others else "AlreadyCurrent"
    if len(target.keychain) >= KEYCHAIN_SIZE:
        listed = ", ".join(f"{k.ckn} ({k.state}, {k.secret_arn})" for k in target.keychain)
        raise KeychainFull(
            f"{target.target_id} already holds {len(target.keychain)} keys and none is the new one: {listed}. "
            "Disassociate a key the peer router no longer uses, then re-run."
        )
    return "Associate"
