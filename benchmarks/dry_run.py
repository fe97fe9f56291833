"""Dry-run speed of the workflow against a git ref, and proof that the plan did not change.

Usage:
    .venv/bin/python benchmarks/dry_run.py [--ref main] [--repeat 5] [--split] [--keep DIR]

Exports the ref (``git archive``) and the working tree (tracked and untracked, not ignored
files: uncommitted changes count) into two scratch folders without results, then runs
``snakemake -n -p`` in each for the paper config (``--configfile config/paper.yaml``) and the
toy default, interleaved (ref, tree, ref, tree, ...) ``--repeat`` times so both see the same
machine load. Each run imports the package of its own folder (PYTHONPATH). Prints the median
wall seconds and the median CPU seconds (user + system of the snakemake process) of each, and
the ratios ref / tree measured in this one run.

Then it compares the plans: every job's block of the dry run (rule, input, output, log,
benchmark, wildcards, resources, threads, shell command), without its job id and time stamp,
sorted. "same plan" means the same jobs with byte-identical commands; otherwise the count of
jobs only in one of the two plans and the first few of them are printed.

``--floor`` adds Snakemake's own cost for as many jobs as the paper plan has: a generated
workflow of one rule (one wildcard, a log, a benchmark, one parameter function, a shell
command), dry-run in the same way. No rule file of ours can plan that many jobs in less.

``--split`` adds, for each folder, where the CPU time of one paper dry run goes: Python start
and ``import snakemake.cli``, the parse (Snakefile and every include, config validation and
the package imports done there), the DAG (jobs, input functions, the conda-env pass) and the
scheduler pass that prints the jobs. It times Snakemake's own methods from outside
(wrappers installed before the run); the rest is argument and profile handling.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
CONFIGS = {"paper": ["--configfile", "config/paper.yaml"], "toy": []}
TEMP = "Would remove temporary output"
STAMP = re.compile(r"^\[\w{3} \w{3} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\]$", re.MULTILINE)  # job time stamp

# Run inside the snakemake process by --split: CPU seconds of the phases, printed as one line.
SPLIT = r"""
import sys, time
t0 = time.process_time()
import snakemake.cli as cli
from snakemake import workflow as wf, dag as dagm
from snakemake.scheduling import job_scheduler as js
marks = {"import": time.process_time() - t0}
depth = [0]
def timed(cls, name, label, outer_only=False):
    f = getattr(cls, name)
    def g(*a, **k):
        depth[0] += outer_only
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            depth[0] -= outer_only
            if not (outer_only and depth[0]):
                marks[label] = marks.get(label, 0) + time.process_time() - t
    setattr(cls, name, g)
timed(wf.Workflow, "include", "parse", outer_only=True)
timed(wf.Workflow, "_build_dag", "dag")
timed(dagm.DAG, "update_conda_envs", "dag.conda_envs")
timed(js.JobScheduler, "schedule", "print_jobs")
sys.argv = ["snakemake"] + sys.argv[1:]
try:
    cli.main()
except SystemExit:
    pass
marks["total"] = time.process_time()
print("SPLIT " + " ".join(f"{k}={v:.3f}" for k, v in marks.items()), file=sys.stderr)
"""


def export_ref(ref: str, dest: Path) -> None:
    """The tree of git ``ref`` into ``dest``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")


def export_worktree(dest: Path) -> None:
    """Tracked and untracked (not ignored) files of the working tree into ``dest``."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "-co", "--exclude-standard"],
        check=True, capture_output=True, text=True,
    ).stdout
    for rel in filter(None, listed.split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run(tree: Path, args: list[str], code: str | None = None) -> tuple[float, float, str, str]:
    """(wall s, CPU s, stdout, stderr) of one snakemake dry run in ``tree``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", code, *args] if code else [str(SNAKEMAKE), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"snakemake {' '.join(args)} failed in {tree}:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout, done.stderr


def plan(stdout: str) -> list[str]:
    """The jobs of a ``snakemake -n -p`` output, one normalised block each, sorted: the text
    after each job's time stamp line (a shell command may span lines, blank ones included),
    without the ``jobid:`` line and the closing job statistics. The "Would remove temporary
    output" lines fall between jobs in scheduling order, so they become one sorted block."""
    chunks = STAMP.split(stdout)[1:]
    if chunks:
        chunks[-1] = chunks[-1].split("\nJob stats:")[0].split("\nThis was a dry-run")[0]
    blocks, temps = [], []
    for chunk in chunks:
        lines = []
        for line in chunk.strip("\n").splitlines():
            if line.strip().startswith(TEMP):
                temps.append(line.strip())
            elif not line.strip().startswith("jobid:"):
                lines.append(normal(line))
        blocks.append("\n".join(lines).rstrip("\n"))
    return sorted(blocks) + ["\n".join(sorted(temps))]


