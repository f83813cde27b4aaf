"""The Direct Connect MACsec emulator, built on moto's service framework.

Faithful to DOMAIN.md where moto's own model is loose: dxcon-/dxlag- ids, CKN/CAK validation,
DirectConnectClientException, the three-key keychain, key states on a (virtual) clock, managed
secrets, LAGs and UpdateLag, encryptionMode rules, portEncryptionStatus computed from a model of the
peer router, a request-rate limit and injectable faults. What AWS leaves unpublished is a `Behaviour`
knob (docs/scenarios.md, "What AWS leaves open").
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.secretsmanager.models import secretsmanager_backends

from .errors import DirectConnectClientException, fault
from .model import ACTIVE_STATES, BEFORE_RUN, MODES, Connection, Key, KeyHolder, Lag

KEYCHAIN_SIZE = 3
OWNING_SERVICE_TAG = "aws:secretsmanager:owningService"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass
class Behaviour:
    """How the emulated service behaves where AWS publishes nothing; field names are the scenario's
    `behaviour` fields in snake_case. The defaults are the emulator's historical behaviour."""

    association_seconds: float = 30.0
    disassociation_seconds: float = 5.0
    api_rate_per_second: float | None = None
    disassociated_keys_linger_seconds: float | None = 0.0  # None: listed as `disassociated` for ever
    lag_members_omit_port_status: bool = False
    port_status_delay_seconds: float = 0.0
    association_waits_for_router: bool = False
    managed_secret_per_ckn: bool = False
    reassociate_lingering_ckn: Literal["allowed", "afterGone"] = "allowed"
    lingering_keys_count_toward_limit: bool = False


@dataclass
class OperationFault:
    operation: str
    error: str
    times: int
    message: str | None = None  # None: a default text


@dataclass
class Faults:
    operations: list[OperationFault] = field(default_factory=list)

    def take(self, operation: str) -> OperationFault | None:
        """The next injected fault for `operation`, if any (one of its `times` is used up)."""
        for item in self.operations:
            if item.operation == operation and item.times > 0:
                item.times -= 1
                return item
        return None


