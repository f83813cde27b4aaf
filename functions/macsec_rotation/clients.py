"""Gateways over boto3 clients. A client is made on first use (never at import) and reused by later
invocations of a warm function, per service and Region; tests and the runner can pass their own."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from .gateways.aws_errors import redact_error_response
from .gateways.directconnect import DirectConnectGateway
from .gateways.events import EventsGateway
from .gateways.executions import ExecutionsGateway
from .gateways.locks import LocksGateway
from .gateways.notifications import NotificationsGateway
from .gateways.pace import Pace
from .gateways.secrets import SecretsGateway
from .gateways.tasks import TasksGateway
from .gateways.waits import WaitsGateway

if TYPE_CHECKING:
    from botocore.client import BaseClient

# Standard mode retries throttling and 5xx with jittered backoff; what is left over is
# retried by the state machine under the typed transient errors.
SDK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@functools.lru_cache(maxsize=16)
def _client(service: str, region: str | None) -> BaseClient:
    return boto3.client(service, region_name=region, config=SDK_CONFIG)


def _default(service: str) -> BaseClient:
    return _client(service, os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


def _redact_service_error(parsed: Any, **_: Any) -> None:
    if isinstance(parsed, dict):
        redact_error_response(parsed)


def _redacting(client: BaseClient) -> BaseClient:
    """A service may echo request parameters (AssociateMacSecKey's CAK) in an error text. Redacted as the
    response is parsed, before botocore builds the ClientError: X-Ray's SDK subsegment records that error
    at once, before any of our code could see it. Registered once per client, injected ones too."""
    client.meta.events.register("after-call", _redact_service_error, unique_id="macsec-redact-service-errors")
    return client


def directconnect(client: BaseClient | None = None, paced: bool = True) -> DirectConnectGateway:
    """Every call paced under the stack's Direct Connect budget when the function is given one (PACE_TABLE_NAME),
    unless `paced` is False (the watcher: its share of the budget is set aside)."""
    if client is None:
        client = _default("directconnect")
        if paced and os.environ.get("PACE_TABLE_NAME"):
            client = _paced_directconnect(client.meta.region_name)
    return DirectConnectGateway(_redacting(client))


@functools.lru_cache(maxsize=4)
def _paced_directconnect(region: str | None) -> BaseClient:
    """A client of its own (the unpaced one stays unpaced), whose every call first waits for its turn."""
    client = boto3.client("directconnect", region_name=region, config=SDK_CONFIG)
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}", _wait_turn)
    return client


def _wait_turn(**_: Any) -> None:
    """Read the budget when the call is made (the local runner hosts several stacks' functions in one process)."""
    Pace(_default("dynamodb"), os.environ["PACE_TABLE_NAME"], float(os.environ["DX_REQUESTS_PER_SECOND"])).wait_turn()


def secrets(client: BaseClient | None = None) -> SecretsGateway:
    return SecretsGateway(_redacting(client or _default("secretsmanager")))


def executions(state_machine_arn: str, client: BaseClient | None = None) -> ExecutionsGateway:
    return ExecutionsGateway(_redacting(client or _default("stepfunctions")), state_machine_arn)


def locks(table_name: str, client: BaseClient | None = None) -> LocksGateway:
    return LocksGateway(_redacting(client or _default("dynamodb")), table_name)


def events(client: BaseClient | None = None) -> EventsGateway:
    return EventsGateway(_redacting(client or _default("events")))


def tasks(client: BaseClient | None = None) -> TasksGateway:
    return TasksGateway(_redacting(client or _default("stepfunctions")))


def waits(table_name: str, client: BaseClient | None = None) -> WaitsGateway:
    return WaitsGateway(_redacting(client or _default("dynamodb")), table_name)


def notifications(topic_arn: str, client: BaseClient | None = None) -> NotificationsGateway:
    return NotificationsGateway(_redacting(client or _default("sns")), topic_arn)
