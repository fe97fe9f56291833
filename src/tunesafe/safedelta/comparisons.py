"""The Safe Delta paper's figures and the time-cost table (arXiv 2505.12038), made by
``tunesafe report sweep|asr-vs-size|pareto|time-cost`` (parsed in :mod:`tunesafe.safedelta.cli`).

- :func:`sweep_points` / :func:`sweep_figure`: the scale sweep, ASR against utility for each
  s of Safe Delta, with the Original and Fine-tuned models marked.
- :func:`size_points` / :func:`size_figure`: Fig. 1 (left) / Exp. 3, ASR against the number
  of PureBad examples for Fine-tuned, SafeInstr, BEA and Safe Delta, the Original as a line,
  the paper's values (read off the figure, approximate) dashed beside ours.
- :func:`pareto_points` / :func:`pareto_figure`: Fig. 5, Identity Shift ASR (x) against Dirty
  Summary ROUGE-1 F1 (y), one curve per method's sweep (Safe LoRA threshold, Resta
  coefficient, Safe Delta s), single points for the methods without a knob.
- :func:`time_cost`: Exp. 10, the extra time each method adds to one fine-tune, from the
  Snakemake benchmark files (``s`` column), and its one-off cost (Hessians, unaligned model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tunesafe.errors import TunesafeError
from tunesafe.io import read_json, require_file
from tunesafe.report.figures import plt, save_figure
from tunesafe.report.tables import VARIANT_LABELS, headline

COLORS = {"Original": "tab:blue", "Fine-tuned": "tab:red", "SafeInstr": "tab:orange", "BEA": "tab:purple",
          "Safe LoRA": "tab:brown", "Resta": "tab:pink", "Safe Delta": "tab:green"}


def _metric(root: Path, task: str, variant: str, benchmark: str) -> tuple[str, float]:
    path = root / task / variant / f"{benchmark}.json"
    return headline(read_json(path), path)


def size_points(root: str | Path, task: str, sizes: list[int], methods: list[str], benchmark: str = "safety",
                paper: dict | None = None) -> pd.DataFrame:
    """(Model, Size, ASR, Paper ASR) for each method at each size; the Original at size 0."""
    root = Path(root)
    rows = [{"Model": "Original", "Size": 0, "ASR (%)": _metric(root, task, "original", benchmark)[1],
             "Paper ASR (%, approx.)": (paper or {}).get("original")}]
    for method in methods:
        label = VARIANT_LABELS.get(method, method)
        for i, n in enumerate(sizes):
            values = (paper or {}).get(method) or []
            rows.append({"Model": label, "Size": n, "ASR (%)": _metric(root, f"{task}_n{n}", method, benchmark)[1],
                         "Paper ASR (%, approx.)": values[i] if i < len(values) else None})
    return pd.DataFrame(rows)


def size_figure(df: pd.DataFrame, prefix: str | Path) -> None:
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    original = df[df["Model"] == "Original"].iloc[0]
    ax.axhline(original["ASR (%)"], color=COLORS["Original"], label="Original")
    for label, part in df[df["Model"] != "Original"].groupby("Model", sort=False):
        color = COLORS.get(label)
        ax.plot(part["Size"], part["ASR (%)"], "o-", color=color, label=label)
        paper = part.dropna(subset=["Paper ASR (%, approx.)"])
        if len(paper):
            ax.plot(paper["Size"], paper["Paper ASR (%, approx.)"], "--", color=color, alpha=0.45, lw=1)
    if pd.notna(original["Paper ASR (%, approx.)"]):
        ax.axhline(original["Paper ASR (%, approx.)"], color=COLORS["Original"], ls="--", alpha=0.45, lw=1)
    ax.plot([], [], "k--", alpha=0.45, lw=1, label="paper (approx.)")
    ax.set_xlabel("harmful fine-tuning examples")
    ax.set_ylabel("ASR (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(sorted(df.loc[df["Size"] > 0, "Size"].unique()))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, prefix)


def pareto_points(root: str | Path, x_task: str, x_benchmark: str, y_task: str, y_benchmark: str,
                  single: list[str], sweeps: dict[str, list[str]]) -> pd.DataFrame:
    """(Model, setting, x = ASR on x_task, y = utility on y_task) per variant. A sweep knob is
    ``K`` (the variant ``<method>-sK``) or ``K=VARIANT`` (the point is that variant's, e.g. the
    method's default setting, which the tables already evaluate)."""
    root = Path(root)
    rows = []
    variants = [(v, VARIANT_LABELS.get(v, v), None) for v in single]
    for m, knobs in sweeps.items():
        for k in knobs:
            knob, _, variant = str(k).partition("=")
            variants.append((variant or f"{m}-s{knob}", VARIANT_LABELS.get(m, m), float(knob)))
    for variant, label, knob in variants:
        x_col, x = _metric(root, x_task, variant, x_benchmark)
        y_col, y = _metric(root, y_task, variant, y_benchmark)
        rows.append({"Model": label, "Setting": knob, f"{x_task} {x_col}": x, f"{y_task} {y_col}": y})
    return pd.DataFrame(rows)


def pareto_figure(df: pd.DataFrame, prefix: str | Path) -> None:
    x_col, y_col = df.columns[2], df.columns[3]
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    for label, part in df.groupby("Model", sort=False):
        part = part.sort_values(x_col)
        style = "o-" if part["Setting"].notna().any() else "s"
        ax.plot(part[x_col], part[y_col], style, color=COLORS.get(label), label=label, ms=6)
        for _, r in part.dropna(subset=["Setting"]).iterrows():
            ax.annotate(f"{r['Setting']:g}", (r[x_col], r[y_col]), textcoords="offset points", xytext=(3, 3),
                        fontsize=6)
    ax.set_xlabel(x_col)
    ax.set_ylabel(y_col)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("safety (left is safer) vs utility (up is better)", fontsize=8)
    fig.tight_layout()
    save_figure(fig, prefix)


def _seconds(path: str | Path) -> float:
    """Wall seconds of a Snakemake benchmark file (column ``s``; the mean over repeats)."""
    df = pd.read_csv(require_file(path, "Snakemake benchmark file"), sep="\t")
    if "s" not in df.columns or df.empty:
        raise TunesafeError(f"{path}: expected a Snakemake benchmark file with an 's' column")
    return float(df["s"].mean())


def time_cost(spec: dict[str, Any]) -> pd.DataFrame:
    """Extra seconds per fine-tune and one-off seconds per method.

    ``spec``: ``{"tasks": [...], "finetune": pattern, "methods": [{"label", "train"?: pattern,
    "post"?: pattern or {task: path}, "once"?: [paths]}]}``, patterns holding ``{task}``. ``train``: the
    method changes the fine-tune itself (extra = its time - the plain fine-tune's);
    ``post``: a step after the fine-tune (extra = its time).
    """
    tasks = spec["tasks"]
    finetune = sum(_seconds(spec["finetune"].format(task=t)) for t in tasks) / len(tasks)
    rows = [{"Method": "Fine-tuned", "Fine-tune (s)": round(finetune, 1), "Extra per fine-tune (s)": 0.0,
             "Extra (% of fine-tune)": 0.0, "One-off (s)": 0.0}]
    for m in spec["methods"]:
        if "train" in m:
            extra = sum(_seconds(m["train"].format(task=t)) - _seconds(spec["finetune"].format(task=t))
                        for t in tasks) / len(tasks)
        else:
            post = m["post"]  # a pattern with {task}, or task -> path (Safe Delta's s is per task)
            extra = sum(_seconds(post[t] if isinstance(post, dict) else post.format(task=t)) for t in tasks) / len(tasks)
        once = sum(_seconds(p) for p in m.get("once", []))
        rows.append({"Method": m["label"], "Fine-tune (s)": round(finetune, 1), "Extra per fine-tune (s)": round(extra, 1),
                     "Extra (% of fine-tune)": round(100 * extra / finetune, 1), "One-off (s)": round(once, 1)})
    return pd.DataFrame(rows)


def sweep_points(root: str | Path, tasks: dict[str, list[str]], scales: list[str]) -> pd.DataFrame:
    """(task, model, scale, ASR, utility) for Original, Fine-tuned and Safe Delta at each s."""
    root = Path(root)
    rows = []
    variants = [("original", "Original", None), ("finetuned", "Fine-tuned", None)]
    variants += [(f"safedelta-s{s}", "Safe Delta", float(s)) for s in scales]
    for task, benchmarks in tasks.items():
        for variant, label, scale in variants:
            row = {"Task": task, "Model": label, "s": scale}
            for b in benchmarks:
                path = root / task / variant / f"{b}.json"
                column, value = headline(read_json(path), path)
                row["ASR (%)" if column == "ASR (%)" else "Utility (%)"] = value
                if column != "ASR (%)":
                    row["Utility metric"] = column
            rows.append(row)
    return pd.DataFrame(rows)


def sweep_figure(df: pd.DataFrame, prefix: str | Path) -> None:
    """One panel per task: ASR against utility, one point per s, Original and Fine-tuned marked."""
    tasks = list(df["Task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        part = df[df["Task"] == task]
        sd = part[part["Model"] == "Safe Delta"].sort_values("s")
        ax.plot(sd["Utility (%)"], sd["ASR (%)"], "o-", color="tab:green", label="Safe Delta (s)")
        for _, r in sd.iterrows():
            ax.annotate(f"{r['s']:g}", (r["Utility (%)"], r["ASR (%)"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)
        for label, marker, color in [("Original", "s", "tab:blue"), ("Fine-tuned", "^", "tab:red")]:
            r = part[part["Model"] == label].iloc[0]
            ax.scatter([r["Utility (%)"]], [r["ASR (%)"]], marker=marker, s=60, color=color, label=label, zorder=3)
        ax.set_xlabel(part["Utility metric"].dropna().iloc[0] if "Utility metric" in part else "Utility (%)")
        ax.set_ylabel("ASR (%)")
        ax.set_ylim(bottom=0)
        ax.set_title(task)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, prefix)
