"""The fine-tuning tasks of the Safe Delta study's tables, from config (torch-free; the
workflow calls these when it is parsed).

Table 1 ("harmful fine-tuning") and Table 2 ("benign fine-tuning") of Safe Delta (arXiv
2505.12038, Sec. 5.2) take the config tasks of ``finetune.tasks.<task>.kind`` ``harmful``
and ``benign``, in config order; every task declares its kind, so a renamed or new task
lands in its table. The baselines add fine-tunes of their own (:func:`derived_tasks`).
"""

from __future__ import annotations

from typing import Any

TASK_KINDS = ("harmful", "benign")


def tasks_of_kind(config: dict[str, Any], kind: str) -> list[str]:
    """Config tasks whose ``kind`` is ``kind`` (harmful: Table 1, benign: Table 2)."""
    if kind not in TASK_KINDS:
        raise ValueError(f"task kind {kind!r} is not one of {', '.join(TASK_KINDS)}")
    return [name for name, spec in config["finetune"]["tasks"].items() if spec["kind"] == kind]


def derived_tasks(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fine-tunes the baselines need beyond config tasks: PureBad-<n> of the size sweep (the
    task's settings on the first n records of ``baselines.size_sweep.dataset``; Fig. 1) and
    Resta's unaligned model (``baselines.resta``); none without a ``baselines`` section."""
    base = config.get("baselines")
    if not base:
        return {}
    tasks = config["finetune"]["tasks"]
    sweep, resta = base["size_sweep"], base["resta"]
    out = {f"{sweep['task']}_n{n}": {**tasks[sweep["task"]], "data": [sweep["dataset"]], "size": n}
           for n in sweep["sizes"]}
    source = tasks[resta.get("unaligned_settings_from", next(iter(tasks)))]
    out["resta_unaligned"] = {**source, "data": resta["unaligned_data"], "benchmarks": []}
    return out
