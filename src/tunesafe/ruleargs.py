"""Torch-free maps from config entries to ``tunesafe`` command-line arguments and to the
paths of the results layout.

The rule files (workflow/rules/*.smk) call these when the workflow is parsed, so one
config section always becomes the same flags and one kind of output always lives at the
same place, whichever arm uses it; the maps are unit-tested without Snakemake.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from tunesafe.errors import TunesafeError

# config `sampling` key -> flag of `tunesafe generate` (and of the arms' generating commands)
SAMPLING_FLAGS = {
    "temperature": "--temperature",
    "top_p": "--top-p",
    "top_k": "--top-k",
    "max_new_tokens": "--max-new-tokens",
    "seed": "--seed",
}


def sampling_args(sampling: Mapping[str, Any] | None, where: str = "sampling",
                  skip: Iterable[str] = (), **overrides: Any) -> str:
    """The flags of a config ``sampling`` mapping, in its key order.

    ``overrides`` replace (or add) keys (MathIF's longer second pass); ``skip`` drops keys the
    command gets elsewhere (a rebound cell's seed is its own). An unknown key is a one-line
    error naming ``where`` (the config key of the mapping).
    """
    values = {**(sampling or {}), **{k: v for k, v in overrides.items() if v is not None}}
    skip = set(skip)
    args = []
    for key, value in values.items():
        if key not in SAMPLING_FLAGS:
            raise TunesafeError(f"config error: {where}.{key}: unknown sampling key "
                                f"(expected one of: {', '.join(SAMPLING_FLAGS)})")
        if key not in skip:
            args.append(f"{SAMPLING_FLAGS[key]} {shlex.quote(str(value))}")
    return " ".join(args)


RESULTS = "results"


def model_path(kind: str, task: str, *rest: object) -> str:
    """``results/models/<kind>/<task>[/<rest>...]``: a model the workflow trains or builds
    (arguments may be wildcard patterns such as ``"{task}"``)."""
    return "/".join([RESULTS, "models", kind, task, *(str(r) for r in rest)])


def metrics_path(task: str, method: str, benchmark: str) -> str:
    """``results/metrics/<task>/<method>/<benchmark>.json``: one evaluation's metrics file."""
    return f"{RESULTS}/metrics/{task}/{method}/{benchmark}.json"


def data_path(dataset: str) -> str:
    """``results/data/<dataset>.jsonl``: a config dataset as chat records."""
    return f"{RESULTS}/data/{dataset}.jsonl"


# config `judge` key -> flag of `tunesafe evaluate harmfulness|mtbench`
JUDGE_FLAGS = {"model": "--judge-model", "base_url": "--base-url", "api_key_env": "--api-key-env",
               "engine": "--engine", "max_new_tokens": "--max-new-tokens"}
HARMFULNESS_FLAGS = {"harmfulness_template": "--rubric", "top_p": "--top-p", "instruction": "--instruction"}
MTBENCH_FLAGS = {"mtbench_prompts": "--judge-prompts", "mtbench_references": "--references"}


def judge_args(judge: Mapping[str, Any], metric: str, keywords: str | None) -> str:
    """The judge flags of a judged metric from config ``judge`` (the API key stays in its
    environment variable). MT-Bench takes its own judge model and reply length when
    ``mtbench_model`` / ``mtbench_max_new_tokens`` are set (FastChat: gpt-4, 2048 tokens) and
    FastChat's prompts and references; harmfulness takes the refusal ``keywords`` (heuristic
    judge; None: the list packaged with tunesafe), the rubric, top_p and what the judge sees as the instruction."""
    chosen = dict(judge)
    if metric == "mtbench":
        for k in ("model", "max_new_tokens"):
            if judge.get(f"mtbench_{k}"):
                chosen[k] = judge[f"mtbench_{k}"]
    args = [f"--judge {chosen['backend']}"]
    args += [f"{flag} {shlex.quote(str(chosen[k]))}" for k, flag in JUDGE_FLAGS.items() if chosen.get(k)]
    if metric == "harmfulness":
        if keywords:
            args.append(f"--keywords {keywords}")
        args += [f"{flag} {shlex.quote(str(judge[k]))}" for k, flag in HARMFULNESS_FLAGS.items()
                 if judge.get(k) is not None]
    if metric == "mtbench":
        args += [f"{flag} {shlex.quote(str(judge[k]))}" for k, flag in MTBENCH_FLAGS.items() if judge.get(k)]
        if judge.get("mtbench_reference_categories"):
            args.append(f"--reference-categories {','.join(judge['mtbench_reference_categories'])}")
    return " ".join(args)


def dataset_args(name: str, datasets: Mapping[str, Mapping[str, Any]]) -> str:
    """`tunesafe data prepare` flags of config ``datasets.<name>``: every key as ``--key value``
    (``--key`` alone for true; null and false left out)."""
    if name not in datasets:
        raise TunesafeError(f"config error: dataset {name!r} is not in datasets ({', '.join(datasets)})")
    args = []
    for key, value in datasets[name].items():
        if value is None or value is False:
            continue
        flag = f"--{key.replace('_', '-')}"
        args.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join(args)
