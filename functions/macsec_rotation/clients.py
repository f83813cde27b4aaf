"""Gateways over real boto3 clients, created per invocation so tests and the runner can inject their own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from .gateways.directconnect import DirectConnectGateway
from .gateways.executions import ExecutionsGateway
from .gateways.locks import LocksGateway
from .gateways.secrets import SecretsGateway

if TYPE_CHECKING:
    from botocore.client import BaseClient

# Standard mode retries throttling and 5xx with jittered backoff; what is left over is
# retried by the state machine under the typed transient errors.
SDK_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


def directconnect(client: BaseClient | None = None) -> DirectConnectGateway:
    return DirectConnectGateway(client or boto3.client("directconnect", config=SDK_CONFIG))


def secrets(client: BaseClient | None = None) -> SecretsGateway:
    return SecretsGateway(client or boto3.client("secretsmanager", config=SDK_CONFIG))


def executions(state_machine_arn: str, client: BaseClient | None = None) -> ExecutionsGateway:
    return ExecutionsGateway(client or boto3.client("stepfunctions", config=SDK_CONFIG), state_machine_arn)


def locks(table_name: str, client: BaseClient | None = None) -> LocksGateway:
    return LocksGateway(client or boto3.client("dynamodb", config=SDK_CONFIG), table_name)
