"""Idle cores of one Snakemake run, read from its log: when did fewer jobs run than there
were cores, and which jobs ran alone then (the critical path of the toy study, issue 15).

Usage:
    .venv/bin/python benchmarks/timeline.py [DIR] [--cores 2] [--top 8]

DIR is a workflow directory after a run (its newest ``.snakemake/log/*.snakemake.log`` is
read) or a log file. Each job's start is the timestamp above its ``rule ...:`` block and its
end the timestamp above ``Finished jobid: N``; the log has one-second resolution, so a job
shorter than a second counts as zero. A job holds ``threads`` cores (1 when the log shows
none), at most ``--cores``. Printed: wall time, busy and idle core-seconds, and the longest
stretches with an idle core together with the jobs that ran in them.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime
from pathlib import Path

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
RULE = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
THREADS = re.compile(r"^\s+threads: (\d+)$")
WILDCARDS = re.compile(r"^\s+wildcards: (.+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+)")


def log_file(source: Path) -> Path:
    if source.is_file():
        return source
    logs = sorted((source / ".snakemake" / "log").glob("*.snakemake.log"))
    if not logs:
        sys.exit(f"{source}: no .snakemake/log/*.snakemake.log (run the workflow there first)")
    return logs[-1]


def parse(path: Path) -> list[dict]:
    """One dict per job: rule, label, start and end (seconds from the first stamp; the last
    stamp for a job that never finished), threads."""
    jobs: dict[str, dict] = {}
    now = origin = None
    rule = None
    current: dict | None = None
    for line in path.read_text().splitlines():
        if m := STAMP.match(line):
            now = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").timestamp()
            origin = now if origin is None else origin
        elif m := RULE.match(line):
            rule = m.group(1)
        elif (m := JOBID.match(line)) and rule and now is not None:
            current = jobs[m.group(1)] = {"rule": rule, "label": rule, "start": now - origin, "threads": 1}
            rule = None
        elif (m := THREADS.match(line)) and current:
            current["threads"] = int(m.group(1))
        elif (m := WILDCARDS.match(line)) and current:
            current["label"] = f"{current['rule']}[{m.group(1)}]"
        elif (m := FINISHED.match(line)) and m.group(1) in jobs and now is not None:
            jobs[m.group(1)]["end"] = now - origin
            current = None
    last = now - origin if now is not None and origin is not None else 0.0
    for job in jobs.values():  # still running when the log ends (a run in progress or killed)
        job.setdefault("end", last)
    return [j for j in jobs.values() if j["rule"] != "all"]


def idle_stretches(jobs: list[dict], cores: int) -> tuple[float, float, list[tuple[float, float, int, list[str]]]]:
    """(wall, idle core-seconds, stretches (start, end, idle cores, labels running))."""
    edges = sorted({j["start"] for j in jobs} | {j["end"] for j in jobs})
    idle, stretches = 0.0, []
    for a, b in zip(edges, edges[1:], strict=False):
        running = [j for j in jobs if j["start"] <= a and j["end"] >= b and j["end"] > j["start"]]
        free = cores - min(cores, sum(min(j["threads"], cores) for j in running))
        if free <= 0:
            continue
        idle += free * (b - a)
        labels = sorted(j["label"] for j in running)
        if stretches and stretches[-1][1] == a and stretches[-1][3] == labels and stretches[-1][2] == free:
            stretches[-1] = (stretches[-1][0], b, free, labels)
        else:
            stretches.append((a, b, free, labels))
    wall = max(j["end"] for j in jobs) if jobs else 0.0
    return wall, idle, stretches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=Path("."))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--top", type=int, default=8, help="longest idle stretches shown")
    args = parser.parse_args()
    report(log_file(args.source), args.cores, args.top)


def report(path: Path, cores: int, top: int = 8) -> None:
    jobs = parse(path)
    if not jobs:
        sys.exit(f"{path}: no finished jobs in this log")
    wall, idle, stretches = idle_stretches(jobs, cores)
    print(f"{path.name}: {len(jobs)} jobs, wall {wall:.0f} s on {cores} cores; "
          f"idle {idle:.0f} core-s ({100 * idle / max(cores * wall, 1):.0f}% of {cores * wall:.0f})")
    for a, b, free, labels in sorted(stretches, key=lambda s: s[0] - s[1])[:top]:
        print(f"  {a:6.0f}-{b:6.0f} s ({b - a:4.0f} s) {free} core(s) idle; running: {', '.join(labels) or 'none'}")


if __name__ == "__main__":
    main()
