"""EventBridge in the embedded AWS: the template's buses, and every PutEvents entry recorded and delivered.

moto 5.2.5 keeps the events it is given only for the targets it models (queues, log groups, archives); the
template's rules are not created in moto (they invoke the project's functions, which run in-process). So
PutEvents is intercepted after moto accepted it: each accepted entry, whoever put it (a function, the
emulated router automation, the CLI, a test), is recorded in order with its virtual time, goes to the
template's rules that listen on its bus (their target functions are invoked as `LocalAws.deliver_event`
invokes them), and to the listeners (the emulated router automations).

Delivery happens in the thread that put the event, before PutEvents returns. That is one of the orders
EventBridge allows (it delivers asynchronously, with no published latency) and it keeps runs repeatable.
It cannot deadlock: the only target function on a bus of the stack, router_confirmed, answers a parked task
(SendTaskSuccess rings the waiting execution awake and returns, it never waits for it), and the actor's
own actions run in participant threads of the virtual clock (`Participants.after`).

The customer's router automation is an actor (`RouterAutomation`): it learns of a new key from
`MACsec Key Ready For Router`, installs its CKN on the peer router `delaySeconds` later and, if it
`confirms`, puts `MACsec Router Key Installed` on the stack's router bus through the EventBridge API, as a
customer's automation would. Its event names are the documented contract, written out here as the
customer's code would have them, not imported from the workflow's package.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from moto.events.models import EventsBackend

from .clock import VirtualClock
from .template import DEFAULT_BUS, bus_name

# The contract between the workflow and the customer's router automation (docs/scenarios.md).
WORKFLOW_SOURCE = "macsec.rotation"
KEY_READY = "MACsec Key Ready For Router"
KEY_ROLLED_BACK = "MACsec Key Rolled Back"
ROUTER_KEY_INSTALLED = "MACsec Router Key Installed"
AUTOMATION_SOURCE = "customer.router-automation"

# (bus name, event as a rule's target receives it)
Listener = Callable[[str, dict[str, Any]], None]
# (event as a rule's target receives it, bus name): the template's rules on that bus invoke their targets
Deliver = Callable[[dict[str, Any], str], Any]


class Participants:
    """Delayed actions of actors on the virtual clock. Each runs in a daemon thread that is a participant
    from the moment it is scheduled (the scheduling thread joins on its behalf before starting it, so time
    cannot jump past its wake-up), sleeps on the clock, acts, and leaves. An action whose time comes after
    `close()` does nothing, so a run never waits for a sleeping actor; `due()` tells the runner that an action
    is running or due now, so that the end of a run does not race it."""

    def __init__(self, clock: VirtualClock, changed: Callable[[], None]) -> None:
        self._clock = clock
        self._changed = changed  # called after an action ended: the run may be over now
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[float, Any]] = {}  # id -> (virtual time due, key for cancel)
        self._ids = itertools.count()
        self._closed = False
        self.failures: list[str] = []  # what an action raised (type and message: no value is ever in one)

    def after(self, seconds: float, action: Callable[[], None], key: Any = None, name: str = "actor") -> None:
        """Run `action` `seconds` of virtual time from now; at once, in this thread, when `seconds` is 0."""
        if seconds <= 0:
            self._run(action, name)
            return
        with self._lock:
            if self._closed:
                return
            number = next(self._ids)
            self._pending[number] = (self._clock.elapsed() + seconds, key)
        self._clock.join()  # on behalf of the new thread, before it exists

        def run() -> None:
            try:
                self._clock.sleep(seconds)
                with self._lock:
                    go = not self._closed and number in self._pending
                if go:
                    self._run(action, name)
            finally:
                with self._lock:
                    self._pending.pop(number, None)
                self._changed()
                self._clock.leave()

        threading.Thread(target=run, daemon=True, name=f"{name}-{number}").start()

    def cancel(self, key: Any) -> int:
        """Drop the pending actions scheduled with `key`; how many there were."""
        with self._lock:
            dropped = [n for n, (_, k) in self._pending.items() if k == key]
            for number in dropped:
                del self._pending[number]
        return len(dropped)

    def due(self) -> bool:
        """An action runs, or is due at the current virtual time."""
        with self._lock:
            return any(at <= self._clock.elapsed() for at, _ in self._pending.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._pending.clear()

    def _run(self, action: Callable[[], None], name: str) -> None:
        try:
            action()
        except Exception as error:  # an actor's failure is its own, never the caller's PutEvents
            self.failures.append(f"{name}: {type(error).__name__}: {error}")


class EventBridge:
    """The buses of one account and Region of the embedded AWS."""

    def __init__(self, clock: VirtualClock, region: str, account: str, deliver: Deliver) -> None:
        self._clock = clock
        self.region = region
        self.account = account
        self._deliver = deliver
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        # Every accepted entry, in the order PutEvents took them: {at, bus, source, detailType, detail, id}.
        self.events: list[dict[str, Any]] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    @contextmanager
    def applied(self) -> Iterator[None]:
        original = EventsBackend.put_events
        bridge = self

        def put_events(backend: EventsBackend, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
            answers: list[dict[str, Any]] = original(backend, entries)
            if (backend.account_id, backend.region_name) == (bridge.account, bridge.region):
                for entry, answer in zip(entries, answers, strict=False):
                    if "EventId" in answer:
                        bridge._accepted(entry, answer["EventId"])
            return answers

        with mock.patch.object(EventsBackend, "put_events", put_events):
            yield

    def _accepted(self, entry: dict[str, Any], event_id: str) -> None:
        bus = bus_name(entry.get("EventBusName"))
        detail = json.loads(entry["Detail"])
        event = {
            "version": "0",
            "id": event_id,
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": self.account,
            "time": datetime.fromtimestamp(self._clock.now(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": list(entry.get("Resources") or []),
            "detail": detail,
        }
        with self._lock:
            self.events.append(
                {
                    "at": round(self._clock.elapsed(), 3),
                    "bus": bus,
                    "source": entry["Source"],
                    "detailType": entry["DetailType"],
                    "detail": detail,
                    "id": event_id,
                }
            )
        self._deliver(event, bus)
        for listener in list(self._listeners):
            listener(bus, event)


@dataclass
class RouterAutomation:
    """The customer's automation for one target's peer router (a scenario's `routerAutomation`).

    On `MACsec Key Ready For Router` for its target it reads nothing from the secret (the emulated router's
    keychain holds CKNs only), installs the announced CKN on the router `delay_seconds` later and, if it
    `confirms`, puts `MACsec Router Key Installed` {target, ckn} (or `ckn` instead: a wrong confirmation) on
    the router bus. On `MACsec Key Rolled Back` it drops an install still pending for that CKN; a CKN it
    installed already stays on the router (harmless: Direct Connect no longer has that key)."""

    target: str
    delay_seconds: float
    confirms: bool
    install: Callable[[str, str], None]  # (target, ckn): the peer router gets the CKN now
    put_events: Callable[..., Any]  # an EventBridge client's put_events
    router_bus: str
    participants: Participants
    ckn: str | None = None  # the CKN it confirms, when not the announced one

    def __call__(self, bus: str, event: dict[str, Any]) -> None:
        detail = event.get("detail")
        if bus != DEFAULT_BUS or event.get("source") != WORKFLOW_SOURCE or not isinstance(detail, dict):
            return
        ckn = detail.get("ckn")
        if detail.get("target") != self.target or not isinstance(ckn, str):
            return
        if event.get("detail-type") == KEY_READY:
            self.participants.after(
                self.delay_seconds, lambda: self._install(ckn), key=(self.target, ckn.lower()), name="router"
            )
        elif event.get("detail-type") == KEY_ROLLED_BACK:
            self.participants.cancel((self.target, ckn.lower()))

    def _install(self, ckn: str) -> None:
        self.install(self.target, ckn)
        if not self.confirms:
            return
        answer = self.put_events(
            Entries=[
                {
                    "Source": AUTOMATION_SOURCE,
                    "DetailType": ROUTER_KEY_INSTALLED,
                    "Detail": json.dumps({"target": self.target, "ckn": self.ckn or ckn}),
                    "EventBusName": self.router_bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the confirmation: {answer['Entries']}")


def router_bus(rules: list[Any]) -> str | None:
    """The bus on which the template listens for `MACsec Router Key Installed` (None: it does not)."""
    for rule in rules:
        if ROUTER_KEY_INSTALLED in rule.pattern.get("detail-type", []):
            return str(rule.bus)
    return None
