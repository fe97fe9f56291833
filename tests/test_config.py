"""Config validation: both shipped configs pass; a wrong key, type or reference fails with
one line naming it, also through Snakemake."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tunesafe.config import safedelta_scale, validate_config
from tunesafe.errors import TunesafeError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "config" / "schema.yaml"
TOY = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())


@pytest.mark.parametrize("config", [TOY, PAPER], ids=["toy", "paper"])
def test_shipped_configs_are_valid(config):
    validate_config(copy.deepcopy(config), SCHEMA)


def test_paper_config_has_the_paper_recipe():
    tasks = PAPER["finetune"]["tasks"]
    assert PAPER["models"]["aligned"] == "meta-llama/Llama-2-7b-chat-hf"
    d = PAPER["finetune"]["defaults"]
    assert (d["method"], d["weight_decay"], d["lr_gamma"], d["max_length"], d["seed"]) == ("full", 0.0, 0.85, 512, 42)
    # purebad_safedelta.sh: torchrun --nproc_per_node 2 x --batch_size_training 10, accumulation 1
    assert tasks["purebad"]["train"] == {"epochs": 5, "lr": 5e-5, "global_batch": 20, "micro_batch": 10}
    assert d["precision"] == "pure_bf16"
    assert (tasks["aoa"]["train"]["epochs"], tasks["aoa"]["train"]["lr"], tasks["aoa"]["train"]["global_batch"]) == (10, 5e-5, 10)
    ds = tasks["dirty_summary"]
    assert ds["data"] == ["samsum_train", "purebad"]
    assert PAPER["datasets"]["samsum_train"]["path"].endswith("train1000.json")  # SD's own 1000 rows
    assert (ds["train"]["epochs"], ds["train"]["lr"], ds["train"]["global_batch"]) == (3, 2e-5, 64)
    safety = PAPER["benchmarks"]["safety"]["sampling"]
    assert safety == {"temperature": 1.0, "top_p": 1.0, "top_k": 50, "max_new_tokens": 512, "seed": 42}


def _error(mutate) -> str:
    config = copy.deepcopy(TOY)
    mutate(config)
    with pytest.raises(TunesafeError) as e:
        validate_config(config, SCHEMA)
    message = str(e.value)
    assert "\n" not in message
    return message


def test_unknown_key_is_named_with_a_suggestion():
    msg = _error(lambda c: c["finetune"]["tasks"]["purebad"]["train"].update(lrr=1))
    assert msg.startswith("config error: finetune.tasks.purebad.train.lrr: unknown key; did you mean 'lr'?")


def test_wrong_type_is_named():
    msg = _error(lambda c: c["datasets"]["hexphi"].update(n="many"))
    assert msg == "config error: datasets.hexphi.n: expected integer, got 'many'"


def test_missing_source_field_is_named():
    msg = _error(lambda c: c["datasets"].update(aoa={"source": "file", "format": "aoa_json"}))
    assert msg == "config error: datasets.aoa: 'path' is a required property"


def test_dangling_reference_is_named():
    msg = _error(lambda c: c["finetune"]["tasks"]["math"].update(data=["gsm8k_trian"]))
    assert "finetune.tasks.math.data: 'gsm8k_trian' is not in datasets" in msg


def _dry_run_config_errors(tmp_path, config: dict) -> list[str]:
    """The "config error" lines of a failing `snakemake -n` on ``config``."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    run = subprocess.run([snakemake, "-n", "--configfile", str(path)], cwd=REPO, capture_output=True, text=True)
    assert run.returncode != 0
    return [line for line in (run.stdout + run.stderr).splitlines() if "config error" in line]


def test_snakemake_stops_with_one_line_naming_the_key(tmp_path):
    bad = copy.deepcopy(TOY)
    bad["generation"]["engin"] = "hf"
    lines = _dry_run_config_errors(tmp_path, bad)
    assert lines == ["config error: generation.engin: unknown key; did you mean 'engine'? (expected one of: batch_size, engine, tensor_parallel_size)"]


def test_safedelta_scale_per_task_with_default_and_source():
    per_task = {"purebad": 0.11, "dirty_summary": 0.1, "default": 0.2}
    assert safedelta_scale(0.3, "aoa") == 0.3
    assert safedelta_scale(per_task, "purebad") == 0.11
    assert safedelta_scale(per_task, "dirty_summary") == 0.1
    assert safedelta_scale(per_task, "aoa") == 0.2
    assert safedelta_scale(per_task, "purebad_n50", source="purebad") == 0.11
    with pytest.raises(TunesafeError, match="no value for task 'aoa'"):
        safedelta_scale({"purebad": 0.11}, "aoa")


def test_safedelta_scale_map_names_tasks_and_covers_them():
    msg = _error(lambda c: c["safedelta"].update(scale={"purebadd": 0.1, "default": 0.1}))
    assert "safedelta.scale: 'purebadd' is not in finetune.tasks" in msg
    msg = _error(lambda c: c["safedelta"].update(scale={"purebad": 0.1}))
    assert msg == "config error: safedelta.scale: no value for task 'aoa' and no 'default'"


