"""benchmarks/timeline.py: idle core time of a Snakemake run read from its log, on a
hand-written log whose idle time is counted by hand below."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from timeline import idle_stretches, log_file, parse  # noqa: E402


def _start(stamp: str, rule: str, jobid: int, threads: int | None = None, local: bool = True) -> str:
    lines = [f"[Mon Nov 30 10:00:{stamp} 2026]", f"{'local' if local else ''}rule {rule}:",
             f"    output: results/{rule}", f"    jobid: {jobid}", f"    wildcards: n={jobid}"]
    if threads:
        lines.append(f"    threads: {threads}")
    return "\n".join(lines) + "\n"


def _end(stamp: str, jobid: int, rule: str) -> str:
    return f"[Mon Nov 30 10:00:{stamp} 2026]\nFinished jobid: {jobid} (Rule: {rule})\n1 of 5 steps (20%) done\n"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    # on 2 cores, by hand: 0-4 s two jobs (no idle); 4-10 s job 1 alone (6 core-s idle);
    # 10-15 s job 3 on 2 threads (none); 15-18 s job 4 alone (3); 18-20 s job 4 and job 5,
    # which never finishes (none): 9 idle core-seconds of 40, wall 20 s
    log = (_start("00", "a", 1) + _start("00", "b", 2, local=False) + _end("04", 2, "b")
           + _end("10", 1, "a") + _start("10", "c", 3, threads=2) + _end("15", 3, "c")
           + _start("15", "d", 4) + _start("18", "e", 5) + _end("20", 4, "d")
           + _start("20", "all", 6) + _end("20", 6, "all"))
    logs = tmp_path / ".snakemake" / "log"
    logs.mkdir(parents=True)
    (logs / "2026-11-30T100000.000000.snakemake.log").write_text("Building DAG of jobs...\n" + log)
    return tmp_path


def test_idle_core_time_of_a_hand_counted_log(run_dir: Path):
    jobs = parse(log_file(run_dir))
    assert sorted(j["rule"] for j in jobs) == ["a", "b", "c", "d", "e"]  # rule all is no job
    wall, idle, stretches = idle_stretches(jobs, cores=2)
    assert wall == 20
    assert idle == 9
    longest = max(stretches, key=lambda s: s[1] - s[0])
    assert longest == (4, 10, 1, ["a[n=1]"])
    assert (15, 18, 1, ["d[n=4]"]) in stretches


def test_a_run_without_a_log_is_a_one_line_error(tmp_path: Path):
    with pytest.raises(SystemExit, match=r"no \.snakemake/log/\*\.snakemake\.log"):
        log_file(tmp_path)
