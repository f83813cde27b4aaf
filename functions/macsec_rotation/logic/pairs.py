"""Key pairs by CKN among every version of a customer secret: what can be put back on a link."""

from __future__ import annotations

from ..errors import InvalidKeyMaterial, SecretNotFound
from ..gateways.secrets import SecretsGateway
from ..keys import KeyMaterial, parse_key_material


def find_pairs(secret_arn: str, ckns: list[str], secrets: SecretsGateway) -> dict[str, KeyMaterial]:
    """The pairs for these CKNs (lower-case keys) among every version of the secret, newest first."""
    wanted = {c.lower() for c in ckns}
    found: dict[str, KeyMaterial] = {}
    try:
        version_ids = secrets.version_ids(secret_arn)
    except SecretNotFound:
        return found  # the secret was deleted: nothing left to restore from
    for version_id in version_ids:
        try:
            pair = parse_key_material(secrets.secret_string(secret_arn, version_id), secret_arn, version_id)
        except InvalidKeyMaterial:
            continue  # a malformed version holds no pair to restore
        if pair.ckn.lower() in wanted and pair.ckn.lower() not in found:
            found[pair.ckn.lower()] = pair
        if len(found) == len(wanted):
            break
    return found
