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
