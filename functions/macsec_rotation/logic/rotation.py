"""The Secrets Manager rotation protocol for a CKN/CAK secret: createSecret, setSecret, testSecret,
finishSecret. Every step can run again for the same token without changing the outcome.

The new pair goes on the link afterwards: finishSecret makes it AWSCURRENT, Secrets Manager emits
RotationSucceeded, and the workflow associates it. The peer router must get the new pair too (your
router automation reads AWSCURRENT); without it the workflow restores the previous key and reports
EncryptionDown.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidInput, InvalidKeyMaterial
from ..gateways.secrets import CURRENT, PENDING, Secret, SecretsGateway
from ..keys import generate_key_material, parse_key_material, same_ckn, shown
from ..observability import logger

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


def rotation_request(event: object) -> tuple[str, str, str]:
    """Step, SecretId and ClientRequestToken of a request from Secrets Manager, each a non-empty string."""
    fields = ("Step", "SecretId", "ClientRequestToken")
    if not isinstance(event, dict) or not all(isinstance(event.get(f), str) and event[f] for f in fields):
        raise InvalidInput(
            "a rotation request is a JSON object with Step, SecretId and ClientRequestToken (strings), as "
            "Secrets Manager sends it; invoke this function through RotateSecret, not by hand."
        )
    return event["Step"], event["SecretId"], event["ClientRequestToken"]


def rotate(step: str, secret_id: str, token: str, secrets: SecretsGateway) -> None:
    if step not in STEPS:
        raise InvalidInput(f"unknown rotation step {step!r}; Secrets Manager sends one of {', '.join(STEPS)}.")
    secret = secrets.describe(secret_id)
    if not secret.rotation_enabled:
        raise InvalidInput(f"secret {secret.name} does not have rotation enabled.")
    stages = secret.versions.get(token)
    if stages is None:
        raise InvalidInput(f"version {shown(token)} of secret {secret.name} has no stage for rotation.")
    if CURRENT in stages:
        logger.info("version already current", secret=secret.name, version_id=token, step=step)
        return
    if PENDING not in stages:
        raise InvalidInput(f"version {shown(token)} of secret {secret.name} is not AWSPENDING; rotation cannot go on.")
    {"createSecret": _create, "setSecret": _validate, "testSecret": _test, "finishSecret": _finish}[step](
        secret, token, secrets
    )


def _create(secret: Secret, token: str, secrets: SecretsGateway) -> None:
    if secrets.staged_string(secret.arn, PENDING, token) is not None:
        logger.info("pending version exists", secret=secret.name, version_id=token)
        return
    current = _as_object(secrets.staged_string(secret.arn, CURRENT))
    key = generate_key_material()
    # Keep the secret's other fields (notes, router names, ...): only the pair is replaced.
    secrets.put_pending(secret.arn, token, json.dumps({**current, "ckn": key.ckn, "cak": key.cak}))
    logger.info("new key generated", secret=secret.name, version_id=token, ckn=key.ckn)


def _validate(secret: Secret, token: str, secrets: SecretsGateway) -> None:
    parse_key_material(secrets.staged_string(secret.arn, PENDING, token), secret.name, token)


def _test(secret: Secret, token: str, secrets: SecretsGateway) -> None:
    pending = parse_key_material(secrets.staged_string(secret.arn, PENDING, token), secret.name, token)
    current = _as_object(secrets.staged_string(secret.arn, CURRENT))
    if isinstance(current.get("ckn"), str) and same_ckn(current["ckn"], pending.ckn):
        raise InvalidKeyMaterial(f"pending version {token} of {secret.name} reuses the current CKN; keys must change.")


def _finish(secret: Secret, token: str, secrets: SecretsGateway) -> None:
    secrets.make_current(secret.arn, token, secret.version_in_stage(CURRENT))
    logger.info("rotation finished", secret=secret.name, version_id=token)


def _as_object(secret_string: str | None) -> dict[str, Any]:
    try:
        value = json.loads(secret_string or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