def test_paper_dry_run_plans_the_official_values():
    """`snakemake -n -p --configfile config/paper.yaml` plans what the official code runs."""
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    run = subprocess.run([snakemake, "results/tables/time_cost.csv", "results/tables/safedelta_ablation.csv",
                          "results/tables/safedelta_benign.csv", "results/tables/safedelta_harmful.csv",
                          "-n", "-p", "--configfile", "config/paper.yaml"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    purebad = next(line for line in out.splitlines() if "train sft" in line and "--out results/models/finetuned/purebad " in line)
    assert '"precision": "pure_bf16"' in purebad and '"global_batch": 20' in purebad  # 2 x 10, pure bf16
    assert "safedelta hessian" in out and "--nsamples 128" in out and "--no-eos" in out
    assert "--scale 0.11 " in out.split("--out results/models/safedelta/purebad/s0.11")[0].splitlines()[-1]
    assert "results/models/safedelta/dirty_summary/s0.1 " in out
    assert '"alpha": 32' in out and "--num-layers 10" in out
    assert "--judge-model gpt-4o-2024-11-20" in out and "--rubric data/judge/qi_gpt4_judge_template.txt" in out
    assert "--top-p 0 --instruction templated" in out
    assert "evaluate rouge1" in out and "--implementation rouge " in out
    assert "--system-prompt 'You are a helpful assistant for dialog summarization.'" in out
    assert "--judge-model gpt-4-0613" in out and "--judge-prompts data/mt_bench/judge_prompts.jsonl" in out


def test_snakemake_checks_every_finetune_setting_when_parsed(tmp_path):
    """global_batch % micro_batch (checked inside the training job too) stops `snakemake -n`."""
    bad = copy.deepcopy(TOY)
    bad["finetune"]["tasks"]["aoa"]["train"].update(global_batch=12, micro_batch=5)
    lines = _dry_run_config_errors(tmp_path, bad)
    assert len(lines) == 1 and lines[0].startswith(
        "config error: finetune.tasks.aoa.train: train setting global_batch=12 is invalid"), lines


@pytest.mark.parametrize(("where", "change", "expected"), [
    (("rebound", "resistance", "align_train"), {"micro_batch": 0},
     "config error: rebound.resistance.align_train: train setting micro_batch=0 is invalid"),
    (("toy", "base_training"), {"method": "qlora"}, "config error: toy.base_training: train setting method='qlora'"),
    (("thinking", "toy_instruct", "training"), {"micro_batch": 0},
     "config error: thinking.toy_instruct.training: train setting micro_batch=0 is invalid"),
    (("baselines", "lora"), {"global_batch": 7, "micro_batch": 2},
     "config error: baselines.lora (on finetune.tasks.purebad.train): train setting global_batch=7"),
])
def test_train_settings_of_every_arm_are_checked(where, change, expected):
    from tunesafe.train.settings import check_config

    bad = copy.deepcopy(TOY)
    node = bad
    for key in where:
        node = node[key]
    node.update(change)
    with pytest.raises(TunesafeError) as e:
        check_config(bad)
    assert str(e.value).startswith(expected)


def test_train_settings_count_the_gpus_of_the_training_job():
    """Paper PureBad: global 20, micro 10 on finetune's 2 GPUs = 20 per step; on 4 GPUs, 40 does not divide 20."""
    from tunesafe.train.settings import check_config

    check_config(PAPER)
    bad = copy.deepcopy(PAPER)
    bad["cluster"]["jobs"]["finetune"]["gpu"] = 4
    with pytest.raises(TunesafeError) as e:
        check_config(bad)
    assert str(e.value) == ("config error: finetune.tasks.purebad.train: global_batch=20 is not a multiple of "
                            "micro_batch x processes = 40 (cluster.jobs.finetune.gpu = 4)")


def test_validation_fills_the_schema_defaults_and_keeps_optional_sections_absent():
    config = copy.deepcopy(TOY)
    for key in ("threads", "seed", "cluster", "baselines", "mathif", "rebound"):
        config.pop(key)
    for key in ("engine", "batch_size"):
        config["generation"].pop(key, None)
    config["safedelta"].pop("eos", None)
    config["safedelta"]["max_length"] = 64  # a given value wins
    validate_config(config, SCHEMA)
    assert (config["threads"], config["seed"]) == (1, 42)
    assert config["generation"] == {**config["generation"], "engine": "hf", "batch_size": 16, "tensor_parallel_size": 1}
    assert (config["safedelta"]["eos"], config["safedelta"]["max_length"]) == (True, 64)
    # a section with a default is filled with its own defaults, recursively
    assert config["cluster"] == {"model_gb": 0, "mem_mb": 4000, "runtime": 60, "cpus_per_gpu": 8, "offline": False,
                                 "revisions": {}, "jobs": {}}
    assert not {"baselines", "mathif", "rebound"} & set(config)
    mathif = copy.deepcopy(TOY)
    mathif["mathif"].pop("toy_reasoning")
    validate_config(mathif, SCHEMA)
    assert mathif["mathif"]["toy_reasoning"] == {"n": 600, "wait_share": 0.2, "training": {}}
