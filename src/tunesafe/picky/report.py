"""Tables and figure of the Picky LLMs arm (arXiv 2502.01116, Sec. 3-5).

Layout of the safety metrics (shared ``tunesafe evaluate`` files, one per metric):
``<root>/<model>/before/seed<s>/<metric>.json`` for the aligned model and
``<root>/<model>/<domain>/<variant>/seed<s>/<metric>.json`` after fine-tuning on a variant.

- :func:`factors_table`: one row per (model, domain, variant): the factors it has, each
  metric before and after fine-tuning (mean and standard deviation over seeds) and the change.
- :func:`rm_table`: one row per (reward model, model, domain, variant): the variant's mean
  RM score, separation, pair accuracies, the safety after fine-tuning (100 - ASR), and per
  (reward model, model, domain) Kendall's tau between mean RM score and that safety.
- :func:`rm_figure`: mean RM score against post-fine-tune safety, one panel per reward model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tunesafe.errors import TunesafeError
from tunesafe.io import read_json
from tunesafe.picky.metrics import kendall_tau
from tunesafe.picky.transforms import TRANSFORMS, parse_factors
from tunesafe.report.tables import headline

KEYS = ["Model", "Domain", "Variant"]


def _metric(path: Path) -> tuple[str, float]:
    column, value = headline(read_json(path), path)
    if value is None:
        raise TunesafeError(f"{path}: the metric is null (no parsable judge reply?)")
    return column, value


def _mean_sd(values: list[float]) -> tuple[float, float]:
    s = pd.Series(values, dtype=float)
    return float(s.mean()), float(s.std(ddof=1)) if len(s) > 1 else 0.0


def factors_table(root: str | Path, cells: list[tuple[str, str]], variants: list[str], seeds: list[int],
                  metrics: list[str]) -> pd.DataFrame:
    """Before/after safety per (model, domain, variant); ``cells`` = (model, domain) pairs."""
    root, rows = Path(root), []
    for model, domain in cells:
        before = {}
        for m in metrics:
            pairs = [_metric(root / model / "before" / f"seed{s}" / f"{m}.json") for s in seeds]
            before[pairs[0][0]] = _mean_sd([v for _, v in pairs])[0]
        for variant in variants:
            factors = parse_factors(variant)
            row: dict[str, Any] = {"Model": model, "Domain": domain, "Variant": variant}
            row.update({name: "x" if name in factors else "" for name in TRANSFORMS})
            for m in metrics:
                pairs = [_metric(root / model / domain / variant / f"seed{s}" / f"{m}.json") for s in seeds]
                column = pairs[0][0]
                mean, sd = _mean_sd([v for _, v in pairs])
                row[f"{column} before"] = before[column]
                row[f"{column} after"] = mean
                row[f"{column} after sd"] = sd
                row[f"{column} change"] = mean - before[column]
            row["seeds"] = len(seeds)
            rows.append(row)
    return pd.DataFrame(rows)


def rm_table(rm_files: dict[str, str | Path], factors: pd.DataFrame, asr_column: str = "ASR (%)") -> pd.DataFrame:
    """RM reliability per variant; ``rm_files`` maps ``reward_model:model:domain`` to the
    :func:`tunesafe.picky.rm.score_files` output for that domain's variants."""
    after = f"{asr_column} after"
    if after not in factors.columns:
        raise TunesafeError(f"factor table has no column {after!r} (columns: {list(factors.columns)})")
    rows = []
    for key, path in rm_files.items():
        rm, model, domain = key.split(":")
        scores = read_json(path)["variants"]
        cell = factors[(factors["Model"] == model) & (factors["Domain"] == domain)]
        group = []
        for _, f in cell.iterrows():
            if f["Variant"] not in scores:
                raise TunesafeError(f"{path}: no scores for variant {f['Variant']!r}")
            s = scores[f["Variant"]]
            group.append({"Reward model": rm, "Model": model, "Domain": domain, "Variant": f["Variant"],
                          "Mean RM score": s["mean_score"], "Separation": s["separation"],
                          "Benign pair acc. (%)": 100 * s["benign_pair_accuracy"],
                          "Safety pair acc. (%)": 100 * s["safety_pair_accuracy"],
                          "Safety separation": s["safety_separation"], "Safety after (%)": 100 - f[after]})
        tau = kendall_tau([g["Mean RM score"] for g in group], [g["Safety after (%)"] for g in group])
        rows += [{**g, "Kendall tau": tau} for g in group]
    return pd.DataFrame(rows)


def rm_figure(table: pd.DataFrame, prefix: str | Path) -> None:
    """Mean RM score (x) against safety after fine-tuning (y), one panel per reward model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tunesafe.report.figures import save_figure

    rms = list(dict.fromkeys(table["Reward model"]))
    fig, axes = plt.subplots(1, len(rms), figsize=(4.2 * len(rms), 3.6), squeeze=False)
    for ax, rm in zip(axes[0], rms, strict=True):
        sub = table[table["Reward model"] == rm]
        for (model, domain), g in sub.groupby(["Model", "Domain"], sort=False):
            ax.scatter(g["Mean RM score"], g["Safety after (%)"], label=f"{model} / {domain}")
            for _, r in g.iterrows():
                ax.annotate(r["Variant"], (r["Mean RM score"], r["Safety after (%)"]), fontsize=6)
        tau = sub["Kendall tau"].iloc[0]
        ax.set_title(f"{rm} (Kendall tau {tau:.2f})", fontsize=9)
        ax.set_xlabel("mean RM score of the fine-tuning set")
        ax.set_ylabel("safety after fine-tuning (100 - ASR, %)")
        ax.legend(fontsize=6)
    fig.tight_layout()
    save_figure(fig, prefix)
