"""MathIF CoT length control (arXiv 2505.14810, the mitigations beside Table 6): HAcc, SAcc
and correctness against the thinking budget of budget forcing.

Inputs are score files of ``tunesafe evaluate mathif``: ``<root>/<model>/budget_<N>.json``
(responses generated with ``tunesafe generate --thinking-budget N``, see
:mod:`tunesafe.generation.budget`), ``constraints.json`` (no budget) and, where the model
ran it, ``intervention.json`` (repeat the constraints after the thinking).

- ``mathif_budget.{csv,md}``: one row per model and setting (each budget, "no budget",
  "repeat constraints"), HAcc, SAcc, correctness in percent and the mean thinking length;
- ``mathif_budget.{pdf,png}``: three panels (HAcc, SAcc, correctness) against the budget,
  one line per model ending at its no-budget point, and the repeat-the-constraints point
  as a dashed horizontal line in the model's colour.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tunesafe.errors import TunesafeError
from tunesafe.mathif.tables import _pct, judge, load_scores

METRICS = (("HAcc (%)", "hacc"), ("SAcc (%)", "sacc"), ("Correct (%)", "correct"))
COLUMNS = ["Model", "Setting", "Budget", *(m for m, _ in METRICS), "Mean thinking length", "Correctness judge"]


def budget_setting(budget: int) -> str:
    """The setting name (score file stem) of a thinking budget."""
    return f"budget_{budget}"


def _row(root: str | Path, model: str, setting: str, label: str, budget: int | None) -> dict:
    s = load_scores(root, model, setting)
    thinking = [i["thinking_tokens"] for i in s["items"]]
    return {"Model": model, "Setting": label, "Budget": budget, **{m: _pct(s[k]) for m, k in METRICS},
            "Mean thinking length": round(sum(thinking) / len(thinking), 1) if thinking else None,
            "Correctness judge": judge(s)}


def budget_table(root: str | Path, models: list[str], budgets: list[int],
                 intervention: list[str] = ()) -> pd.DataFrame:
    """One row per model and budget (ascending), then its no-budget row and, for the models
    in ``intervention``, its repeat-the-constraints row."""
    if not budgets:
        raise TunesafeError("--budget: at least one thinking budget expected")
    rows = []
    for model in models:
        rows += [_row(root, model, budget_setting(b), f"budget {b}", b) for b in sorted(budgets)]
        rows.append(_row(root, model, "constraints", "no budget", None))
        if model in intervention:
            rows.append(_row(root, model, "intervention", "repeat constraints", None))
    return pd.DataFrame(rows, columns=COLUMNS).astype({"Budget": "Int64"})


def budget_figure(table: pd.DataFrame, prefix: str | Path) -> None:
    """The three panels of the module docstring from :func:`budget_table`'s rows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tunesafe.report.figures import save_figure

    budgets = sorted(int(b) for b in table["Budget"].dropna().unique())
    ticks = [*budgets, "none"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for ax, (metric, _) in zip(axes, METRICS, strict=True):
        for i, (model, rows) in enumerate(table.groupby("Model", sort=False)):
            colour = f"C{i}"
            curve = rows[rows["Setting"].str.startswith("budget ")].sort_values("Budget")
            free = rows[rows["Setting"] == "no budget"]
            xs = [budgets.index(int(b)) for b in curve["Budget"]] + [len(budgets)] * len(free)
            ax.plot(xs, [*curve[metric], *free[metric]], marker="o", color=colour, label=model)
            for value in rows.loc[rows["Setting"] == "repeat constraints", metric]:
                ax.axhline(value, color=colour, linestyle="--", label=f"{model}: repeat constraints")
        ax.set_xticks(range(len(ticks)), [str(t) for t in ticks])
        ax.set_xlabel("thinking budget (tokens)")
        ax.set_ylabel(metric)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, Path(prefix))


def report(root: str | Path, models: list[str], budgets: list[int], intervention: list[str],
           tables: str | Path, figures: str | Path) -> pd.DataFrame:
    """Write ``mathif_budget.{csv,md}`` under ``tables`` and the figure under ``figures``."""
    from tunesafe.report.tables import write_table

    table = budget_table(root, models, budgets, intervention)
    write_table(table, Path(tables) / "mathif_budget")
    budget_figure(table, Path(figures) / "mathif_budget")
    return table
