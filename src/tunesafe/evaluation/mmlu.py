"""MMLU through lm-evaluation-harness (``lm_eval.simple_evaluate``).

The Safe Delta paper (arXiv 2505.12038, Sec. 5.1, Table 1) reports MMLU accuracy as the
general-utility measure of the models fine-tuned on PureBad and Identity Shift. We do not
re-implement the evaluation: lm-eval scores every choice by log-likelihood with either its
``hf`` model (transformers, with a peft adapter) or its ``vllm`` model. On the paper config
the task is the harness's own ``mmlu`` group (from the hub). The toy world has no MMLU, so
:func:`write_local_task` writes a local lm-eval task, a YAML file over a generated
multiple-choice set (cloze style: each choice is scored as the continuation after
"Answer:"), and the same integration runs offline through ``TaskManager(include_path=...)``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path, read_jsonl, write_json

TASK_TEMPLATE = """# lm-evaluation-harness task written by `tunesafe evaluate mmlu-task`
task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""


def write_local_task(records_path: str | os.PathLike, out_dir: str | os.PathLike, name: str = "toy_mmlu") -> Path:
    """Write ``<out_dir>/<name>.yaml`` and its data from chat records with ``meta.choices``
    (list of strings) and ``meta.answer`` (index of the right choice)."""
    rows = []
    for i, record in enumerate(read_jsonl(records_path), start=1):
        meta = record.get("meta", {})
        choices, answer = meta.get("choices"), meta.get("answer")
        if not isinstance(choices, list) or not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise TunesafeError(f"{records_path}:{i}: expected meta.choices (list) and meta.answer (index into it)")
        question = next(m["content"] for m in reversed(record["messages"]) if m["role"] == "user")
        rows.append({"question": question, "choices": [str(c) for c in choices], "answer": answer})
    with atomic_path(out_dir, directory=True) as tmp:
        with open(tmp / f"{name}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        data = Path(out_dir).resolve() / f"{name}.jsonl"  # where it lands after the rename
        (tmp / f"{name}.yaml").write_text(TASK_TEMPLATE.format(name=name, data=json.dumps(str(data))))
    return Path(out_dir)


def model_args(backend: str, model: str, adapter: str | None, tensor_parallel_size: int = 1) -> str:
    """lm-eval ``model_args`` for its ``hf`` or ``vllm`` model."""
    args = [f"pretrained={model}", "dtype=auto"]
    if backend == "hf":
        args += [f"peft={adapter}"] if adapter else []
    elif backend == "vllm":
        args += [f"tensor_parallel_size={tensor_parallel_size}"]
        args += [f"lora_local_path={adapter}", "enable_lora=True"] if adapter else []
    else:
        raise TunesafeError(f"unknown lm-eval backend {backend!r} (expected hf or vllm)")
    return ",".join(args)


def run_mmlu(model: str, out: str | os.PathLike, task: str = "mmlu", include_path: str | None = None,
             adapter: str | None = None, backend: str = "hf", num_fewshot: int = 0, batch_size: int = 16,
             limit: int | None = None, tensor_parallel_size: int = 1, seed: int = 1234) -> dict[str, Any]:
    """Accuracy on ``task`` (an lm-eval task or group), written as flat metrics JSON ``{"mmlu", "n", ...}``."""
    from tunesafe.weights import check_model

    check_model(model)
    if adapter:
        check_model(adapter, "adapter")
    import lm_eval
    from lm_eval.tasks import TaskManager

    if include_path and not Path(include_path).is_dir():
        raise TunesafeError(f"{include_path}: lm-eval task directory not found")
    # a local task needs only its own directory indexed (the built-in index takes ~15 s)
    manager = TaskManager(include_path=include_path, include_defaults=False) if include_path else TaskManager()
    if not manager.match_tasks([task]):
        raise TunesafeError(f"lm-eval has no task {task!r}" + (f" (also searched {include_path})" if include_path else ""))
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = lm_eval.simple_evaluate(model=backend, device=device, model_args=model_args(backend, model, adapter, tensor_parallel_size),
                                      tasks=[task], num_fewshot=num_fewshot, batch_size=batch_size, limit=limit,
                                      task_manager=manager, log_samples=False, random_seed=seed,
                                      numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed)
    scores = results["results"][task]
    n = results.get("n-samples", {}).get(task, {}).get("effective")
    if n is None:  # a group: the sum over its subtasks
        n = sum(v.get("effective", 0) for v in results.get("n-samples", {}).values())
    metrics = {"mmlu": scores["acc,none"], "mmlu_stderr": scores.get("acc_stderr,none"), "n": n, "task": task,
               "num_fewshot": num_fewshot, "backend": backend, "model": model, "adapter": adapter,
               "lm_eval_version": lm_eval.__version__ if hasattr(lm_eval, "__version__") else None}
    write_json(out, metrics)
    return metrics
