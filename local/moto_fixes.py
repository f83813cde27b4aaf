"""Where moto 5.2.5's Secrets Manager answers differently from AWS in a way the workflow meets.

- ListSecretVersionIds on a secret that does not exist raises a bare KeyError inside moto (the caller
  gets no AWS error at all); AWS answers ResourceNotFoundException, like every other operation on a
  missing secret (Secrets Manager API Reference, ListSecretVersionIds, Errors).
- Its versions all carry the time of the call as CreatedDate; AWS gives each version its creation time.
  The workflow does not depend on the order (it finds pairs by CKN), so that one is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.secretsmanager.exceptions import SecretNotFoundException
from moto.secretsmanager.models import SecretsManagerBackend

_original_list_versions = SecretsManagerBackend.list_secret_version_ids


def _list_secret_version_ids(self: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> Any:
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    return _original_list_versions(self, secret_id, *args, **kwargs)


@contextmanager
def applied() -> Iterator[None]:
    with mock.patch.object(SecretsManagerBackend, "list_secret_version_ids", _list_secret_version_ids):
        yield
