"""The stack's notification topic: each rotation's result, published by the step that reports it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..observability import logger, metrics

if TYPE_CHECKING:
    from botocore.client import BaseClient


class NotificationsGateway:
    def __init__(self, client: BaseClient, topic_arn: str) -> None:
        self._client = client
        self._topic = topic_arn

    def publish(self, subject: str, message: dict[str, Any]) -> bool:
        """A notification that cannot be sent must not change the rotation's outcome: False, logged and counted
        (NotificationsFailed), instead of an error."""
        try:
            self._client.publish(TopicArn=self._topic, Subject=subject, Message=json.dumps(message))
        except (ClientError, BotoCoreError) as error:
            logger.warning("notification not sent", error=type(error).__name__)
            metrics.add_metric(name="NotificationsFailed", unit="Count", value=1)
            return False
        return True