def normal(line: str) -> str:
    """A ``reason:`` line with its file lists sorted (Snakemake prints them in set order)."""
    head, sep, rest = line.partition("reason: ")
    if not sep:
        return line
    clauses = []
    for clause in rest.split("; "):
        name, colon, files = clause.partition(": ")
        clauses.append(name + colon + ", ".join(sorted(files.split(", "))) if colon else clause)
    return head + sep + "; ".join(clauses)


def compare(name: str, old: list[str], new: list[str]) -> None:
    if old == new:
        print(f"{name}: same plan ({len(new) - 1} jobs, commands identical)")
        return
    only_old, only_new = sorted(set(old) - set(new)), sorted(set(new) - set(old))
    print(f"{name}: PLAN DIFFERS ({len(old) - 1} -> {len(new) - 1} jobs; {len(only_old)} only in ref, {len(only_new)} only in tree)")
    for label, blocks in (("ref", only_old), ("tree", only_new)):
        for b in blocks[:3]:
            short = "\n".join(x if len(x) < 300 else x[:300] + " ..." for x in b.splitlines())
            print(f"  only in {label}:\n    " + short.replace("\n", "\n    "))


FLOOR = """
rule all:
    input:
        expand("out/{{i}}.txt", i=range({n})),


rule one:
    output:
        "out/{{i}}.txt",
    log:
        "logs/{{i}}.log",
    benchmark:
        "benchmarks/{{i}}.tsv"
    params:
        i=lambda w: w.i,
    shell:
        "echo {{params.i}} > {{output}} 2> {{log}}"
"""


def floor(base: Path, jobs: int, repeat: int) -> None:
    """Dry-run CPU of a one-rule workflow with ``jobs`` jobs (``jobs - 1`` plus ``all``)."""
    tree = base / "floor"
    tree.mkdir(exist_ok=True)
    (tree / "Snakefile").write_text(FLOOR.format(n=jobs - 1))
    runs = [run(tree, ["-n", "-p", "--cores", "1"]) for _ in range(repeat)]
    print(f"\nfloor: a one-rule workflow of {jobs} jobs, median of {repeat}: wall "
          f"{statistics.median(r[0] for r in runs):5.2f} s  CPU {statistics.median(r[1] for r in runs):5.2f} s")
    runs = [run(tree, ["--version"]) for _ in range(repeat)]
    print(f"       snakemake --version (Python start and Snakemake's import): wall "
          f"{statistics.median(r[0] for r in runs):5.2f} s  CPU {statistics.median(r[1] for r in runs):5.2f} s")


def split(trees: dict[str, Path]) -> None:
    print("\nCPU seconds of one paper dry run by phase (--split):")
    rows = {}
    for label, tree in trees.items():
        *_, err = run(tree, ["-n", *CONFIGS["paper"]], code=SPLIT)
        line = next(x for x in err.splitlines() if x.startswith("SPLIT "))
        rows[label] = dict(kv.split("=") for kv in line.split()[1:])
    for key in rows["ref"]:
        old, new = float(rows["ref"][key]), float(rows["tree"].get(key, "nan"))
        print(f"  {key:22s} ref {old:6.2f}  tree {new:6.2f}  ratio {old / new if new else float('nan'):5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ref", default="main", help="git ref to compare against (default main)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (config, tree), interleaved")
    parser.add_argument("--split", action="store_true", help="also split one paper dry run's CPU time by phase")
    parser.add_argument("--floor", action="store_true", help="also time a one-rule workflow with the paper's job count")
    parser.add_argument("--keep", type=Path, help="export the two trees under this folder and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="dry_run_"))
    try:
        measure(args, base)
    finally:
        if not args.keep:
            shutil.rmtree(base)


def measure(args: argparse.Namespace, base: Path) -> None:
    trees = {"ref": base / "ref", "tree": base / "tree"}
    for tree in trees.values():
        tree.mkdir(parents=True, exist_ok=True)
    export_ref(args.ref, trees["ref"])
    export_worktree(trees["tree"])
    times = {(c, t): [] for c in CONFIGS for t in trees}
    plans = {}
    for i in range(args.repeat):
        for config, extra in CONFIGS.items():
            for label, tree in trees.items():
                wall, cpu, out, _ = run(tree, ["-n", "-p", *extra])
                times[config, label].append((wall, cpu))
                if i == 0:
                    plans[config, label] = plan(out)
    print(f"snakemake -n -p, median of {args.repeat} interleaved runs; ref = {args.ref}, tree = working tree")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for config in CONFIGS:
        (w0, c0), (w1, c1) = (
            (statistics.median(x[0] for x in times[config, t]), statistics.median(x[1] for x in times[config, t]))
            for t in trees
        )
        print(f"{config:6s} wall ref {w0:5.2f} s  tree {w1:5.2f} s  ratio {w0 / w1:4.2f} | "
              f"CPU ref {c0:5.2f} s  tree {c1:5.2f} s  ratio {c0 / c1:4.2f}")
    for config in CONFIGS:
        compare(config, plans[config, "ref"], plans[config, "tree"])
    if args.floor:
        floor(base, len(plans["paper", "tree"]) - 1, args.repeat)
    if args.split:
        split(trees)


if __name__ == "__main__":
    main()
