"""State of the emulated Direct Connect MACsec surface: targets, keys, the peer router, time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

ACTIVE_STATES = ("associating", "associated")
MODES = ("no_encrypt", "should_encrypt", "must_encrypt")


@dataclass
class Key:
    ckn: str
    secret_arn: str
    requested_at: float
    associated_at: float | None  # None: stuck in `associating` (an injected fault)
    removal_requested_at: float | None = None
    gone_at: float | None = None

    def state(self, at: float) -> str:
        if self.removal_requested_at is not None and self.removal_requested_at <= at:
            return "disassociating"
        if self.associated_at is not None and self.associated_at <= at:
            return "associated"
        return "associating"

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
    keys: list[Key] = field(default_factory=list)
    router_ckns: set[str] = field(default_factory=set)  # lower-case CKNs on the customer router
    stuck_state: str | None = None  # injected: new keys never leave this state

    def key(self, ckn: str) -> Key | None:
        return next((k for k in self.keys if k.ckn.lower() == ckn.lower()), None)

    def encrypts(self, at: float) -> bool:
        """Some associated key is also on the router: the MACsec session can come up."""
        return any(k.state(at) == "associated" and k.ckn.lower() in self.router_ckns for k in self.keys)


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
