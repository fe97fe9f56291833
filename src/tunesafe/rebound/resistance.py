"""Resistance: forward vs inverse alignment (arXiv 2406.06144, Sec. 5.1, Table 1).

A base model is SFT'd on an alignment set for one epoch; three slices theta_1 < theta_2 <
theta_3 are kept (after 1/3, 2/3 and all of the epoch's optimizer steps; ``save_at`` of
:func:`tunesafe.train.sft.train`). Slice theta_k answers held-out prompts, giving D_k (its
responses as chat records: :func:`generations_to_records`). For each pair i < j:

* forward alignment trains the *earlier* slice on the *later* slice's data: theta_i on D_j;
* inverse alignment trains the *later* slice on the *earlier* slice's data: theta_j on D_i.

The compared quantity is the final training loss of each run (the paper: inverse < forward
in all 27 cells). Our "final loss" is the mean per-step loss over the last ``tail`` share of
the run's optimizer steps (at least one step; ``tail=0`` takes the last step alone), read
from the ``losses`` of the trainer's summary, to damp the noise of a single batch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tunesafe.errors import TunesafeError
from tunesafe.io import read_json, read_jsonl, write_jsonl

if TYPE_CHECKING:  # the workflow imports PAIRS and pair when it is parsed: no pandas there
    import pandas as pd

SLICES = (1, 2, 3)
PAIRS = ((1, 2), (2, 3), (1, 3))
DIRECTIONS = ("forward", "inverse")


def pair(direction: str, i: int, j: int) -> tuple[int, int]:
    """(slice to train, slice whose responses are the data) of one run; needs i < j."""
    if not i < j or i not in SLICES or j not in SLICES:
        raise TunesafeError(f"slice pair {i}-{j}: expected i < j in {SLICES}")
    if direction == "forward":
        return i, j  # theta_i on D_j
    if direction == "inverse":
        return j, i  # theta_j on D_i
    raise TunesafeError(f"direction {direction!r}: expected one of {DIRECTIONS}")


def generations_to_records(generations_path: str, out_path: str) -> int:
    """Generations (``{"id", "messages", "response"}``) as training chat records."""
    rows = read_jsonl(generations_path)
    if not rows:
        raise TunesafeError(f"{generations_path}: no generations")
    out = []
    for k, g in enumerate(rows, start=1):
        if not isinstance(g.get("response"), str) or not g.get("messages"):
            raise TunesafeError(f"{generations_path}:{k}: expected 'messages' and a string 'response'")
        messages = list(g["messages"]) + [{"role": "assistant", "content": g["response"] or "."}]
        out.append({"id": g["id"], "messages": messages, "meta": {**g.get("meta", {}), "generated": True}})
    return write_jsonl(out_path, out)


def final_loss(summary: dict[str, Any], tail: float = 0.1, where: str = "summary") -> float:
    """Mean per-step loss over the last ``tail`` share of steps (at least one)."""
    losses = summary.get("losses")
    if not losses:
        raise TunesafeError(f"{where}: no per-step 'losses' (written by `tunesafe train sft`)")
    k = max(1, math.ceil(tail * len(losses)))
    return sum(losses[-k:]) / k


def resistance_table(root: str | Path, cells: list[tuple[str, str]], tail: float = 0.1,
                     paper: dict[str, Any] | None = None,
                     paper_cells: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per (model, dataset, pair): forward and inverse loss, which is lower, paper values.

    Reads ``<root>/<model>/<dataset>/<direction>_<i>_<j>.json`` (trainer summaries).
    ``paper`` maps ``"<model>/<dataset>"`` to ``{"<i>-<j>": {"forward": x, "inverse": y}}``. A
    row shows the paper cell of its own model and dataset, else the cell ``paper_cells`` names
    for its dataset (a toy twin's reference, e.g. ``alignment -> llama2_7b/alpaca``), else
    none; the cell shown is named in "Paper cell".
    """
    import pandas as pd

    root = Path(root)
    paper = paper or {}
    paper_cells = paper_cells or {}
    for dataset, key in paper_cells.items():
        if key not in paper:
            raise TunesafeError(f"paper cell {key!r} (for {dataset}): not among the paper's cells "
                                f"({', '.join(paper) or 'none given'})")
    rows = []
    for model, dataset in cells:
        key = f"{model}/{dataset}" if f"{model}/{dataset}" in paper else paper_cells.get(dataset)
        ref = paper.get(key, {}) if key else {}
        for i, j in PAIRS:
            row: dict[str, Any] = {"Model": model, "Dataset": dataset, "Pair": f"{i}-{j}"}
            for direction in DIRECTIONS:
                path = root / model / dataset / f"{direction}_{i}_{j}.json"
                row[f"{direction.capitalize()} loss"] = round(final_loss(read_json(path), tail, str(path)), 4)
            row["Lower"] = "inverse" if row["Inverse loss"] < row["Forward loss"] else "forward"
            p = ref.get(f"{i}-{j}", {})
            row["Paper cell"] = key if p else None
            row["Paper forward"] = p.get("forward")
            row["Paper inverse"] = p.get("inverse")
            rows.append(row)
    return pd.DataFrame(rows)
