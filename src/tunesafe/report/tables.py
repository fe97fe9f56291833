"""Tables: metrics files to ``results/tables/<name>.{csv,md}``.

Values are shown in percent, as the papers report them. A table that reproduces a paper
table puts the paper's numbers beside ours (:mod:`tunesafe.report.paper`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tunesafe.errors import TunesafeError
from tunesafe.evaluation.registry import METRIC_INFO
from tunesafe.io import atomic_path, read_json

# metric key in a metrics file -> (column title, factor), in column order, from the metric
# registry: shares in 0..1 are shown in percent; judge scores on their own scale (HS 1-5,
# MT-Bench 1-10).
HEADLINE = {info.key: (info.title, info.scale) for _, info in METRIC_INFO.items()}
VARIANT_LABELS = {"original": "Original", "finetuned": "Fine-tuned", "safeinstr": "SafeInstr", "bea": "BEA",
                  "lora": "LoRA", "safelora": "Safe LoRA", "resta": "Resta", "safedelta": "Safe Delta",
                  "safedelta_noscv": "Safe Delta w/o SCV", "lora_safedelta": "LoRA + Safe Delta"}


def column_name(key: str, metrics: dict) -> str:
    """The column of metric ``key``; a heuristic judge's numbers are labelled as such."""
    column = HEADLINE[key][0]
    return f"{column} (heuristic judge)" if metrics.get("judge") == "heuristic" else column


def headline(metrics: dict, path: Path) -> tuple[str, float]:
    """The (column, value) a metrics file contributes to a table (shares in percent)."""
    for key, (_, factor) in HEADLINE.items():
        if key in metrics:
            value = metrics[key]
            return column_name(key, metrics), (None if value is None else round(factor * value, 2 if factor == 1 else 1))
    raise TunesafeError(f"{path}: no headline metric (expected one of {sorted(HEADLINE)})")


def write_table(df: pd.DataFrame, prefix: str | Path, floatfmt: str = ".1f") -> tuple[Path, Path]:
    """Write ``df`` as ``<prefix>.csv`` and ``<prefix>.md`` (atomically)."""
    prefix = Path(prefix)
    csv, md = prefix.with_suffix(".csv"), prefix.with_suffix(".md")
    with atomic_path(csv) as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(md) as tmp:
        tmp.write_text(to_markdown(df, floatfmt) + "\n")
    return csv, md


def to_markdown(df: pd.DataFrame, floatfmt: str = ".1f") -> str:
    """Markdown with one decimal (or ``floatfmt``); a metric a row does not have shows as a dash."""
    return df.astype(object).where(df.notna(), None).to_markdown(index=False, floatfmt=floatfmt, missingval="–")


def metrics_table(root: str | Path, tasks: dict[str, list[str]], variants: list[str],
                  paper: dict | None = None) -> pd.DataFrame:
    """One row per (task, variant); one column per headline metric found.

    ``tasks`` maps a task to its benchmarks; ``root/<task>/<variant>/<benchmark>.json``
    must exist for each combination. ``paper`` ({task: {variant: {column: value}}}, from
    ``resources/paper_numbers.yaml``) adds "Paper <column>" columns where the paper reports them.
    """
    root = Path(root)
    rows = []
    for task, benchmarks in tasks.items():
        for v in variants:
            row = {"Task": task, "Model": VARIANT_LABELS.get(v, v)}
            for b in benchmarks:
                path = root / task / v / f"{b}.json"
                column, value = headline(read_json(path), path)
                if column in row:  # a second benchmark of the same metric (AdvBench after HEx-PHI ASR)
                    column = f"{column} [{b}]"
                row[column] = value
            for column, value in ((paper or {}).get(task, {}).get(v) or {}).items():
                row[f"Paper {column}"] = value
            rows.append(row)
    df = pd.DataFrame(rows)
    order = [c for c in df.columns if c not in ("Task", "Model")]
    rank = {title: i for i, (title, _) in enumerate(HEADLINE.values())}
    order.sort(key=lambda c: (rank.get(c.removeprefix("Paper ").split(" [")[0].removesuffix(" (heuristic judge)"), 99),
                              c.startswith("Paper ")))
    return df[["Task", "Model", *order]]
