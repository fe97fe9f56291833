"""Rebound table and figures (arXiv 2406.06144, Sec. 5.2-5.3, Fig. 4-6, Table 3).

:func:`rebound_table` collects the per-cell metrics files of the grid (model, task, n_pos,
n_neg, seed) into one row per (model, task, n_pos, n_neg): mean, standard deviation, min
and max of the score over seeds, and the mean KL to the base model. On the n_neg = 0 rows
it adds Table 3's measure: the KL after the positive SFT and the negative examples needed
to bring the (seed-mean) KL below epsilon (:func:`tunesafe.rebound.kl.needed_examples`),
the smallest seed-mean KL over the n_neg grid and where it is reached (negatives can pull a
model back towards the base and then past it), with the paper's values beside them. :func:`rebound_figure` draws score vs n_neg, one curve
per n_pos, the min-max spread over seeds shaded, one panel per model (the paper's rebound
figure per positive amount). :func:`factor_figure` draws the same curves with one curve per
model of a factor and one panel per n_pos: the paper's figures against model size and
against pre-training amount (Sec. 5.3: larger or longer pre-trained models rebound more).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from tunesafe.errors import TunesafeError  # noqa: E402
from tunesafe.io import atomic_path, read_json  # noqa: E402
from tunesafe.rebound.kl import needed_examples  # noqa: E402

KEYS = ["Model", "Task", "n_pos", "n_neg"]
PAPER_EPSILON = 0.01  # Table 3's KL threshold (arXiv 2406.06144, Sec. 5.3)


def cells_frame(paths: list[str | Path]) -> pd.DataFrame:
    """One row per metrics file: Model, Task, n_pos, n_neg, seed, score, kl."""
    rows = []
    for path in paths:
        m = read_json(path)
        rows.append({"Model": m["model"], "Task": m["task"], "n_pos": int(m["n_pos"]), "n_neg": int(m["n_neg"]),
                     "seed": int(m["seed"]), "score": m["score"], "kl": m.get("kl_to_base")})
    return pd.DataFrame(rows)


def rebound_table(cells: pd.DataFrame, epsilon: float = 0.01, paper: dict[str, Any] | None = None) -> pd.DataFrame:
    """The grid table with Table 3's columns on the n_neg = 0 rows (see the module docstring)."""
    g = cells.groupby(KEYS, sort=True)
    df = pd.DataFrame({
        "Score mean": g["score"].mean(), "Score std": g["score"].std(ddof=0), "Score min": g["score"].min(),
        "Score max": g["score"].max(), "Seeds": g["seed"].nunique(), "KL to base": g["kl"].mean(),
    }).reset_index()
    df["KL after positive SFT"] = None
    df["Needed n_neg (KL<eps)"] = None
    df["Min KL"] = None
    df["Min KL at n_neg"] = None
    df["Paper KL"] = None
    df["Paper needed n_neg"] = None
    paper = paper or {}
    for (model, _task, n_pos), part in df.groupby(["Model", "Task", "n_pos"]):
        part = part.sort_values("n_neg")
        first = part.index[0]
        if part.loc[first, "n_neg"] == 0:
            df.loc[first, "KL after positive SFT"] = part.loc[first, "KL to base"]
        need = needed_examples(part["n_neg"].tolist(), part["KL to base"].tolist(), epsilon)
        df.loc[first, "Needed n_neg (KL<eps)"] = "not reached" if need is None else round(need, 1)
        low = part["KL to base"].astype(float).idxmin()  # how close the negatives bring it back
        df.loc[first, "Min KL"] = round(float(part.loc[low, "KL to base"]), 4)
        df.loc[first, "Min KL at n_neg"] = int(part.loc[low, "n_neg"])
        ref = paper.get(model, {}).get(str(n_pos)) or paper.get(model, {}).get(n_pos) or {}
        df.loc[first, "Paper KL"] = ref.get("kl")
        df.loc[first, "Paper needed n_neg"] = ref.get("needed")
    for col in ["Score mean", "Score std", "Score min", "Score max"]:
        df[col] = (100 * df[col]).round(1)
    df["KL to base"] = df["KL to base"].astype(float).round(4)
    df["KL after positive SFT"] = df["KL after positive SFT"].map(lambda v: None if v is None else round(float(v), 4))
    return df.rename(columns={c: f"{c} (%)" for c in ["Score mean", "Score std", "Score min", "Score max"]})


