"""One rebound cell, and a whole (model, task) grid of cells in one process.

arXiv 2406.06144, Sec. 5.2-5.3: a base model is fine-tuned on n_pos positive examples, the
result on n_neg negative ones; every cell (n_pos, n_neg, seed) is scored by the share of
positive generations on held-out prompts and by its KL to the base model (Table 3).

:func:`evaluate_cell` scores one cell (generate, score, KL). :func:`run_grid` runs every
cell of one (model, task) for a list of seeds inside one process: per seed and n_pos one
positive SFT, from it one negative SFT per n_neg > 0, each evaluated and then deleted.
At toy scale the start-up of a process (importing torch and transformers) costs more than
training a tiny model on a few hundred examples, so the toy config runs a grid as one job;
at paper scale every cell is its own job (``rebound.grouped: false``). Both write the same
per-cell metrics files, so the table and figures do not know which ran.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunesafe.io import read_jsonl, write_json


def evaluate_cell(model: str, base: str, prompts: str, scorer, sampling, generations: str,
                  labels: dict[str, Any], engine: str = "hf", kl_max_length: int = 256,
                  **engine_options: Any) -> dict[str, Any]:
    """Generate on ``prompts``, score (share positive), KL(model || base); the cell's metrics."""
    from tunesafe.generation.run import generate_file
    from tunesafe.rebound.kl import model_kl
    from tunesafe.rebound.scorers import share_positive

    generate_file(engine, model, prompts, generations, sampling, **engine_options)
    rows = read_jsonl(generations)
    probs = scorer.prob_positive([r["messages"][-1]["content"] for r in rows], [r["response"] for r in rows])
    kl = model_kl(model, base, read_jsonl(prompts), kl_max_length)
    return {"score": share_positive(probs), "mean_prob_positive": sum(probs) / len(probs), "kl_to_base": kl,
            "n": len(rows), **labels, "sampling": vars(sampling)}


def run_grid(model: str, positive: dict[int, str], negative: dict[int, str], seeds: list[int],
             settings: dict[str, Any], evaluate: Callable[[str, int, int, int], None], work_dir: str,
             chat_template: str | None = None) -> int:
    """Every cell of one (model, task): ``evaluate(model_dir, n_pos, n_neg, seed)`` on each.

    ``positive`` / ``negative`` map n_pos / n_neg to their training records; n_neg = 0 in
    ``negative`` (no file needed: its value is ignored) evaluates the positive model itself.
    ``settings`` are the :class:`tunesafe.train.settings.TrainSettings` fields of every SFT;
    the cell's seed sets their data order. Tuned models live in a temporary directory under
    ``work_dir`` and are deleted as soon as they are evaluated. Returns the cells evaluated.
    """
    from tunesafe.train.sft import TrainSettings, train

    Path(work_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".grid-", dir=work_dir))
    cells = 0
    try:
        for seed in seeds:
            run_settings = TrainSettings.from_dict({**settings, "seed": int(seed)})
            for n_pos, pos_path in sorted(positive.items()):
                pos_dir = str(tmp / f"pos{n_pos}_seed{seed}")
                train(model, [pos_path], pos_dir, run_settings, chat_template=chat_template)
                for n_neg, neg_path in sorted(negative.items()):
                    if n_neg == 0:
                        evaluate(pos_dir, n_pos, 0, seed)
                    else:
                        neg_dir = str(tmp / f"pos{n_pos}_neg{n_neg}_seed{seed}")
                        train(pos_dir, [neg_path], neg_dir, run_settings)
                        evaluate(neg_dir, n_pos, n_neg, seed)
                        shutil.rmtree(neg_dir)
                    cells += 1
                shutil.rmtree(pos_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cells


def grid_evaluator(base: str, prompts: str, scorer, sampling_for_seed: Callable[[int], Any], cells_dir: str,
                   generations_dir: str, model_name: str, task: str, scorer_name: str, **options: Any) -> Callable:
    """The ``evaluate`` of :func:`run_grid`: writes ``<cells_dir>/pos{p}_neg{n}_seed{s}.json``
    and the generations beside it in ``generations_dir`` (the per-cell rules' paths), each cell
    file as ``tunesafe rebound evaluate`` writes it."""

    def evaluate(model_dir: str, n_pos: int, n_neg: int, seed: int) -> None:
        name = f"pos{n_pos}_neg{n_neg}_seed{seed}"
        labels = {"model": model_name, "task": task, "n_pos": n_pos, "n_neg": n_neg, "seed": seed,
                  "scorer": scorer_name}
        metrics = evaluate_cell(model_dir, base, prompts, scorer, sampling_for_seed(seed),
                                f"{generations_dir}/{name}.jsonl", labels, **options)
        write_json(f"{cells_dir}/{name}.json", metrics)
        print(json.dumps({k: metrics[k] for k in ("n_pos", "n_neg", "seed", "score", "kl_to_base")}), flush=True)

    return evaluate
