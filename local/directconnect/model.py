"""State of the emulated Direct Connect MACsec surface: targets, keys, the peer router, time.

Nothing is forgotten: keys keep their history after Direct Connect stops listing them, and the router
records when it got each CKN, so the state at any past time can be evaluated (reported port status
lags the physical one by a configurable delay).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

ACTIVE_STATES = ("associating", "associated")
MODES = ("no_encrypt", "should_encrypt", "must_encrypt")
BEFORE_RUN = float("-inf")  # a router CKN given as a plain set was there before the run began


@dataclass
class Key:
    ckn: str
    secret_arn: str
    requested_at: float
    associated_at: float | None  # None: still `associating` (stuck, or waiting for the router)
    removal_requested_at: float | None = None
    gone_at: float | None = None  # disassociation complete; None while removal is stuck
    forgotten_at: float | None = None  # no longer listed; None: listed for ever (or not removed)
    awaits_router: bool = False  # associationWaitsForRouter: associated_at is set once the router has the CKN

    def state(self, at: float) -> str:
        if self.removal_requested_at is not None and self.removal_requested_at <= at:
            return "disassociated" if self.gone_at is not None and self.gone_at <= at else "disassociating"
        if self.associated_at is not None and self.associated_at <= at:
            return "associated"
        return "associating"

    def listed(self, at: float) -> bool:
        """Direct Connect lists this key at `at`."""
        return self.requested_at <= at and (self.forgotten_at is None or at < self.forgotten_at)

    def start_on(self) -> str:
        # startOn's exact format is unpublished; a UTC ISO-8601 string is the likeliest.
        return datetime.fromtimestamp(self.requested_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def to_dict(self, at: float) -> dict[str, str]:
        return {"secretARN": self.secret_arn, "ckn": self.ckn, "state": self.state(at), "startOn": self.start_on()}


@dataclass
class KeyHolder:
    """What connections and LAGs share: MACsec capability, keychain, mode and the peer router."""

    target_id: str
    name: str
    mac_sec_capable: bool
    encryption_mode: str
    keys: list[Key] = field(default_factory=list)  # every key ever associated, oldest first; see listed()
    # The customer router's keychain: lower-case CKN -> when the router got it. A plain set of CKNs is
    # accepted too (held since before the run).
    router_ckns: dict[str, float] = field(default_factory=dict)
    stuck_state: str | None = None  # injected: new keys never leave this state
    tags: dict[str, str] = field(default_factory=dict)  # Direct Connect resource tags (e.g. macsec:secret)

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute on a KeyHolder

        def __setattr__(self, name: str, value: Any) -> None:
            if name == "router_ckns":
                value = _router_keychain(value)
            super().__setattr__(name, value)

    def listed(self, at: float) -> list[Key]:
        """The keys Direct Connect lists at `at`, in the order they were associated."""
        return [k for k in self.keys if k.listed(at)]

    def router_add(self, ckn: str, at: float) -> None:
        self.router_ckns.setdefault(ckn.lower(), at)

    def router_has(self, ckn: str, at: float) -> bool:
        added = self.router_ckns.get(ckn.lower())
        return added is not None and added <= at

    def encrypts(self, at: float) -> bool:
        """Some associated key is also on the router: the MACsec session can come up."""
        return any(k.state(at) == "associated" and self.router_has(k.ckn, at) for k in self.listed(at))


def _router_keychain(value: dict[str, float] | Iterable[str]) -> dict[str, float]:
    if isinstance(value, dict):
        return {ckn.lower(): at for ckn, at in value.items()}
    return dict.fromkeys((ckn.lower() for ckn in value), BEFORE_RUN)


@dataclass
class Connection(KeyHolder):
    state: str = "available"
    lag_id: str | None = None
    location: str = "EqDC2"
    bandwidth: str = "10Gbps"


@dataclass
class Lag(KeyHolder):
    member_ids: list[str] = field(default_factory=list)
    state: str = "available"
    location: str = "EqDC2"
    bandwidth: str = "10Gbps"
