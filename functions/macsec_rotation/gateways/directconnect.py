"""Direct Connect MACsec operations on a connection (dxcon-) or a LAG (dxlag-)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..errors import AssociationRejected, DirectConnectRefused, TargetNotFound
from ..keys import KeyMaterial, same_ckn
from ..models import TargetType
from .aws_errors import error_message, is_refusal, transient_errors_typed

if TYPE_CHECKING:
    from botocore.client import BaseClient

ENCRYPTION_UP = "Encryption Up"
LIVE_STATES = ("associating", "associated")
# A `disassociated` key may stay listed for an unpublished time; it neither encrypts nor, as far as the
# workflow counts, takes a place in the keychain (DOMAIN.md).
DISASSOCIATED = "disassociated"
PAGE_SIZE = 100  # DescribeConnections/DescribeLags maxResults: the largest page the API returns


@dataclass(frozen=True)
class MacsecKey:
    ckn: str
    secret_arn: str
    state: str


@dataclass(frozen=True)
class Port:
    connection_id: str
    state: str
    encryption_status: str | None

    @property
    def encrypted(self) -> bool:
        return self.encryption_status == ENCRYPTION_UP


@dataclass(frozen=True)
class Target:
    target_id: str
    target_type: TargetType
    state: str
    mac_sec_capable: bool
    encryption_mode: str | None
    keys: tuple[MacsecKey, ...]
    ports: tuple[Port, ...]
    lag_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    def tag(self, key: str) -> str | None:
        return next((value for name, value in self.tags if name == key), None)

    def key(self, ckn: str) -> MacsecKey | None:
        """The key with this CKN that is not on its way out, if any."""
        return next((k for k in self.live_keys if same_ckn(k.ckn, ckn)), None)

    def listed(self, ckn: str) -> MacsecKey | None:
        """The key with this CKN in whatever state it is listed, a live one first."""
        return self.key(ckn) or next((k for k in self.keys if same_ckn(k.ckn, ckn)), None)

    @property
    def live_keys(self) -> tuple[MacsecKey, ...]:
        return tuple(k for k in self.keys if k.state in LIVE_STATES)

    @property
    def keychain(self) -> tuple[MacsecKey, ...]:
        """The keys that hold a place: all listed ones but those already `disassociated`."""
        return tuple(k for k in self.keys if k.state != DISASSOCIATED)

    @property
    def ports_down(self) -> tuple[str, ...]:
        return tuple(p.connection_id for p in self.ports if not p.encrypted)


def target_type_of(target_id: str) -> TargetType:
    return "lag" if target_id.startswith("dxlag-") else "connection"


def _keys(raw: dict[str, Any]) -> tuple[MacsecKey, ...]:
    return tuple(
        MacsecKey(ckn=k.get("ckn", ""), secret_arn=k.get("secretARN", ""), state=k.get("state", ""))
        for k in raw.get("macSecKeys", [])
    )


def _tags(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(t.get("key", "")), str(t.get("value", ""))) for t in raw.get("tags") or [])


def _port(raw: dict[str, Any]) -> Port:
    return Port(raw["connectionId"], raw.get("connectionState", ""), raw.get("portEncryptionStatus"))


class DirectConnectGateway:
    def __init__(self, client: BaseClient) -> None:
        self._client = client

    def describe(self, target_id: str) -> Target:
        with transient_errors_typed():
            try:
                if target_type_of(target_id) == "lag":
                    return self._describe_lag(target_id)
                return self._describe_connection(target_id)
            except ClientError as error:
                # Describe* with an id declares one client error for every cause; an id that
                # does not resolve is by far the likeliest, so say so and pass the service text on.
                if is_refusal(error):
                    raise TargetNotFound(
                        f"{target_id} was not found in this account and Region ({error_message(error)}). "
                        "Check the target id or the secret's macsec:target tag."
                    ) from None
                raise

    def describe_all(self, lags: bool = True) -> dict[str, Target]:
        """Every connection (and LAG, unless `lags` is False) of the account and Region, with keys and port status:
        one paged DescribeConnections and one paged DescribeLags, whatever the fleet's size (the watcher's one read
        a tick). A LAG's ports are its members, read from the connections listing."""
        with transient_errors_typed():
            connections = self._every("describe_connections", "connections")
            lags_listed = self._every("describe_lags", "lags") if lags else []
        found = {raw["connectionId"]: self._connection_target(raw) for raw in connections}
        for raw in lags_listed:
            members = raw.get("connections", [])
            ports = tuple(
                _port(member) if "portEncryptionStatus" in member else found[member["connectionId"]].ports[0]
                for member in members
                if "portEncryptionStatus" in member or member.get("connectionId") in found
            )
            found[raw["lagId"]] = self._lag_target(raw, ports)
        return found

    def _every(self, operation: str, listed_as: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = getattr(self._client, operation)(maxResults=PAGE_SIZE, **({"nextToken": token} if token else {}))
            items += page.get(listed_as, [])
            token = page.get("nextToken")
            if not token:
                return items

    def _describe_connection(self, connection_id: str) -> Target:
        found = self._client.describe_connections(connectionId=connection_id)["connections"]
        if not found:
            raise TargetNotFound(f"{connection_id} was not found in this account and Region.")
        return self._connection_target(found[0])

    @staticmethod
    def _connection_target(raw: dict[str, Any]) -> Target:
        return Target(
            target_id=raw["connectionId"],
            target_type="connection",
            state=raw.get("connectionState", ""),
            mac_sec_capable=bool(raw.get("macSecCapable")),
            encryption_mode=raw.get("encryptionMode"),
            keys=_keys(raw),
            ports=(_port(raw),),
            lag_id=raw.get("lagId"),
            tags=_tags(raw),
        )

    def _describe_lag(self, lag_id: str) -> Target:
        found = self._client.describe_lags(lagId=lag_id)["lags"]
        if not found:
            raise TargetNotFound(f"{lag_id} was not found in this account and Region.")
        raw = found[0]
        return self._lag_target(raw, tuple(self._member_port(member) for member in raw.get("connections", [])))

    @staticmethod
    def _lag_target(raw: dict[str, Any], ports: tuple[Port, ...]) -> Target:
        return Target(
            target_id=raw["lagId"],
            target_type="lag",
            state=raw.get("lagState", ""),
            mac_sec_capable=bool(raw.get("macSecCapable")),
            encryption_mode=raw.get("encryptionMode"),
            keys=_keys(raw),
            ports=ports,
            tags=_tags(raw),
        )

    def _member_port(self, member: dict[str, Any]) -> Port:
        """portEncryptionStatus exists on connections only: a LAG's ports are its members. Whether the
        members nested in DescribeLags carry it is unconfirmed, so a member without it is read itself."""
        if "portEncryptionStatus" in member:
            return _port(member)
        found = self._client.describe_connections(connectionId=member["connectionId"])["connections"]
        return _port(found[0]) if found else _port(member)

    def associate(self, target_id: str, key: KeyMaterial) -> None:
        with transient_errors_typed():
            try:
                self._client.associate_mac_sec_key(connectionId=target_id, ckn=key.ckn, cak=key.cak)
            except ClientError as error:
                if is_refusal(error):
                    raise AssociationRejected(
                        f"Direct Connect refused key {key.ckn} on {target_id}: {error_message(error)}"
                    ) from None
                raise

    def disassociate(self, target_id: str, secret_arn: str) -> None:
        with _refusals_typed(f"removing key {secret_arn} from {target_id}"):
            self._client.disassociate_mac_sec_key(connectionId=target_id, secretARN=secret_arn)

    def set_encryption_mode(self, target: Target, mode: str) -> None:
        with _refusals_typed(f"setting encryptionMode {mode} on {target.target_id}"):
            if target.target_type == "lag":
                self._client.update_lag(lagId=target.target_id, encryptionMode=mode)
            else:
                self._client.update_connection(connectionId=target.target_id, encryptionMode=mode)


@contextmanager
def _refusals_typed(what: str) -> Iterator[None]:
    with transient_errors_typed():
        try:
            yield
        except ClientError as error:
            if is_refusal(error):
                raise DirectConnectRefused(f"Direct Connect refused {what}: {error_message(error)}") from None
            raise
