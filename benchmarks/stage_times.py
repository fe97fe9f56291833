"""Summarise the Snakemake benchmark files of one run: seconds per stage and shares.

Usage: python benchmarks/stage_times.py [results/benchmarks]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def load(root: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted(root.rglob("*.tsv")):
        job = tsv.relative_to(root).with_suffix("").as_posix()
        stats = pd.read_csv(tsv, sep="\t").iloc[-1]
        rows.append({"job": job, "stage": job.split("/")[0].removeprefix("toy_") if "/" in job else job,
                     "seconds": float(stats["s"]), "max_rss_mb": float(stats["max_rss"])})
    if not rows:
        sys.exit(f"{root}: no benchmark files (run the workflow first)")
    return pd.DataFrame(rows)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/benchmarks")
    df = load(root)
    total = df["seconds"].sum()
    print(df.to_markdown(index=False, floatfmt=".1f"))
    toy = df[df["job"].str.startswith("toy_")]["seconds"].sum()
    print()
    groups = {"toy model build (base + aligned)": toy}
    for stage in ("finetune", "generate", "evaluate"):
        part = df[df["job"].str.startswith(stage + "/")]["seconds"]
        if len(part):
            groups[f"{stage}: {len(part)} jobs, mean per job"] = part.mean()
            groups[f"{stage}: all jobs"] = part.sum()
    for name, seconds in groups.items():
        print(f"{name:45s} {seconds:8.1f} s  ({100 * seconds / total:5.1f}% of the benchmarked total {total:.0f} s)")


if __name__ == "__main__":
    main()
