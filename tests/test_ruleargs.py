"""tunesafe.ruleargs: config sections to command-line flags and results paths (the maps every
rule file uses), and tunesafe.baselines.tasks: the tables' task lists from config."""

from __future__ import annotations

import pytest

from tunesafe.baselines.tasks import derived_tasks, tasks_of_kind
from tunesafe.errors import TunesafeError
from tunesafe.ruleargs import (
    data_path,
    dataset_args,
    judge_args,
    metrics_path,
    model_path,
    sampling_args,
)


def test_sampling_flags_follow_the_config_order():
    s = {"temperature": 0.7, "top_p": 0.95, "top_k": 0, "max_new_tokens": 160, "seed": 42}
    assert sampling_args(s) == "--temperature 0.7 --top-p 0.95 --top-k 0 --max-new-tokens 160 --seed 42"
    assert sampling_args({"max_new_tokens": 64, "temperature": 0}) == "--max-new-tokens 64 --temperature 0"
    assert sampling_args(None) == sampling_args({}) == ""


def test_sampling_overrides_and_skips():
    s = {"temperature": 1.0, "max_new_tokens": 160, "seed": 42}
    # MathIF's second pass: a longer budget, the rest unchanged; None leaves the key alone
    assert sampling_args(s, max_new_tokens=120) == "--temperature 1.0 --max-new-tokens 120 --seed 42"
    assert sampling_args(s, max_new_tokens=None) == "--temperature 1.0 --max-new-tokens 160 --seed 42"
    # a rebound cell passes its own seed
    assert sampling_args(s, skip=["seed"]) == "--temperature 1.0 --max-new-tokens 160"


def test_an_unknown_sampling_key_names_its_config_key():
    with pytest.raises(TunesafeError) as e:
        sampling_args({"temprature": 1.0}, "benchmarks.safety.sampling")
    assert str(e.value).startswith("config error: benchmarks.safety.sampling.temprature: unknown sampling key")


def test_result_paths():
    assert model_path("safedelta", "purebad", "s0.11") == "results/models/safedelta/purebad/s0.11"
    assert model_path("{ft}", "{task}") == "results/models/{ft}/{task}"
    assert metrics_path("aoa", "bea", "safety") == "results/metrics/aoa/bea/safety.json"
    assert data_path("hexphi") == "results/data/hexphi.jsonl"


def test_table_tasks_by_kind_in_config_order():
    config = {"finetune": {"tasks": {"math": {"kind": "benign"}, "aoa": {"kind": "harmful"},
                                     "dirty": {"kind": "benign"}, "bad": {"kind": "harmful"}}}}
    assert tasks_of_kind(config, "harmful") == ["aoa", "bad"]
    assert tasks_of_kind(config, "benign") == ["math", "dirty"]
    with pytest.raises(ValueError, match="task kind 'evil'"):
        tasks_of_kind(config, "evil")


def test_derived_tasks_of_the_baselines():
    tasks = {"purebad": {"kind": "harmful", "data": ["purebad"], "benchmarks": ["safety"], "train": {"lr": 1}},
             "math": {"kind": "benign", "data": ["gsm8k"], "benchmarks": ["math"]}}
    base = {"size_sweep": {"task": "purebad", "dataset": "pool", "sizes": [10, 50]},
            "resta": {"unaligned_data": ["harm"]}}
    out = derived_tasks({"finetune": {"tasks": tasks}, "baselines": base})
    assert list(out) == ["purebad_n10", "purebad_n50", "resta_unaligned"]
    assert out["purebad_n50"] == {**tasks["purebad"], "data": ["pool"], "size": 50}
    # Resta's unaligned model takes the first task's settings unless told otherwise
    assert out["resta_unaligned"] == {**tasks["purebad"], "data": ["harm"], "benchmarks": []}
    base["resta"]["unaligned_settings_from"] = "math"
    assert derived_tasks({"finetune": {"tasks": tasks}, "baselines": base})["resta_unaligned"]["data"] == ["harm"]
    assert derived_tasks({"finetune": {"tasks": tasks}, "baselines": base})["resta_unaligned"]["kind"] == "benign"
    assert derived_tasks({"finetune": {"tasks": tasks}}) == {}


PAPER_JUDGE = {"backend": "openai", "model": "gpt-4o-2024-11-20", "api_key_env": "OPENAI_API_KEY",
               "max_new_tokens": 4096, "top_p": 0, "harmfulness_template": "data/judge/t.txt",
               "instruction": "templated", "mtbench_model": "gpt-4-0613", "mtbench_max_new_tokens": 2048,
               "mtbench_prompts": "data/mt/judge_prompts.jsonl", "mtbench_references": "data/mt/ref.jsonl",
               "mtbench_reference_categories": ["math", "coding"]}


def test_harmfulness_judge_flags():
    # top_p 0 is a value (sent), not an absent key
    assert judge_args(PAPER_JUDGE, "harmfulness", "kw.txt") == (
        "--judge openai --judge-model gpt-4o-2024-11-20 --api-key-env OPENAI_API_KEY --max-new-tokens 4096 "
        "--keywords kw.txt --rubric data/judge/t.txt --top-p 0 --instruction templated")


def test_mtbench_takes_its_own_judge_model_and_fastchat_files():
    assert judge_args(PAPER_JUDGE, "mtbench", "kw.txt") == (
        "--judge openai --judge-model gpt-4-0613 --api-key-env OPENAI_API_KEY --max-new-tokens 2048 "
        "--judge-prompts data/mt/judge_prompts.jsonl --references data/mt/ref.jsonl --reference-categories math,coding")
    assert judge_args({"backend": "heuristic"}, "mtbench", "kw.txt") == "--judge heuristic"
    assert judge_args({"backend": "heuristic"}, "harmfulness", "kw.txt") == "--judge heuristic --keywords kw.txt"


def test_dataset_flags():
    datasets = {"samsum": {"source": "hf", "id": "knkarthick/samsum", "split": "train", "prompts": True,
                           "limit": None, "shuffle": False, "system_prompt": "Summarize this, it's short."}}
    assert dataset_args("samsum", datasets) == (
        "--source hf --id knkarthick/samsum --split train --prompts --system-prompt 'Summarize this, it'\"'\"'s short.'")
    with pytest.raises(TunesafeError, match="dataset 'samsun' is not in datasets"):
        dataset_args("samsun", datasets)
