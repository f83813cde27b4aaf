"""The one source of time for the runtime code.

In Lambda it is the wall clock. The local runner swaps in a virtual clock (``use``) so that an
hour-long rotation runs in seconds and every wait is counted in virtual time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_current: Clock = SystemClock()


def now() -> float:
    return _current.now()


def sleep(seconds: float) -> None:
    _current.sleep(seconds)


def use(clock: Clock) -> Clock:
    """Make ``clock`` the source of time; returns the previous one so it can be put back."""
    global _current
    previous, _current = _current, clock
    return previous
