"""tunesafe.scheduling: Snakemake's pending re-selection timers are cancelled when a run
ends, so that the interpreter does not wait for them (the workflow profile's long
max-jobs-per-timespan)."""

from __future__ import annotations

import threading
import time

from tunesafe.scheduling import cancel_timers


def test_pending_timers_are_cancelled_and_never_fire():
    fired = []
    timers = [threading.Timer(1000, fired.append, args=[i]) for i in range(3)]
    for timer in timers:
        timer.daemon = True  # a failing test must not hold pytest at exit
        timer.start()
    other = threading.Thread(target=time.sleep, args=(0.2,))  # not a timer: left alone
    other.start()
    start = time.perf_counter()
    assert cancel_timers() >= 3
    for timer in timers:
        timer.join(timeout=5)
        assert not timer.is_alive()
    assert time.perf_counter() - start < 5
    assert fired == []
    other.join()
