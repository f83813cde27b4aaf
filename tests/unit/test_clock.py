"""The virtual clock: time moves only when every participant sleeps, to the earliest wake-up."""

from __future__ import annotations

import threading

from local.clock import VirtualClock


def test_time_jumps_to_the_earliest_wake_up_only_when_everyone_sleeps() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    def sleeper(name: str, seconds: float) -> None:
        clock.sleep(seconds)
        woke.append((name, clock.elapsed()))
        clock.leave()

    clock.join()  # this test's thread is busy: nothing may move
    threads = []
    for name, seconds in (("long", 3600.0), ("short", 30.0)):
        clock.join()
        threads.append(threading.Thread(target=sleeper, args=(name, seconds)))
        threads[-1].start()
    threading.Event().wait(0.05)
    assert clock.elapsed() == 0.0 and woke == []
    clock.leave()  # now everyone sleeps
    for thread in threads:
        thread.join(timeout=5)
    assert woke == [("short", 30.0), ("long", 3600.0)]


def test_a_participant_that_waits_for_something_else_lets_time_move() -> None:
    clock = VirtualClock()
    clock.join()
    with clock.idle():
        clock.join()
        clock.sleep(90)  # alone now: returns at once, an hour and a half later in virtual time
        clock.leave()
    assert clock.elapsed() == 90.0


def test_a_frozen_clock_never_wakes_a_sleeper() -> None:
    """The end of a run: a watcher sleeping between two ticks must not wake into the next run's embedded AWS."""
    clock = VirtualClock()
    woke: list[float] = []

    def watcher() -> None:
        clock.sleep(4)
        woke.append(clock.elapsed())

    clock.join()  # the driver
    clock.join()  # on the watcher's behalf
    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    threading.Event().wait(0.05)
    clock.freeze()
    clock.leave()  # the driver leaves: without the freeze, time would jump to the watcher's tick
    thread.join(timeout=0.5)
    assert thread.is_alive() and woke == [] and clock.elapsed() == 0.0