def paper_note(paper: dict[str, Any], epsilon: float) -> str:
    """Markdown lines with the paper's Table 3 values (shown under the table for any model);
    the paper's counts are for its own epsilon, which can differ from ours (``epsilon``)."""
    lines = []
    for model, by_n in paper.items():
        values = "; ".join(f"n_pos {n}: KL {v.get('kl')}, {v.get('needed')} negatives" for n, v in by_n.items())
        lines.append(f"\nPaper, Table 3 ({model}, KL to the base after the positive SFT and negative examples "
                     f"needed to bring it below {PAPER_EPSILON}; ours: below {epsilon}): {values}.\n")
    return "".join(lines)


def _curve(ax, part: pd.DataFrame, label: str) -> list[tuple[int, float]]:
    """Seed-mean score (%) vs n_neg with the min-max band over seeds; the plotted points."""
    g = part.groupby("n_neg")["score"]
    x = g.mean().index.to_numpy()
    line, = ax.plot(x, 100 * g.mean().to_numpy(), "o-", ms=3, label=label)
    ax.fill_between(x, 100 * g.min().to_numpy(), 100 * g.max().to_numpy(), color=line.get_color(), alpha=0.2)
    return [(int(n), float(100 * v)) for n, v in g.mean().items()]


def _axes_style(ax, n_neg: pd.Series, title: str) -> None:
    positive = n_neg[n_neg > 0]
    ax.set_xscale("symlog", linthresh=max(1, int(positive.min())) if len(positive) else 1)
    ax.set_xlabel("negative examples n_neg")
    ax.set_ylabel("positive share of generations (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _save(fig, prefix: str | Path) -> None:
    fig.tight_layout()
    prefix = Path(prefix)
    for ext in ("pdf", "png"):
        with atomic_path(prefix.with_suffix(f".{ext}")) as tmp:
            fig.savefig(tmp, format=ext, dpi=150)
    plt.close(fig)


def factor_figure(cells: pd.DataFrame, task: str, factor: str, models: list[str],
                  prefix: str | Path) -> dict[tuple[int, str], list[tuple[int, float]]]:
    """Score (%) vs n_neg, one curve per model of ``models`` (in that order), a panel per n_pos.

    Returns the plotted curves: (n_pos, model) -> [(n_neg, seed-mean score %), ...].
    """
    part = cells[(cells["Task"] == task) & cells["Model"].isin(models)]
    missing = [m for m in models if m not in set(part["Model"])]
    if missing:
        raise TunesafeError(f"factor {factor}: no {task} cells of model(s) {missing}")
    n_pos_values = sorted(part["n_pos"].unique())
    fig, axes = plt.subplots(1, len(n_pos_values), figsize=(4.4 * len(n_pos_values), 3.6), squeeze=False)
    curves = {}
    for ax, n_pos in zip(axes[0], n_pos_values, strict=True):
        for model in models:
            curves[(int(n_pos), model)] = _curve(ax, part[(part["Model"] == model) & (part["n_pos"] == n_pos)], model)
        _axes_style(ax, part["n_neg"], f"{task}, n_pos={n_pos}: by {factor}")
    _save(fig, prefix)
    return curves


def rebound_figure(cells: pd.DataFrame, task: str, prefix: str | Path) -> None:
    """Score (%) vs n_neg, one curve per n_pos, min-max over seeds shaded; a panel per model."""
    part = cells[cells["Task"] == task]
    models = list(dict.fromkeys(part["Model"]))
    fig, axes = plt.subplots(1, max(1, len(models)), figsize=(4.4 * max(1, len(models)), 3.6), squeeze=False)
    for ax, model in zip(axes[0], models, strict=False):
        m = part[part["Model"] == model]
        for n_pos in sorted(m["n_pos"].unique()):
            _curve(ax, m[m["n_pos"] == n_pos], f"n_pos={n_pos}")
        _axes_style(ax, m["n_neg"], f"{model}: {task}")
    _save(fig, prefix)


def write_report(metrics: list[str], epsilon: float, paper: dict[str, Any], out: str, figures: str,
                 factors: dict[str, list[str]]) -> str:
    """``<out>.csv/.md`` (the grid table with the paper's Table 3 under it), the per-n_pos figure
    ``<figures>_<task>`` and one ``<figures>_<factor>_<task>`` per factor; returns the table."""
    from tunesafe.report.tables import to_markdown, write_table

    cells = cells_frame(metrics)
    df = rebound_table(cells, epsilon, paper)
    csv, md = write_table(df, out, floatfmt=".4g")
    md.write_text(md.read_text() + paper_note(paper, epsilon))
    for task in dict.fromkeys(cells["Task"]):
        rebound_figure(cells, task, f"{figures}_{task}")
        for factor, models in factors.items():
            factor_figure(cells, task, factor, models, f"{figures}_{factor}_{task}")
    return f"{to_markdown(df, '.4g')}\nwrote {csv} and {md}"
