"""A virtual clock shared by every execution of a local run.

Each thread that does work for an execution is a participant. Time stands still while any
participant is busy; when all of them sleep (a Wait state, a Retry interval, an SDK backoff),
the clock jumps to the earliest wake-up. So an hour of waiting costs no real time, and the order
of events is the order they would have in real time.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: virtual second 0


class Alarm:
    """What a parked participant waits for besides its deadline (an answer, another execution's end).
    `VirtualClock.ring` sets it; a ring that comes before the park is kept, so none is lost."""

    def __init__(self) -> None:
        self.rung = False
        self._entry: list[bool] | None = None  # the parked thread's wake-up flag, while it is parked


class VirtualClock:
    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._elapsed = 0.0
        self._busy = 0
        self._sleepers: list[tuple[float, int, list[bool]]] = []
        self._order = itertools.count()
        self._frozen = False

    # Clock protocol of functions/macsec_rotation/clock.py
    def now(self) -> float:
        return EPOCH + self._elapsed

    def sleep(self, seconds: float) -> None:
        with self._condition:
            woken = [False]
            heapq.heappush(self._sleepers, (self._elapsed + max(0.0, seconds), next(self._order), woken))
            self._busy -= 1
            self._advance_if_idle()
            while not woken[0]:
                self._condition.wait()

    def park(self, seconds: float, alarm: Alarm) -> bool:
        """Sleep like `sleep`, unless `ring(alarm)` comes first (or came already): True when it did.
        The ringer hands participation over in the same step, so time cannot move between the ring
        and this thread going on (the way MapParticipation hands it back to a Map state)."""
        with self._condition:
            if not alarm.rung:
                woken = [False]
                alarm._entry = woken
                heapq.heappush(self._sleepers, (self._elapsed + max(0.0, seconds), next(self._order), woken))
                self._busy -= 1
                self._advance_if_idle()
                while not woken[0]:
                    self._condition.wait()
                alarm._entry = None
            rung, alarm.rung = alarm.rung, False
            return rung

    def ring(self, alarm: Alarm) -> None:
        with self._condition:
            alarm.rung = True
            woken = alarm._entry
            if woken is not None and not woken[0]:
                woken[0] = True  # its heap entry stays, and is skipped: time never jumps to it
                self._busy += 1
                self._condition.notify_all()

    def elapsed(self) -> float:
        return self._elapsed

    def join(self) -> None:
        """A thread starts working for an execution (or for the scenario driver)."""
        with self._condition:
            self._busy += 1

    def leave(self) -> None:
        with self._condition:
            self._busy -= 1
            self._advance_if_idle()

    @contextmanager
    def idle(self) -> Iterator[None]:
        """A participant blocks on something other than the clock (its children, the end of a run)."""
        self.leave()
        try:
            yield
        finally:
            self.join()

    def freeze(self) -> None:
        """The run is over: time never moves again, so whoever still sleeps on this clock (a watcher between two
        ticks) sleeps for good instead of waking into the next run's embedded AWS."""
        with self._condition:
            self._frozen = True

    def _advance_if_idle(self) -> None:
        while self._sleepers and self._sleepers[0][2][0]:  # rung before their time
            heapq.heappop(self._sleepers)
        if self._busy > 0 or not self._sleepers or self._frozen:
            return
        self._elapsed = max(self._elapsed, self._sleepers[0][0])
        while self._sleepers and self._sleepers[0][0] <= self._elapsed:
            _, _, woken = heapq.heappop(self._sleepers)
            if not woken[0]:
                woken[0] = True
                self._busy += 1
        self._condition.notify_all()


class VirtualTimeModule:
    """Stands in for the `time` module inside code that sleeps (moto's retrier, botocore's endpoint)."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock

    def sleep(self, seconds: float) -> None:
        self._clock.sleep(seconds)

    def time(self) -> float:
        return self._clock.now()

    def monotonic(self) -> float:
        return self._clock.now()