class DirectConnectEmulator(BaseBackend):
    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.connections: dict[str, Connection] = {}
        self.lags: dict[str, Lag] = {}
        self.behaviour = Behaviour()
        self.faults = Faults()
        self.clock: Callable[[], float] = time.time
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.encryption_down_seconds: dict[str, float] = {}
        self.keyless_seconds: dict[str, float] = {}  # no associated key, after having had one
        self.api_log: list[tuple[float, str, str, str]] = []  # (time, operation, target, outcome)
        self._recent_calls: deque[float] = deque()
        self._settled_at: float | None = None
        self.started_at: float | None = None  # when the first target was added: nothing is known before
        self._released_secrets: set[str] = set()
        self._lock = threading.RLock()

    @property
    def _url_module(self) -> Any:
        # moto derives the urls module from "<pkg>.models"; this package names its module backend.
        from . import urls  # noqa: PLC0415 (urls -> responses -> backend: import when asked)

        return urls

    # ---- seeding (used by scenarios and tests, not part of the AWS API) ----

    def add_connection(self, connection: Connection) -> None:
        self._check_id(connection.target_id, "dxcon-")
        if self.started_at is None:
            self.started_at = self.clock()
        self.connections[connection.target_id] = connection
        self.encryption_down_seconds.setdefault(connection.target_id, 0.0)

    def add_lag(self, lag: Lag) -> None:
        self._check_id(lag.target_id, "dxlag-")
        self.lags[lag.target_id] = lag
        for member_id in lag.member_ids:
            self.add_connection(
                Connection(
                    target_id=member_id,
                    name=member_id,
                    mac_sec_capable=lag.mac_sec_capable,
                    encryption_mode=lag.encryption_mode,
                    lag_id=lag.target_id,
                    location=lag.location,
                    bandwidth=lag.bandwidth,
                )
            )

    def seed_key(self, holder: KeyHolder, ckn: str, cak: str) -> None:
        """A key that was associated before the scenario starts."""
        now = self.clock()
        holder.keys.append(Key(ckn, self._managed_secret(ckn, cak), now, associated_at=now))

    def seed_router_ckns(self, holder: KeyHolder, ckns: Iterable[str]) -> None:
        """The peer router's keychain when the scenario starts."""
        holder.router_ckns = dict.fromkeys((c.lower() for c in ckns), self.clock())

    def add_router_ckn(self, target_id: str, ckn: str) -> None:
        """The customer configures `ckn` on the target's peer router now."""
        with self._lock:
            self.settle()
            self.find(target_id).router_add(ckn, self.clock())
            self._resolve_router_waits()

    @staticmethod
    def _check_id(target_id: str, prefix: str) -> None:
        if not re.fullmatch(re.escape(prefix) + r"[0-9a-z]{8}", target_id):
            raise ValueError(f"{target_id!r} is not a {prefix}xxxxxxxx id (8 lower-case letters or digits)")

    # ---- request plumbing ----

    def call(self, operation: str, target: str | None, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Every API operation: count, rate-limit, inject faults, settle time, then run."""
        with self._lock:
            self.calls[operation] += 1
            now = self.clock()
            try:
                self._limit_rate(operation, now)
                injected = self.faults.take(operation)
                if injected:
                    raise fault(injected.error, operation, injected.message)
                self.settle()
                result = run()
            except JsonRESTError as error:
                self.api_log.append((now, operation, target or "", error.error_type))
                raise
            self.api_log.append((now, operation, target or "", "ok"))
            return result

    def _limit_rate(self, operation: str, now: float) -> None:
        rate = self.behaviour.api_rate_per_second
        if not rate:
            return
        while self._recent_calls and self._recent_calls[0] <= now - 1.0:
            self._recent_calls.popleft()
        if len(self._recent_calls) >= rate:
            self.throttled[operation] += 1
            raise fault("ThrottlingException", operation)
        self._recent_calls.append(now)

    def settle(self) -> None:
        """Advance the model to now: add up the time each port spent without encryption, interval by
        interval between physical state changes, and delete managed secrets no listed key uses any more."""
        with self._lock:
            now = self.clock()
            self._resolve_router_waits()
            last = now if self._settled_at is None else self._settled_at
            while True:
                changes = [t for t in self._change_times() if last < t <= now]
                step_to = min(changes) if changes else now
                self._count_down_time(last, step_to)
                last = step_to
                self._release_secrets(last)
                if not changes:
                    break
            self._settled_at = now

    def _holders(self) -> list[KeyHolder]:
        return [*self.connections.values(), *self.lags.values()]

    def _change_times(self) -> list[float]:
        times: list[float] = []
        for holder in self._holders():
            for key in holder.keys:
                moments = (key.associated_at, key.removal_requested_at, key.gone_at, key.forgotten_at)
                times += [t for t in moments if t is not None]
            times += [t for t in holder.router_ckns.values() if t != BEFORE_RUN]
        return times

    def _resolve_router_waits(self) -> None:
        """associationWaitsForRouter: a key completes association `association_seconds` after both the
        request and the router's copy of its CKN."""
        for holder in self._holders():
            for key in holder.keys:
                added = holder.router_ckns.get(key.ckn.lower())
                if key.awaits_router and added is not None:
                    key.associated_at = max(key.requested_at, added) + self.behaviour.association_seconds
                    key.awaits_router = False

    def _count_down_time(self, start: float, end: float) -> None:
        for holder in self._holders():
            if isinstance(holder, Connection) and holder.lag_id:
                continue
            associated = any(k.state(start) == "associated" for k in holder.listed(start))
            if associated:
                self.keyless_seconds.setdefault(holder.target_id, 0.0)
            elif holder.target_id in self.keyless_seconds:
                self.keyless_seconds[holder.target_id] += end - start
        for connection in self.connections.values():
            if self.port_encryption_status(connection, start) != "Encryption Up":
                self.encryption_down_seconds[connection.target_id] += end - start

    def _release_secrets(self, at: float) -> None:
        """Direct Connect deletes its managed secret once no key it lists refers to it any more."""
        keys = [k for holder in self._holders() for k in holder.keys]
        in_use = {k.secret_arn for k in keys if k.listed(at)}
        for arn in {k.secret_arn for k in keys if not k.listed(at) and k.requested_at <= at}:
            if arn not in in_use and arn not in self._released_secrets:
                self._released_secrets.add(arn)
                self._secrets().delete_secret(arn, None, True)

    # ---- derived state ----

    def owner(self, connection: Connection) -> KeyHolder:
        return self.lags[connection.lag_id] if connection.lag_id else connection

    def port_encryption_status(self, connection: Connection, at: float) -> str:
        """The physical status at `at` (the connection's own state is taken as it is now)."""
        up = connection.state == "available" and self.owner(connection).encrypts(at)
        return "Encryption Up" if up else "Encryption Down"

    def reported_port_status(self, connection: Connection, at: float) -> str:
        """What Describe* report at `at`: the physical status `port_status_delay_seconds` earlier (MKA
        timers), or as it was when the run began."""
        seen = at - self.behaviour.port_status_delay_seconds
        if self.started_at is not None:
            seen = max(seen, self.started_at)
        return self.port_encryption_status(connection, seen)

    def connection_state(self, connection: Connection, at: float) -> str:
        # Under must_encrypt "the connection goes down when the encryption is down".
        owner = self.owner(connection)
        if connection.state == "available" and owner.encryption_mode == "must_encrypt" and not owner.encrypts(at):
            return "down"
        return connection.state

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Each target now (LAG members under their LAG): the keys Direct Connect lists, `disassociated`
        ones included, and the PHYSICAL portEncryptionStatus (not the delayed one Describe* report)."""
        self.settle()
        at = self.clock()

        def keys(holder: KeyHolder) -> list[dict[str, str]]:
            return [{"ckn": k.ckn, "secretARN": k.secret_arn, "state": k.state(at)} for k in holder.listed(at)]

        def connection(c: Connection) -> dict[str, Any]:
            return {
                "connectionState": self.connection_state(c, at),
                "encryptionMode": c.encryption_mode,
                "portEncryptionStatus": self.port_encryption_status(c, at),
                "macSecKeys": keys(self.owner(c)),
            }

        view: dict[str, dict[str, Any]] = {
            c.target_id: connection(c) for c in self.connections.values() if not c.lag_id
        }
        for lag in self.lags.values():
            view[lag.target_id] = {
                "lagState": lag.state,
                "encryptionMode": lag.encryption_mode,
                "macSecKeys": keys(lag),
                "members": {m: connection(self.connections[m]) for m in lag.member_ids},
            }
        return view

    # ---- lookups and validation ----

    def find(self, target_id: str | None) -> KeyHolder:
        if not target_id:
            raise DirectConnectClientException("connectionId is required.")
        holder = self.lags.get(target_id) if target_id.startswith("dxlag-") else self.connections.get(target_id)
        if holder is None:
            raise DirectConnectClientException(f"Could not find Connection with ID {target_id}")
        return holder

    # ---- operations ----

    def associate(self, target_id: str | None, secret_arn: str | None, ckn: str | None, cak: str | None) -> KeyHolder:
        holder = self.find(target_id)
        if isinstance(holder, Connection) and holder.lag_id:
            raise DirectConnectClientException(
                f"Connection {holder.target_id} is part of LAG {holder.lag_id}; associate the key with the LAG."
            )
        if not holder.mac_sec_capable:
            raise DirectConnectClientException(f"{holder.target_id} does not support MACsec.")
        if secret_arn and (ckn or cak):
            raise DirectConnectClientException("Specify either secretARN or ckn and cak, not both.")
        if secret_arn:
            ckn, cak = self._read_managed_secret(secret_arn)
        elif not (ckn and cak):
            raise DirectConnectClientException("Specify either secretARN, or both ckn and cak.")
        for name, value in (("ckn", ckn), ("cak", cak)):
            if not _HEX64.fullmatch(value or ""):
                raise DirectConnectClientException(f"The {name} must be 64 hexadecimal characters.")
        assert ckn and cak
        now = self.clock()
        listed = holder.listed(now)
        same_ckn = [k for k in listed if k.ckn.lower() == ckn.lower()]
        if any(k.state(now) in ACTIVE_STATES for k in same_ckn):
            raise DirectConnectClientException(f"CKN {ckn} is already associated with {holder.target_id}.")
        if same_ckn and self.behaviour.reassociate_lingering_ckn == "afterGone":
            raise DirectConnectClientException(
                f"The MACsec key {ckn} is still being disassociated from {holder.target_id}."
            )
        if len([k for k in listed if self._takes_a_place(k, now)]) >= KEYCHAIN_SIZE:
            raise DirectConnectClientException(
                f"{holder.target_id} already has {KEYCHAIN_SIZE} MACsec keys; disassociate one first."
            )
        arn = secret_arn or self._managed_secret(ckn, cak)
        holder.keys.append(self._new_key(holder, ckn, arn, now))
        return holder

    def _takes_a_place(self, key: Key, at: float) -> bool:
        return key.state(at) != "disassociated" or self.behaviour.lingering_keys_count_toward_limit

    def _new_key(self, holder: KeyHolder, ckn: str, arn: str, now: float) -> Key:
        if holder.stuck_state == "associating":
            return Key(ckn, arn, now, None)
        ready = now
        if self.behaviour.association_waits_for_router:
            added = holder.router_ckns.get(ckn.lower())
            if added is None:
                return Key(ckn, arn, now, None, awaits_router=True)
            ready = max(now, added)
        return Key(ckn, arn, now, ready + self.behaviour.association_seconds)

    def disassociate(self, target_id: str | None, secret_arn: str | None) -> tuple[KeyHolder, Key]:
        holder = self.find(target_id)
        if not secret_arn:
            raise DirectConnectClientException("secretARN is required.")
        now = self.clock()
        # Several listed keys may share a secretARN (managedSecretPerCkn, or a lingering entry): act on the live one.
        matching = [k for k in holder.listed(now) if k.secret_arn == secret_arn]
        key = next((k for k in matching if k.state(now) in ACTIVE_STATES), None)
        if key is None:
            removing = next((k for k in matching if k.state(now) == "disassociating"), None)
            if removing:
                raise DirectConnectClientException(f"The key {removing.ckn} is already being disassociated.")
            raise DirectConnectClientException(f"Secret {secret_arn} is not associated with {holder.target_id}.")
        key.removal_requested_at = now
        key.awaits_router = False
        if holder.stuck_state != "disassociating":
            key.gone_at = now + self.behaviour.disassociation_seconds
            linger = self.behaviour.disassociated_keys_linger_seconds
            key.forgotten_at = None if linger is None else key.gone_at + linger
        if holder.encryption_mode == "must_encrypt" and not any(
            k.state(now) in ACTIVE_STATES for k in holder.listed(now)
        ):
            self._set_mode(holder, "should_encrypt")
        return holder, key

    def update_mode(self, target_id: str | None, mode: str | None, *, lag_api: bool) -> KeyHolder:
        holder = self.find(target_id)
        if lag_api != isinstance(holder, Lag):
            right = "UpdateConnection" if lag_api else "UpdateLag"
            raise DirectConnectClientException(f"{target_id} is the wrong kind of target; use {right}.")
        if mode is None:
            return holder
        if mode not in MODES:
            raise DirectConnectClientException(f"encryptionMode must be one of {', '.join(MODES)}.")
        if not holder.mac_sec_capable:
            raise DirectConnectClientException(f"{holder.target_id} does not support MACsec.")
        if isinstance(holder, Connection) and holder.lag_id:
            raise DirectConnectClientException(
                f"Connection {holder.target_id} is part of LAG {holder.lag_id}; set encryptionMode on the LAG."
            )
        self._set_mode(holder, mode)
        return holder

    def drop_newest_key(self, target_id: str) -> None:
        """An injected fault: Direct Connect drops the most recently associated listed key, without being
        asked. It is no longer listed at once (not even as `disassociated`); its history stays."""
        with self._lock:
            self.settle()
            now = self.clock()
            listed = self.find(target_id).listed(now)
            if listed:
                key = listed[-1]  # keys are kept in the order they were associated
                key.removal_requested_at = now if key.removal_requested_at is None else key.removal_requested_at
                key.gone_at = now if key.gone_at is None else min(key.gone_at, now)
                key.forgotten_at = now
                key.awaits_router = False
                self._release_secrets(now)

    def _set_mode(self, holder: KeyHolder, mode: str) -> None:
        holder.encryption_mode = mode
        if isinstance(holder, Lag):  # a LAG applies its mode to every member
            for member_id in holder.member_ids:
                self.connections[member_id].encryption_mode = mode

    # ---- the managed secrets Direct Connect creates ----

    def _secrets(self) -> Any:
        return secretsmanager_backends[self.account_id][self.region_name]

    def _managed_secret(self, ckn: str, cak: str) -> str:
        """The ARN of the secret Direct Connect keeps the pair in: a new one per association, or with
        managedSecretPerCkn the one named after the CKN, reused (as it is) while it exists."""
        base = f"directconnect!prod/{self.region_name}/directconnect/{ckn.lower()}"
        existing = self._secrets().secrets.get(base)
        if self.behaviour.managed_secret_per_ckn and existing is not None and not existing.is_deleted():
            return str(existing.arn)
        name, n = base, 1
        while name in {s.name for s in self._secrets().secrets.values()}:
            n += 1
            name = f"{base}-{n}"
        created = json.loads(
            self._secrets().create_secret(
                name,
                json.dumps({"ckn": ckn, "cak": cak}),
                None,
                "Managed by Direct Connect",
                [{"Key": OWNING_SERVICE_TAG, "Value": "directconnect"}],
                None,
                None,
                [],
                False,
            )
        )
        return str(created["ARN"])

    def _read_managed_secret(self, secret_arn: str) -> tuple[str, str]:
        try:
            secret = self._secrets().describe_secret(secret_arn)
        except Exception:
            raise DirectConnectClientException(f"Secret {secret_arn} was not found.") from None
        if not any(t.get("Key") == OWNING_SERVICE_TAG for t in secret.tags or []):
            raise DirectConnectClientException(
                "secretARN must be a secret created by Direct Connect; pass ckn and cak instead."
            )
        value = json.loads(self._secrets().get_secret_value(secret_arn, None, None)["SecretString"])
        return value["ckn"], value["cak"]


emulator_backends = BackendDict(DirectConnectEmulator, "directconnect")
