"""The whole toy study, timed: wall time, and per stage the fixed cost of its processes
against the work they do (issue 15).

Usage:
    .venv/bin/python benchmarks/toy_study.py [--cores 2] [--keep DIR]
    .venv/bin/python benchmarks/toy_study.py --from DIR    # a finished run: no new run

Without ``--from`` it copies the workflow (Snakefile, workflow/, config/, resources/, envs/,
profiles/: the workflow profile applies as in the repository) into a scratch directory and
runs the default config there with ``snakemake --cores N``, as ``make reproduce`` does, and
times it. Then, for the run, it reads every Snakemake
benchmark file (``results/benchmarks``: wall and CPU seconds per job) and measures, on the
same machine in the same run, the fixed cost of one process of each kind:

- ``light``: a ``tunesafe`` command that imports no torch (``tunesafe evaluate asr --help``);
- ``torch``: importing torch and transformers and loading the toy aligned model, what every
  generation, training and Safe Delta job does before its first useful operation;
- ``lm_eval``: the same plus importing lm-evaluation-harness.

Each stage's fixed time is its job count times the median fixed cost of its kind (median of
five); its work time is the rest of its measured wall time. Last, from the Snakemake log,
the idle core time of the run and its longest stretches with an idle core
(``benchmarks/timeline.py``). When the run had the process
server (config ``process_server``; its log lists the jobs it ran as forks), a served job
pays only the ``light`` cost (its small client), so every stage is counted as ``light``. This is a model, not a trace:
a job's real start-up can differ (a LoRA job imports peft too), but it shows where the
wall time goes and whether a change removed processes or work.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stage_times import load  # noqa: E402
from timeline import log_file  # noqa: E402
from timeline import report as idle_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LIGHT_STAGES = {"evaluate", "judge"}  # the toy judge is the heuristic backend
LM_EVAL_STAGES = {"lm_eval"}


def run_study(work: Path, cores: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process of the run): the CPU time is the
    children's rusage of Snakemake, which waits for the process server, which reaps every
    job it forked, so it counts all jobs; unlike the wall time it hardly moves when other work
    shares the machine."""
    for item in ["Snakefile", "workflow", "config", "resources", "envs", "profiles"]:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "snakemake"), "--cores", str(cores)], cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{work}: the toy study failed:\n{done.stderr[-3000:]}")
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def median_seconds(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fixed_costs(work: Path) -> dict[str, float]:
    model = work / "results" / "models" / "toy" / "aligned"
    if not model.is_dir():
        sys.exit(f"{model}: no toy aligned model in this run (run the study first)")
    load_model = f"import transformers; transformers.AutoModelForCausalLM.from_pretrained({str(model)!r})"
    return {
        "light": median_seconds([str(BIN / "tunesafe"), "evaluate", "asr", "--help"]),
        "torch": median_seconds([sys.executable, "-c", f"import torch; {load_model}"]),
        "lm_eval": median_seconds([sys.executable, "-c", f"import torch, lm_eval; {load_model}"]),
    }


def kind(stage: str) -> str:
    return "light" if stage in LIGHT_STAGES else "lm_eval" if stage in LM_EVAL_STAGES else "torch"


def served(work: Path) -> bool:
    log = work / "results" / "logs" / "process_server.log"
    return log.is_file() and any(line.startswith("job ") for line in log.read_text().splitlines())


def report(work: Path, wall: float | None, cores: int, cpu: float | None = None) -> None:
    df = load(work / "results" / "benchmarks")
    fixed = fixed_costs(work)
    if served(work):
        print("jobs ran as forks of the process server: each pays the light cost only")
        fixed = dict.fromkeys(fixed, fixed["light"]) | {"server start-up (once)": fixed["torch"]}
    print("fixed cost of one process: " + ", ".join(f"{k} {v:.2f} s" for k, v in fixed.items()))
    by_stage = df.groupby("stage")["seconds"].agg(["count", "sum"]).sort_values("sum", ascending=False)
    total = by_stage["sum"].sum()
    print(f"\n{'stage':24s} {'jobs':>5s} {'wall s':>8s} {'fixed s':>8s} {'work s':>8s} {'fixed %':>8s}")
    all_fixed = 0.0
    for stage, row in by_stage.iterrows():
        stage_fixed = min(row["count"] * fixed[kind(stage)], row["sum"])
        all_fixed += stage_fixed
        print(f"{stage:24s} {int(row['count']):5d} {row['sum']:8.1f} {stage_fixed:8.1f} "
              f"{row['sum'] - stage_fixed:8.1f} {100 * stage_fixed / row['sum']:7.0f}%")
    print(f"{'all benchmarked jobs':24s} {len(df):5d} {total:8.1f} {all_fixed:8.1f} {total - all_fixed:8.1f} "
          f"{100 * all_fixed / total:7.0f}%")
    if wall is not None:
        print(f"\nwall time of the study on --cores {cores}: {wall:.0f} s ({wall / 60:.1f} min); "
              f"benchmarked job time / cores = {total / cores:.0f} s")
    if cpu is not None:
        print(f"CPU time of all its processes: {cpu:.0f} s ({cpu / cores:.0f} s per core); "
              f"load average at the end {os.getloadavg()[0]:.1f}")
    print()
    idle_report(log_file(work), cores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--from", dest="source", type=Path, help="a directory with a finished run (no new run)")
    parser.add_argument("--keep", type=Path, help="run in this directory and keep it")
    args = parser.parse_args()
    if args.source:
        report(args.source, None, args.cores)
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="tunesafe-toy-study-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        wall, cpu = run_study(work, args.cores)
        report(work, wall, args.cores, cpu)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
