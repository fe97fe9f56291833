r"""MathIF's training paradigms (arXiv 2505.14810, Sec. 4, reasoning-oriented training): the
RL prompts and the table that compares the paradigms.

The paper trains one base model with one reasoning data set and no instruction-following
data in four ways and scores each on MathIF: SFT on long reasoning traces, SFT followed by
RL, RL straight from the base ("cold RL"), and RL with a format reward. The workflow
builds each as a model (``tunesafe train sft`` for SFT, ``tunesafe train grpo`` for RL with
the rewards of :mod:`.rewards`) and scores it with the ordinary MathIF rules; this module
holds the two pieces that are the paradigms' own:

- :func:`rl_prompts`: the RL prompts, math problems *without* constraints in the official
  user-turn form (question + the official CoT instruction, :data:`.data.COT`) with the
  reference answer the correctness reward needs. ``toy``: toy word problems (the toy
  MathIF problem generator, its own seed, so they differ from the evaluation items);
  ``hf``: a Hugging Face data set by id, question and answer fields named.
- :func:`training_table`: ``mathif_training.{csv,md}``: one row per paradigm and seed, and
  for a paradigm with several seeds a mean row with the seeds' standard deviation, HAcc,
  SAcc and correctness with constraints and correctness without them, in percent; with
  ``--paper FILE:KEY`` the paper's values of the paradigm beside ours (without it, no
  paper columns).
"""

from __future__ import annotations

import random
import statistics
from pathlib import Path
from typing import Any

import pandas as pd

from tunesafe.errors import TunesafeError
from tunesafe.mathif.data import COT
from tunesafe.mathif.tables import _pct, load_scores
from tunesafe.mathif.toy import TOY_SOURCES, _problem

METRICS = (("HAcc (%)", "constraints", "hacc"), ("SAcc (%)", "constraints", "sacc"),
           ("Correct w/ constraints (%)", "constraints", "correct"),
           ("Correct w/o constraints (%)", "no_constraints", "correct"))
PAPER_KEYS = {"HAcc (%)": "hacc", "SAcc (%)": "sacc", "Correct w/ constraints (%)": "correct"}


def _record(i: int, question: str, reference: Any) -> dict[str, Any]:
    return {"id": f"rl-{i}", "messages": [{"role": "user", "content": question + COT}],
            "reference": str(reference), "meta": {}}


def toy_prompts(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` toy math prompts without constraints, a pure function of ``(n, seed)``."""
    rng = random.Random(seed)
    ops = list(TOY_SOURCES.values())
    out = []
    for i in range(n):
        question, slots = _problem(rng.choice(ops), rng)
        out.append(_record(i, question, slots["r"]))
    return out


def hf_prompts(dataset_id: str, split: str, question_field: str, answer_field: str, n: int | None,
               seed: int, revision: str | None = None) -> list[dict[str, Any]]:
    """Prompts from a Hugging Face data set: ``n`` rows drawn with ``seed`` (all when None)."""
    from tunesafe.data.readers import hf_dataset

    rows = hf_dataset(dataset_id, split=split, revision=revision)
    for field in (question_field, answer_field):
        if field not in rows.column_names:
            raise TunesafeError(f"{dataset_id} ({split}): no field {field!r} (fields: {', '.join(rows.column_names)})")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    chosen = order[:n] if n else order
    return [_record(i, rows[j][question_field], rows[j][answer_field]) for i, j in enumerate(chosen)]


def rl_prompts(source: str, n: int | None, seed: int, dataset_id: str | None = None, split: str = "train",
               question_field: str = "problem", answer_field: str = "answer",
               revision: str | None = None) -> list[dict[str, Any]]:
    """The RL prompts of ``source`` (``toy`` or ``hf``), see the module docstring."""
    if source == "toy":
        if not n:
            raise TunesafeError("rl-prompts --source toy: --n (number of prompts) expected")
        return toy_prompts(n, seed)
    if source == "hf":
        if not dataset_id:
            raise TunesafeError("rl-prompts --source hf: --id (Hugging Face dataset id) expected")
        return hf_prompts(dataset_id, split, question_field, answer_field, n, seed, revision)
    raise TunesafeError(f"rl-prompts --source {source!r}: expected toy or hf")


def _row(paradigm: str, seed: str, values: dict[str, float | None], paper: dict[str, Any] | None) -> dict[str, Any]:
    """One table row; the paper's columns only when paper numbers were given at all."""
    papers = {} if paper is None else {f"Paper {col}": paper.get(key) for col, key in PAPER_KEYS.items()}
    return {"Paradigm": paradigm, "Seed": seed, **values, **papers}


def training_table(root: str | Path, paradigms: dict[str, list[str]],
                   paper: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Rows of the module docstring; ``paradigms`` maps a label to its models (one per seed),
    ``paper`` a label to the paper's ``{hacc, sacc, correct}``."""
    rows = []
    for label, models in paradigms.items():
        if not models:
            raise TunesafeError(f"--row {label!r}: no model names")
        per_seed = []
        for model in models:
            values = {col: _pct(load_scores(root, model, setting)[key]) for col, setting, key in METRICS}
            per_seed.append(values)
            rows.append(_row(label, model, values, None if paper is None else paper.get(label, {})))
        if len(models) > 1:
            mean = {col: round(statistics.mean(v[col] for v in per_seed), 2) for col, _, _ in METRICS}
            sd = {f"{col} sd": round(statistics.stdev(v[col] for v in per_seed), 2) for col, _, _ in METRICS}
            rows.append({**_row(label, "mean", mean, None if paper is None else paper.get(label, {})), **sd})
    return pd.DataFrame(rows)


def report(root: str | Path, paradigms: dict[str, list[str]], paper: dict | None, tables: str | Path) -> pd.DataFrame:
    """Write ``mathif_training.{csv,md}`` under ``tables``; return the table."""
    from tunesafe.report.tables import write_table

    table = training_table(root, paradigms, paper)
    write_table(table, Path(tables) / "mathif_training")
    return table
