"""MathIF tables and figures (arXiv 2505.14810): Table 3, Table 6, Fig. 6 and breakdowns.

Inputs are the score files of ``tunesafe evaluate mathif``, one per model and setting:
``<root>/<model>/{constraints,no_constraints,intervention}.json``.

- ``mathif.{csv,md}`` (Table 3): per model HAcc, SAcc and correctness with constraints,
  correctness without them, in percent, with the paper's values beside ours
  (``--paper FILE:KEY``, e.g. ``resources/paper_numbers.yaml:mathif.table3``: model id ->
  values, read by :func:`tunesafe.report.paper.paper_numbers`), and the judge
  of correctness the scores were made with (``official`` is the paper's);
- ``mathif_intervention.{csv,md}`` (Table 6): HAcc, SAcc, correctness with constraints,
  without and with the "Wait," + constraints intervention, with the judge of correctness;
- figures ``mathif_by_constraints`` (HAcc, SAcc over 1/2/3 constraints), ``mathif_by_source``
  (by source), ``mathif_cot_length`` (HAcc, SAcc over quantile bins of thinking length, as
  Fig. 6), one line or bar group per model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tunesafe.errors import TunesafeError
from tunesafe.io import read_json

SETTINGS = ("constraints", "no_constraints", "intervention")


def load_scores(root: str | Path, model: str, setting: str) -> dict[str, Any]:
    path = Path(root) / model / f"{setting}.json"
    scores = read_json(path)
    for key in ("hacc", "sacc", "correct", "items"):
        if key not in scores:
            raise TunesafeError(f"{path}: no {key!r} (expected the output of `tunesafe evaluate mathif`)")
    return scores


def judge(scores: dict[str, Any]) -> str:
    """The judge of "correct" in a score file; files written before the key existed were
    judged by math-verify."""
    return scores.get("correctness", "math_verify")


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 2)


def main_table(root: str | Path, models: dict[str, str], paper: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Table 3: one row per model."""
    rows = []
    for name, model_id in models.items():
        c, n = load_scores(root, name, "constraints"), load_scores(root, name, "no_constraints")
        ref = paper.get(model_id, {})
        rows.append({"Model": name, "Model id": model_id,
                     "HAcc (%)": _pct(c["hacc"]), "SAcc (%)": _pct(c["sacc"]),
                     "Correct w/ constraints (%)": _pct(c["correct"]),
                     "Correct w/o constraints (%)": _pct(n["correct"]),
                     "Paper HAcc (%)": ref.get("hacc"), "Paper SAcc (%)": ref.get("sacc"),
                     "Paper correct w/ constraints (%)": ref.get("correct"),
                     "Correctness judge": "/".join(sorted({judge(c), judge(n)}))})
    return pd.DataFrame(rows)


def intervention_table(root: str | Path, models: list[str]) -> pd.DataFrame:
    """Table 6: each model without and with the intervention."""
    rows = []
    for name in models:
        for setting, label in (("constraints", "w/o intervention"), ("intervention", "w/ intervention")):
            s = load_scores(root, name, setting)
            rows.append({"Model": name, "Setting": label, "HAcc (%)": _pct(s["hacc"]),
                         "SAcc (%)": _pct(s["sacc"]), "Correct (%)": _pct(s["correct"]),
                         "Mean thinking length": round(sum(i["thinking_tokens"] for i in s["items"]) / len(s["items"]), 1),
                         "Correctness judge": judge(s)})
    return pd.DataFrame(rows)


def item_frame(root: str | Path, models: list[str]) -> pd.DataFrame:
    """One row per (model, item) of the constraint setting."""
    rows = []
    for name in models:
        for it in load_scores(root, name, "constraints")["items"]:
            rows.append({"Model": name, "subset": it["subset"], "n_constraints": it["n_constraints"],
                         "hard": float(it["hard"]), "soft": float(it["soft"]), "correct": float(it["correct"]),
                         "thinking": it["thinking_tokens"]})
    return pd.DataFrame(rows)


def _save(fig, prefix: Path) -> None:
    from tunesafe.report.figures import save_figure

    save_figure(fig, prefix)


def _panels(df: pd.DataFrame, by: str, xlabel: str, prefix: Path, kind: str = "line") -> pd.DataFrame:
    """HAcc and SAcc (%) per model against ``by``; returns the plotted table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agg = df.groupby(["Model", by], observed=True)[["hard", "soft"]].mean().mul(100).reset_index()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, col, title in zip(axes, ("hard", "soft"), ("HAcc (%)", "SAcc (%)"), strict=True):
        table = agg.pivot(index=by, columns="Model", values=col)
        if kind == "bar":
            table.plot.bar(ax=ax, rot=0, legend=False)
        else:
            table.plot(ax=ax, marker="o", legend=False)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(title)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, prefix)
    return agg


def figures(root: str | Path, models: list[str], out_dir: str | Path, bins: int = 4) -> dict[str, pd.DataFrame]:
    """The three breakdown figures; returns the tables they plot."""
    out_dir = Path(out_dir)
    df = item_frame(root, models)
    out = {"by_constraints": _panels(df, "n_constraints", "number of constraints", out_dir / "mathif_by_constraints"),
           "by_source": _panels(df, "subset", "source", out_dir / "mathif_by_source", kind="bar")}
    q = min(bins, max(1, df["thinking"].nunique()))
    codes, edges = pd.qcut(df["thinking"], q=q, labels=False, retbins=True, duplicates="drop")
    labels = [f"{edges[i]:.0f}-{edges[i + 1]:.0f}" for i in range(len(edges) - 1)]
    df["thinking length"] = pd.Categorical([labels[int(c)] for c in codes], categories=labels, ordered=True)
    out["cot_length"] = _panels(df, "thinking length", "thinking length (tokens, quantile bins)",
                                out_dir / "mathif_cot_length")
    return out


INTERVENTION_COLUMNS = ["Model", "Setting", "HAcc (%)", "SAcc (%)", "Correct (%)", "Mean thinking length",
                        "Correctness judge"]


def parse_models(specs: list[str], intervention: list[str]) -> dict[str, str]:
    """``NAME=ID`` specs as {name: id}; every ``intervention`` name must be one of them."""
    models = {}
    for spec in specs:
        name, sep, model_id = spec.partition("=")
        if not name or not sep:
            raise TunesafeError(f"--model {spec!r}: expected NAME=ID")
        models[name] = model_id
    unknown = [m for m in intervention if m not in models]
    if unknown:
        raise TunesafeError(f"--intervention {unknown[0]!r} is not one of the --model names ({', '.join(models)})")
    return models


def report(root: str | Path, models: dict[str, str], intervention: list[str], paper: dict | None,
           tables: str | Path, figures_dir: str | Path, bins: int = 4) -> dict[str, pd.DataFrame]:
    """Write ``mathif`` and ``mathif_intervention`` tables under ``tables`` and the three
    figures under ``figures_dir``; returns every table written or plotted, by name."""
    from tunesafe.report.tables import write_table

    out = {"mathif": main_table(root, models, paper or {})}
    out["mathif_intervention"] = (intervention_table(root, intervention) if intervention
                                  else pd.DataFrame(columns=INTERVENTION_COLUMNS))
    for name in ("mathif", "mathif_intervention"):
        write_table(out[name], Path(tables) / name)
    out.update(figures(root, list(models), figures_dir, bins))
    return out
