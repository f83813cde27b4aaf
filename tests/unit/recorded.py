"""Step Functions' and EventBridge's sides, recorded: the gateways the router and watcher logic answer through."""

from __future__ import annotations

import json
from typing import Any

from macsec_rotation.gateways.events import EventsGateway
from macsec_rotation.gateways.tasks import TasksGateway


class RecordedTasks(TasksGateway):
    """Each token takes one answer; a second one (or one for a task that ended) finds the task gone."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.beats: list[str] = []
        self.gone: set[str] = set()

    def answer(self, task_token: str, result: Any) -> bool:
        if task_token in self.answers or task_token in self.gone:
            return False
        self.answers[task_token] = json.loads(json.dumps(result))
        return True

    def beat(self, task_token: str) -> bool:
        self.beats.append(task_token)
        return task_token not in self.gone


class RecordedEvents(EventsGateway):
    def __init__(self) -> None:
        self.put_events: list[tuple[str, dict[str, Any]]] = []

    def put(self, detail_type: str, detail: dict[str, Any], bus: str = "default") -> None:
        self.put_events.append((detail_type, detail))
