"""Direct Connect MACsec emulator on moto's service framework; `installed()` routes boto3 calls to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import moto.directconnect

from .backend import Behaviour, DirectConnectEmulator, Faults, OperationFault, emulator_backends
from .model import Connection, Key, KeyHolder, Lag

__all__ = [
    "Behaviour",
    "Connection",
    "DirectConnectEmulator",
    "Faults",
    "Key",
    "KeyHolder",
    "Lag",
    "OperationFault",
    "emulator_backend",
    "installed",
]


@contextmanager
def installed() -> Iterator[None]:
    """Inside a moto mock, send Direct Connect requests to the emulator instead of moto's loose model."""
    with mock.patch.object(moto.directconnect, "directconnect_backends", emulator_backends):
        try:
            yield
        finally:
            emulator_backends.reset()


def emulator_backend(account_id: str, region: str) -> DirectConnectEmulator:
    return emulator_backends[account_id][region]
