"""Snakemake's re-selection timers, stopped when a run ends (issue 15).

On every scheduling round Snakemake's job scheduler starts a ``threading.Timer`` of its
rate limit's timespan (``--max-jobs-per-timespan``, default 100/1s) that starts one more
round when it fires, and that round starts another timer. Every job that finishes starts a
round too, so a run of N jobs ends up with up to N timer chains, each re-selecting among all
ready jobs once per timespan: with the 1-second default, 10-25% of a core for the scheduler
alone during the toy study (``benchmarks/toy_study.py``). The workflow profile therefore
sets a long timespan (``profiles/default``; the same rate of 100 jobs a second), and rounds
come from finished jobs as before. The timers are not daemon threads, so the interpreter
would wait for the last of them before Snakemake exits: :func:`cancel_timers` (the
Snakefile's ``onsuccess`` and ``onerror``) cancels them once no round can follow.
"""

from __future__ import annotations

import threading


def cancel_timers() -> int:
    """Cancel every pending ``threading.Timer`` of this process; returns how many."""
    timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer) and t.is_alive()]
    for timer in timers:
        timer.cancel()
    return len(timers)
