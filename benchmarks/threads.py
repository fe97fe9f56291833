"""`threads: 2` against `threads: 1` for the toy study on this machine, in one run.

Usage:
    .venv/bin/python benchmarks/threads.py [--study small|tiny] [--cores 2] [--threads 2 1] [--keep DIR]

Runs a toy study through Snakemake in one fresh scratch copy of the repository per thread
count, one after the other, with the same `--cores`: `small` (default) is the study of
tests/test_workflow.py (the shipped toy world, smaller sets and sweeps, 176 jobs); `tiny` is
the one of tests/test_slurm.py (a shrunk toy world, one fine-tune, Safe Delta and the safety
evaluation of its result, 18 jobs). Prints each run's wall time, the ratio to the first
run, and which result tables (results/tables/*.csv) differ between the runs. Torch's
reductions split their work by thread count, so the last bits of a float sum may change with
it; a table that differs says that the study's numbers depend on `threads`.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
sys.path.insert(0, str(ROOT / "tests"))
from test_slurm import TARGET, tiny_toy_config  # noqa: E402
from test_workflow import small_toy_config  # noqa: E402

STUDIES = {"small": (small_toy_config, []), "tiny": (tiny_toy_config, [TARGET])}


def study(work: Path, name: str, overrides: dict, cores: int) -> float:
    """Run toy study ``name`` in ``work`` with the config keys ``overrides``; its wall seconds."""
    for item in ["Snakefile", "workflow", "config", "resources", "envs"]:
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    make_config, targets = STUDIES[name]
    config = make_config()
    config.update(overrides)
    (work / "small.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    start = time.perf_counter()
    run = subprocess.run([SNAKEMAKE, *targets, "--cores", str(cores), "--configfile", "small.yaml"], cwd=work,
                         capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{work}: snakemake failed with {overrides}:\n{run.stderr[-3000:]}")
    return wall


def compare(first: Path, other: Path) -> None:
    """Print which result tables and metric files differ between two runs."""
    for kind in ("tables", "metrics"):
        files = sorted(str(p.relative_to(first / "results" / kind))
                       for p in (first / "results" / kind).rglob("*") if p.is_file())
        differ = [f for f in files if not filecmp.cmp(first / "results" / kind / f,
                                                      other / "results" / kind / f, shallow=False)]
        print(f"results/{kind}: {len(files)} files, differing: {', '.join(differ) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", choices=sorted(STUDIES), default="small")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--keep", type=Path, help="build the studies under this folder and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="threads_bench_"))
    walls, dirs = {}, {}
    for threads in args.threads:
        dirs[threads] = base / f"threads{threads}"
        dirs[threads].mkdir(parents=True)
        walls[threads] = study(dirs[threads], args.study, {"threads": threads}, args.cores)
        print(f"threads={threads} --cores {args.cores}: {walls[threads]:.0f} s", flush=True)
    first = args.threads[0]
    for threads in args.threads[1:]:
        print(f"ratio threads={threads} / threads={first}: {walls[threads] / walls[first]:.2f}")
        compare(dirs[first], dirs[threads])
    if not args.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
