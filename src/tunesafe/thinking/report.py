"""Tables and figures of the When Thinking Fails arm (arXiv 2505.11423).

Inputs: score files ``<root>/<run>/<condition>.json`` of ``tunesafe thinking score``; a run
is a model, or one seed of a toy model (``<name>-seed<k>``), grouped by the name before
``-seed``.

- ``wtf_ifeval.{csv,md}`` (Table 1 layout): per model and benchmark the prompt-level and
  instruction-level strict and loose accuracy, direct and with CoT, and CoT - direct; mean
  and standard deviation over seeds; the paper's numbers beside ours where
  ``resources/paper_numbers.yaml`` has them (key ``thinking.table1``, by model id);
- ``wtf_types.{csv,md}`` and figure ``wtf_types`` (Sec. 4): per instruction type the
  instruction-level strict accuracy direct and with CoT and the delta, over all runs;
- ``wtf_mitigations.{csv,md}`` (Sec. 6): direct, CoT, classifier-selective reasoning
  (:mod:`.selective`) and the oracle choice on the held-out half of the items;
- ``wtf_cot_length.{csv,md}`` (appendix): correlation of thinking length and accuracy;
- figure ``wtf_attention`` (Sec. 5): the constraint-attention drop per layer
  (:mod:`.attention`), raw and length-normalised, for all items, CoT fixes and CoT breaks.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from tunesafe.io import read_json

METRICS = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc", "inst_level_loose_acc")
SHORT = {"prompt_level_strict_acc": "prompt_strict", "inst_level_strict_acc": "inst_strict",
         "prompt_level_loose_acc": "prompt_loose", "inst_level_loose_acc": "inst_loose"}


def model_of(run: str) -> str:
    return re.sub(r"-seed\d+$", "", run)


def load(root: str | Path, runs: list[str], benchmark: str = "ifeval") -> dict[tuple[str, str], dict[str, Any]]:
    """(run, condition) -> scores."""
    return {(r, c): read_json(Path(root) / r / benchmark / f"{c}.json") for r in runs for c in ("direct", "cot")}


def table1(scores: dict[tuple[str, str], dict[str, Any]], ids: dict[str, str],
           paper: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per model: mean (sd) over its runs of each metric, direct, CoT and delta."""
    runs = sorted({r for r, _ in scores})
    rows = []
    for model in sorted({model_of(r) for r in runs}):
        mine = [r for r in runs if model_of(r) == model]
        row: dict[str, Any] = {"model": model, "id": ids.get(model, model), "runs": len(mine)}
        for m in METRICS:
            d = pd.Series([scores[(r, "direct")][m] for r in mine])
            c = pd.Series([scores[(r, "cot")][m] for r in mine])
            row[f"{SHORT[m]}_direct"], row[f"{SHORT[m]}_cot"] = d.mean(), c.mean()
            row[f"{SHORT[m]}_delta"] = (c - d).mean()
            row[f"{SHORT[m]}_delta_sd"] = (c - d).std(ddof=1) if len(mine) > 1 else float("nan")
        p = (paper or {}).get(row["id"], {})
        for cond in ("direct", "cot"):
            row[f"paper_prompt_strict_{cond}"] = p.get(cond, float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


METHODS = {"direct": "direct", "cot": "CoT", "fewshot": "few-shot", "reflect": "self-reflection",
           "selfselect": "self-selective", "classifier_selective": "classifier-selective", "oracle": "oracle"}


def mitigations_table(root: str | Path, runs: list[str], benchmark: str = "ifeval") -> pd.DataFrame:
    """One row per model and method (Sec. 6): prompt- and instruction-level strict accuracy on
    the held-out half, mean over the model's runs; the classifier's held-out accuracy and
    share of CoT choices on the classifier-selective row."""
    rows = []
    for run in runs:
        s = read_json(Path(root) / run / benchmark / "selective.json")
        for key, method in METHODS.items():
            if f"{key}_prompt_strict" not in s:
                continue
            row = {"model": model_of(run), "method": method, "prompt_strict": s[f"{key}_prompt_strict"],
                   "inst_strict": s[f"{key}_inst_strict"], "n_test": s["n_test"]}
            if key == "classifier_selective":
                row.update(classifier_acc=s["classifier_acc"], cot_chosen=s["cot_chosen"])
            rows.append(row)
    df = pd.DataFrame(rows)
    out = df.groupby(["model", "method"], sort=False).mean(numeric_only=True).reset_index()
    return out.assign(runs=[sum(model_of(r) == m for r in runs) for m in out["model"]])


def cot_length_table(root: str | Path, runs: list[str], benchmark: str = "ifeval") -> pd.DataFrame:
    """Appendix: per model, Pearson correlation over CoT answers between the thinking length
    (characters before the final answer) and prompt-level strict / instruction-level strict
    share (all runs pooled); a constant column gives no correlation (NaN)."""
    from tunesafe.io import read_jsonl

    rows = []
    for run in runs:
        for r in read_jsonl(Path(root) / run / benchmark / "cot_rows.jsonl"):
            inst = r["inst_level_strict_acc"]
            rows.append({"model": model_of(run), "length": r["thinking_chars"],
                         "prompt": float(r["prompt_level_strict_acc"]), "inst": sum(inst) / len(inst)})
    df = pd.DataFrame(rows)
    out = []
    for model, part in df.groupby("model", sort=True):
        out.append({"model": model, "n": len(part), "mean_thinking_chars": part["length"].mean(),
                    "r_prompt_strict": part["length"].corr(part["prompt"]),
                    "r_inst_strict": part["length"].corr(part["inst"])})
    return pd.DataFrame(out)


def types_table(scores: dict[tuple[str, str], dict[str, Any]]) -> pd.DataFrame:
    """Per instruction type: n (over all runs), accuracy direct, CoT and the delta (percent)."""
    acc: dict[tuple[str, str], list[float]] = {}
    n: dict[str, int] = {}
    for (_run, cond), s in scores.items():
        for t, a in s["per_type_strict"].items():
            acc.setdefault((t, cond), []).append(a * s["per_type_n"][t])
            if cond == "direct":
                n[t] = n.get(t, 0) + s["per_type_n"][t]
    rows = []
    for t in sorted(n):
        d, c = sum(acc[(t, "direct")]) / n[t], sum(acc[(t, "cot")]) / n[t]
        rows.append({"instruction_type": t, "n": n[t], "direct": d, "cot": c, "delta": c - d})
    return pd.DataFrame(rows).sort_values("delta", kind="stable").reset_index(drop=True)


def types_figure(df: pd.DataFrame, prefix: str | Path) -> None:
    """Horizontal bars of CoT - direct per instruction type (Sec. 4)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tunesafe.report.figures import save_figure

    fig, ax = plt.subplots(figsize=(6, 0.35 * len(df) + 1.2))
    colors = ["tab:red" if v < 0 else "tab:green" for v in df["delta"]]
    ax.barh(df["instruction_type"], df["delta"], color=colors)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("CoT - direct, instruction-level strict accuracy (points)")
    ax.set_title("IFEval: where thinking helps or hurts")
    fig.tight_layout()
    save_figure(fig, prefix)


def attention_figure(df: pd.DataFrame, prefix: str | Path) -> None:
    """beta_direct - beta_CoT per layer, one line per case; raw and length-normalised (Sec. 5)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tunesafe.report.figures import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for ax, kind, title in zip(axes, ("beta", "beta_norm"), ("raw", "length-normalised"), strict=True):
        for case, part in df.groupby("case", sort=False):
            ax.plot(part["layer"], part[f"{kind}_drop"], marker="o", label=f"{case} (n={part['n'].iloc[0]})")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(sorted(df["layer"].unique()))
        ax.set_xlabel("layer")
        ax.set_ylabel("beta direct - beta CoT")
        ax.set_title(f"Constraint attention drop ({title})")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, prefix)


def write_reports(root: str, runs: list[str], ids: dict[str, str], paper: dict | None, tables: str, figures: str,
                  mitigations: bool) -> None:
    """Table 1 (``wtf_ifeval``), the per-type deltas (``wtf_types``, table and figure), CoT
    length against accuracy (``wtf_cot_length``) and, with ``mitigations``, ``wtf_mitigations``,
    from the score files of ``runs`` under ``root``."""
    from pathlib import Path

    from tunesafe.errors import TunesafeError
    from tunesafe.report.tables import write_table

    if not runs:
        raise TunesafeError("report thinking needs at least one --run")
    scores = load(root, runs)
    write_table(table1(scores, ids, paper), Path(tables) / "wtf_ifeval")
    types = types_table(scores)
    write_table(types, Path(tables) / "wtf_types")
    types_figure(types, Path(figures) / "wtf_types")
    write_table(cot_length_table(root, runs), Path(tables) / "wtf_cot_length", floatfmt=".3f")
    if mitigations:
        write_table(mitigations_table(root, runs), Path(tables) / "wtf_mitigations")
