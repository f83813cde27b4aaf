"""CKN/CAK key material: parsing a secret value, validating it, generating a fresh pair.

Error messages name the secret, the version and the field, never the value: a CAK must not
reach an exception, and a half-typed CKN in a message would only invite copy-paste mistakes.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field

from .errors import InvalidKeyMaterial

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_KEY_LIKE = re.compile(r"[0-9a-fA-F]{32,}")  # a CAK is 32 or 64 hex digits; ids and ARNs have no such run
# In a text that is not ours, any run this long may be part of a CAK (or a CKN, a secret name): none is kept.
_HEX_RUN = re.compile(r"[0-9a-fA-F]{16,}")


@dataclass(frozen=True)
class KeyMaterial:
    """A CKN/CAK pair. The CAK is kept out of repr() so it cannot reach a log by accident."""

    ckn: str
    cak: str = field(repr=False)


def is_hex64(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def shown(identifier: object) -> str:
    """An identifier from the input (secret id, version id) as it may appear in a message: not at all
    when it looks like key material, for someone may have pasted a CAK where an id belongs."""
    text = str(identifier)
    return "(an id that looks like key material, not shown)" if _KEY_LIKE.search(text) else text


def redacted(text: str) -> str:
    """A service's or a library's text as it may reach a cause, a log, a notification or a trace: every run
    of 16 or more hex digits replaced by a note of what was removed. Such texts may echo request parameters
    (a CAK), and unlike our own messages they cannot be trusted to name only CKNs and ARNs."""
    return _HEX_RUN.sub(lambda run: f"<redacted: {len(run.group())} hex digits>", text)


def same_ckn(left: str, right: str) -> bool:
    """Direct Connect accepts either case of hex, so CKNs compare case-insensitively."""
    return left.lower() == right.lower()


def ckn_among(ckn: str, ckns: list[str]) -> bool:
    return any(same_ckn(ckn, other) for other in ckns)


def parse_key_material(secret_string: str | None, secret_id: str, version_id: str) -> KeyMaterial:
    where = f"secret {shown(secret_id)} version {shown(version_id)}"
    if secret_string is None:
        raise InvalidKeyMaterial(f'{where} has no SecretString; store {{"ckn": ..., "cak": ...}} as JSON text.')
    try:
        value = json.loads(secret_string)
    except ValueError:
        raise InvalidKeyMaterial(
            f'{where} is not JSON; store {{"ckn": "<64 hex digits>", "cak": "<64 hex digits>"}}.'
        ) from None
    if not isinstance(value, dict):
        raise InvalidKeyMaterial(f'{where} is JSON but not an object; store {{"ckn": ..., "cak": ...}}.')
    missing = [name for name in ("ckn", "cak") if name not in value]
    if missing:
        raise InvalidKeyMaterial(f"{where} lacks {' and '.join(missing)}; store both ckn and cak.")
    bad = [name for name in ("ckn", "cak") if not is_hex64(value[name])]
    if bad:
        raise InvalidKeyMaterial(
            f"{where}: {' and '.join(bad)} must be exactly 64 hexadecimal digits (256-bit keys only)."
        )
    return KeyMaterial(ckn=value["ckn"], cak=value["cak"])


def generate_key_material() -> KeyMaterial:
    """A fresh 256-bit pair from the OS CSPRNG; 64-digit CKNs as DOMAIN.md recommends."""
    return KeyMaterial(ckn=secrets.token_hex(32), cak=secrets.token_hex(32))
