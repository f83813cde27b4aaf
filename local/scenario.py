"""Scenario files (format v1): the starting account, secrets, behaviour, faults and events of a run.

See docs/scenarios.md. A bad file is rejected with the path of the offending field; values are
never quoted back, since a scenario holds CAKs.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

HEX64 = r"^[0-9a-fA-F]{64}$"
CONNECTION_ID = r"^dxcon-[0-9a-z]{8}$"
LAG_ID = r"^dxlag-[0-9a-z]{8}$"
Mode = Literal["no_encrypt", "should_encrypt", "must_encrypt"]
Operation = Literal[
    "DescribeConnections",
    "DescribeLags",
    "AssociateMacSecKey",
    "DisassociateMacSecKey",
    "UpdateConnection",
    "UpdateLag",
]
InjectedError = Literal[
    "ThrottlingException", "TooManyRequestsException", "DirectConnectServerException", "DirectConnectClientException"
]
ConnectionState = Literal[
    "ordering", "requested", "pending", "available", "down", "deleting", "deleted", "rejected", "unknown"
]


class ScenarioError(ValueError):
    """The scenario file is not valid; the message names each offending field."""


class Strict(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class KeySpec(Strict):
    ckn: str = Field(pattern=HEX64)
    cak: str = Field(pattern=HEX64)


class TargetSpec(Strict):
    mac_sec_capable: bool = True
    state: ConnectionState = "available"
    encryption_mode: Mode = "should_encrypt"
    keys: list[KeySpec] = Field(default_factory=list, max_length=3)
    router_ckns: list[str] | None = None

    @field_validator("router_ckns")
    @classmethod
    def _hex(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(
            len(c) != 64 or any(ch not in "0123456789abcdefABCDEF" for ch in c) for c in value
        ):
            raise ValueError("every router CKN must be 64 hexadecimal digits")
        return value


class ConnectionSpec(TargetSpec):
    id: str = Field(pattern=CONNECTION_ID)


class LagSpec(TargetSpec):
    id: str = Field(pattern=LAG_ID)
    members: list[str] = Field(min_length=1, max_length=4)

    @field_validator("members")
    @classmethod
    def _member_ids(cls, value: list[str]) -> list[str]:
        bad = [m for m in value if not re.fullmatch(CONNECTION_ID, m)]
        if bad:
            raise ValueError(f"members must be dxcon-xxxxxxxx ids ({len(bad)} are not)")
        return value


class VersionSpec(Strict):
    id: str = Field(min_length=1, max_length=64)
    value: Any
    stages: list[str] = Field(default_factory=list)


class SecretSpec(Strict):
    name: str = Field(min_length=1, max_length=512)
    tags: dict[str, str] = Field(default_factory=dict)
    versions: list[VersionSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_current(self) -> SecretSpec:
        current = [v.id for v in self.versions if "AWSCURRENT" in v.stages]
        if len(current) != 1:
            raise ValueError("exactly one version must carry the AWSCURRENT stage")
        return self

    def version_id(self, label: str) -> str:
        return real_version_id(self.name, label)


class BehaviourSpec(Strict):
    association_seconds: float = Field(default=30, ge=0)
    disassociation_seconds: float = Field(default=5, ge=0)
    api_rate_per_second: float | None = Field(default=None, gt=0)


class OperationFaultSpec(Strict):
    operation: Operation
    error: InjectedError
    times: int = Field(ge=1)


class KeyStuckSpec(Strict):
    target: str = Field(pattern=r"^dx(con|lag)-[0-9a-z]{8}$")
    key_stuck: Literal["associating", "disassociating"]


class EventSpec(Strict):
    at: float = Field(default=0, ge=0)
    type: Literal["console", "RotationSucceeded", "PutSecretValue", "rotate"]
    input: dict[str, Any] | None = None
    name: str | None = Field(default=None, pattern=r"^[^\s:/]{1,80}$")
    secret: str | None = None
    value: Any = None
    stages: list[str] | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> EventSpec:
        if self.type == "console" and self.input is None:
            raise ValueError("a console event needs 'input', the Step Functions execution input")
        if self.type in ("RotationSucceeded", "PutSecretValue", "rotate") and not self.secret:
            raise ValueError(f"a {self.type} event needs 'secret', the name of a scenario secret")
        if self.type == "PutSecretValue" and self.value is None:
            raise ValueError("a PutSecretValue event needs 'value', the new secret value")
        return self


class Scenario(Strict):
    description: str = ""
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    account: str = Field(default="123456789012", pattern=r"^\d{12}$")
    connections: list[ConnectionSpec] = Field(default_factory=list)
    lags: list[LagSpec] = Field(default_factory=list)
    secrets: list[SecretSpec] = Field(default_factory=list)
    behaviour: BehaviourSpec = Field(default_factory=BehaviourSpec)
    faults: list[OperationFaultSpec | KeyStuckSpec] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)  # CDK context, as `cdk deploy -c key=value`
    events: list[EventSpec] = Field(min_length=1)
    expect: dict[str, Any] | None = None  # read by the tests, ignored by the runner

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        ids = [c.id for c in self.connections] + [lag.id for lag in self.lags]
        members = [m for lag in self.lags for m in lag.members]
        duplicates = {i for i in ids + members if (ids + members).count(i) > 1}
        if duplicates:
            raise ValueError(f"target ids must be unique (a LAG member is not also a connection): {sorted(duplicates)}")
        secret_names = {s.name for s in self.secrets}
        for n, event in enumerate(self.events):
            if event.secret and event.secret not in secret_names:
                raise ValueError(f"events.{n}.secret names no secret of this scenario")
        for n, item in enumerate(self.faults):
            if isinstance(item, KeyStuckSpec) and item.target not in ids:
                raise ValueError(f"faults.{n}.target is not a connection or LAG of this scenario")
        return self

    def secret(self, name: str) -> SecretSpec:
        return next(s for s in self.secrets if s.name == name)


def real_version_id(secret_name: str, label: str) -> str:
    """Secrets Manager wants 32-64 character version ids; short labels such as "v1" map to a stable UUID."""
    if 32 <= len(label) <= 64:
        return label
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"macsec-scenario:{secret_name}:{label}"))


def load(path: str | Path) -> Scenario:
    try:
        raw = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}: not JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    return parse(raw, str(path))


def parse(raw: Any, source: str = "scenario") -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(p) for p in issue['loc']) or '(top level)'}: {issue['msg']}"
            for issue in error.errors(include_input=False, include_url=False)
        ]
        raise ScenarioError(f"{source} is not a valid scenario:\n  " + "\n  ".join(problems)) from None
