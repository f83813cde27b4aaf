"""JSON-protocol request handling: parse, call the emulator, render shapes of the botocore model."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import BaseResponse

from .backend import DirectConnectEmulator, emulator_backends
from .errors import DirectConnectClientException
from .model import Connection, KeyHolder, Lag


class DirectConnectEmulatorResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="directconnect")

    @property
    def backend(self) -> DirectConnectEmulator:
        return emulator_backends[self.current_account][self.region]

    def _params(self) -> dict[str, Any]:
        return json.loads(self.body or "{}")

    # ---- rendering ----

    def _connection(self, connection: Connection, at: float, nested: bool = False) -> dict[str, Any]:
        """A connection as DescribeConnections shows it, or (`nested`) as a member in DescribeLags."""
        owner = self.backend.owner(connection)
        rendered: dict[str, Any] = {
            "ownerAccount": self.current_account,
            "connectionId": connection.target_id,
            "connectionName": connection.name,
            "connectionState": self.backend.connection_state(connection, at),
            "region": self.region,
            "location": connection.location,
            "bandwidth": connection.bandwidth,
            "awsDeviceV2": "EqDC2-emulated",
            "awsLogicalDeviceId": "EqDC2-emulated-1",
            "hasLogicalRedundancy": "no",
            "jumboFrameCapable": False,
            "macSecCapable": connection.mac_sec_capable,
            "encryptionMode": connection.encryption_mode,
            "macSecKeys": [k.to_dict(at) for k in owner.listed(at)],
            "tags": _tags(connection),
        }
        omitted = nested and self.backend.behaviour.lag_members_omit_port_status
        if connection.mac_sec_capable and not omitted:
            rendered["portEncryptionStatus"] = self.backend.reported_port_status(connection, at)
        if connection.lag_id:
            rendered["lagId"] = connection.lag_id
        return rendered

    def _lag(self, lag: Lag, at: float) -> dict[str, Any]:
        return {
            "connectionsBandwidth": lag.bandwidth,
            "numberOfConnections": len(lag.member_ids),
            "lagId": lag.target_id,
            "ownerAccount": self.current_account,
            "lagName": lag.name,
            "lagState": lag.state,
            "location": lag.location,
            "region": self.region,
            "minimumLinks": 0,
            "awsDeviceV2": "EqDC2-emulated",
            "awsLogicalDeviceId": "EqDC2-emulated-1",
            "connections": [self._connection(self.backend.connections[m], at, nested=True) for m in lag.member_ids],
            "allowsHostedConnections": False,
            "jumboFrameCapable": False,
            "hasLogicalRedundancy": "no",
            "tags": _tags(lag),
            "macSecCapable": lag.mac_sec_capable,
            "encryptionMode": lag.encryption_mode,
            "macSecKeys": [k.to_dict(at) for k in lag.listed(at)],
        }

    def _holder(self, holder: KeyHolder, at: float) -> dict[str, Any]:
        if isinstance(holder, Lag):
            return self._lag(holder, at)
        assert isinstance(holder, Connection)
        return self._connection(holder, at)

    # ---- operations ----

    def describe_connections(self) -> str:
        return self._describe(
            "DescribeConnections",
            "connectionId",
            "connections",
            Connection,
            self._connection,
            lambda: self.backend.connections,
        )

    def describe_lags(self) -> str:
        return self._describe("DescribeLags", "lagId", "lags", Lag, self._lag, lambda: self.backend.lags)

    def _describe(
        self,
        operation: str,
        id_param: str,
        listed_as: str,
        kind: type[KeyHolder],
        render: Callable[[Any, float], dict[str, Any]],
        every: Callable[[], dict[str, Any]],
    ) -> str:
        """One target of this kind by id (an id of the other kind is not found), or all of them."""
        params = self._params()

        def run() -> dict[str, Any]:
            at = self.backend.clock()
            wanted = params.get(id_param)
            if wanted:
                found = self.backend.find(wanted)
                if not isinstance(found, kind):
                    raise_not_found(wanted)
                return {listed_as: [render(found, at)]}
            listed = [render(holder, at) for holder in every().values()]
            # Paged when maxResults is given (the API Reference: at most 100 a page, nextToken for the rest).
            size = min(int(params["maxResults"]), 100) if params.get("maxResults") else max(len(listed), 1)
            start = int(params.get("nextToken") or 0)
            page: dict[str, Any] = {listed_as: listed[start : start + size]}
            if start + size < len(listed):
                page["nextToken"] = str(start + size)
            return page

        return json.dumps(self.backend.call(operation, params.get(id_param), run))

    def associate_mac_sec_key(self) -> str:
        params = self._params()

        def run() -> dict[str, Any]:
            holder = self.backend.associate(
                params.get("connectionId"), params.get("secretARN"), params.get("ckn"), params.get("cak")
            )
            at = self.backend.clock()
            return {"connectionId": holder.target_id, "macSecKeys": [k.to_dict(at) for k in holder.listed(at)]}

        return json.dumps(self.backend.call("AssociateMacSecKey", params.get("connectionId"), run))

    def disassociate_mac_sec_key(self) -> str:
        params = self._params()

        def run() -> dict[str, Any]:
            holder, key = self.backend.disassociate(params.get("connectionId"), params.get("secretARN"))
            return {"connectionId": holder.target_id, "macSecKeys": [key.to_dict(self.backend.clock())]}

        return json.dumps(self.backend.call("DisassociateMacSecKey", params.get("connectionId"), run))

    def update_connection(self) -> str:
        return self._update("UpdateConnection", "connectionId", "connectionName", lag_api=False)

    def update_lag(self) -> str:
        return self._update("UpdateLag", "lagId", "lagName", lag_api=True)

    def _update(self, operation: str, id_param: str, name_param: str, lag_api: bool) -> str:
        """UpdateConnection and UpdateLag: the encryption mode (the emulator's rules per API), and the name."""
        params = self._params()

        def run() -> dict[str, Any]:
            holder = self.backend.update_mode(params.get(id_param), params.get("encryptionMode"), lag_api=lag_api)
            if params.get(name_param):
                holder.name = params[name_param]
            return self._holder(holder, self.backend.clock())

        return json.dumps(self.backend.call(operation, params.get(id_param), run))


def _tags(holder: KeyHolder) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in holder.tags.items()]


def raise_not_found(target_id: str) -> None:
    raise DirectConnectClientException(f"Could not find Connection with ID {target_id}")
