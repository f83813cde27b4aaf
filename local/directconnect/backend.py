"""The Direct Connect MACsec emulator, built on moto's service framework.

Faithful to DOMAIN.md where moto's own model is loose: dxcon-/dxlag- ids, CKN/CAK validation,
DirectConnectClientException, the three-key keychain, key states on a (virtual) clock, a managed
secret per association, LAGs and UpdateLag, encryptionMode rules, portEncryptionStatus computed from
a model of the peer router, a request-rate limit and injectable faults.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.secretsmanager.models import secretsmanager_backends

from .errors import DirectConnectClientException, fault
from .model import ACTIVE_STATES, MODES, Connection, Key, KeyHolder, Lag

KEYCHAIN_SIZE = 3
OWNING_SERVICE_TAG = "aws:secretsmanager:owningService"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass
class Behaviour:
    association_seconds: float = 30.0
    disassociation_seconds: float = 5.0
    api_rate_per_second: float | None = None


@dataclass
class OperationFault:
    operation: str
    error: str
    times: int


@dataclass
class Faults:
    operations: list[OperationFault] = field(default_factory=list)

    def take(self, operation: str) -> str | None:
        for item in self.operations:
            if item.operation == operation and item.times > 0:
                item.times -= 1
                return item.error
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
        self._lock = threading.RLock()

    @property
    def _url_module(self) -> Any:
        # moto derives the urls module from "<pkg>.models"; this package names its module backend.
        from . import urls  # noqa: PLC0415 (urls -> responses -> backend: import when asked)

        return urls

    # ---- seeding (used by scenarios and tests, not part of the AWS API) ----

    def add_connection(self, connection: Connection) -> None:
        self._check_id(connection.target_id, "dxcon-")
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
                    raise fault(injected, operation)
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
        """Advance the model to now: drop keys whose disassociation finished, and add up the time each
        port spent without encryption, interval by interval between state changes."""
        with self._lock:
            now = self.clock()
            last = now if self._settled_at is None else self._settled_at
            while True:
                changes = [t for t in self._change_times() if last < t <= now]
                step_to = min(changes) if changes else now
                self._count_down_time(last, step_to)
                last = step_to
                self._drop_gone_keys(last)
                if not changes:
                    break
            self._settled_at = now

    def _holders(self) -> list[KeyHolder]:
        return [*self.connections.values(), *self.lags.values()]

    def _change_times(self) -> list[float]:
        times: list[float] = []
        for holder in self._holders():
            for key in holder.keys:
                times += [t for t in (key.associated_at, key.removal_requested_at, key.gone_at) if t is not None]
        return times

    def _count_down_time(self, start: float, end: float) -> None:
        for holder in self._holders():
            if isinstance(holder, Connection) and holder.lag_id:
                continue
            associated = any(k.state(start) == "associated" for k in holder.keys)
            if associated:
                self.keyless_seconds.setdefault(holder.target_id, 0.0)
            elif holder.target_id in self.keyless_seconds:
                self.keyless_seconds[holder.target_id] += end - start
        for connection in self.connections.values():
            if self.port_encryption_status(connection, start) != "Encryption Up":
                self.encryption_down_seconds[connection.target_id] += end - start

    def _drop_gone_keys(self, at: float) -> None:
        for holder in self._holders():
            for key in [k for k in holder.keys if k.gone_at is not None and k.gone_at <= at]:
                holder.keys.remove(key)
                self._secrets().delete_secret(key.secret_arn, None, True)

    # ---- derived state ----

    def owner(self, connection: Connection) -> KeyHolder:
        return self.lags[connection.lag_id] if connection.lag_id else connection

    def port_encryption_status(self, connection: Connection, at: float) -> str:
        up = connection.state == "available" and self.owner(connection).encrypts(at)
        return "Encryption Up" if up else "Encryption Down"

    def connection_state(self, connection: Connection, at: float) -> str:
        # Under must_encrypt "the connection goes down when the encryption is down".
        owner = self.owner(connection)
        if connection.state == "available" and owner.encryption_mode == "must_encrypt" and not owner.encrypts(at):
            return "down"
        return connection.state

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Each target as an operator would see it now (LAG members under their LAG)."""
        self.settle()
        at = self.clock()

        def keys(holder: KeyHolder) -> list[dict[str, str]]:
            return [{"ckn": k.ckn, "secretARN": k.secret_arn, "state": k.state(at)} for k in holder.keys]

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
        if holder.key(ckn):
            raise DirectConnectClientException(f"CKN {ckn} is already associated with {holder.target_id}.")
        if len(holder.keys) >= KEYCHAIN_SIZE:
            raise DirectConnectClientException(
                f"{holder.target_id} already has {KEYCHAIN_SIZE} MACsec keys; disassociate one first."
            )
        now = self.clock()
        arn = secret_arn or self._managed_secret(ckn, cak)
        stuck = holder.stuck_state == "associating"
        holder.keys.append(Key(ckn, arn, now, None if stuck else now + self.behaviour.association_seconds))
        return holder

    def disassociate(self, target_id: str | None, secret_arn: str | None) -> tuple[KeyHolder, Key]:
        holder = self.find(target_id)
        if not secret_arn:
            raise DirectConnectClientException("secretARN is required.")
        key = next((k for k in holder.keys if k.secret_arn == secret_arn), None)
        now = self.clock()
        if key is None:
            raise DirectConnectClientException(f"Secret {secret_arn} is not associated with {holder.target_id}.")
        if key.state(now) == "disassociating":
            raise DirectConnectClientException(f"The key {key.ckn} is already being disassociated.")
        key.removal_requested_at = now
        key.gone_at = None if holder.stuck_state == "disassociating" else now + self.behaviour.disassociation_seconds
        if holder.encryption_mode == "must_encrypt" and not any(k.state(now) in ACTIVE_STATES for k in holder.keys):
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
        """An injected fault: Direct Connect drops the most recently associated key (it is gone at once,
        as after a completed disassociation), without being asked."""
        with self._lock:
            self.settle()
            holder = self.find(target_id)
            if holder.keys:
                key = holder.keys[-1]  # keys are kept in the order they were associated
                holder.keys.remove(key)
                self._secrets().delete_secret(key.secret_arn, None, True)

    def _set_mode(self, holder: KeyHolder, mode: str) -> None:
        holder.encryption_mode = mode
        if isinstance(holder, Lag):  # a LAG applies its mode to every member
            for member_id in holder.member_ids:
                self.connections[member_id].encryption_mode = mode

    # ---- the managed secrets Direct Connect creates ----

    def _secrets(self) -> Any:
        return secretsmanager_backends[self.account_id][self.region_name]

    def _managed_secret(self, ckn: str, cak: str) -> str:
        base = f"directconnect!prod/{self.region_name}/directconnect/{ckn.lower()}"
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
