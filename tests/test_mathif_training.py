"""MathIF training paradigms (tunesafe.mathif.training): RL prompts and the paradigm table."""

from __future__ import annotations

import pandas as pd
import pytest

from tunesafe.errors import TunesafeError
from tunesafe.io import write_json
from tunesafe.mathif.data import COT
from tunesafe.mathif.training import rl_prompts, training_table


def test_toy_rl_prompts_are_unconstrained_problems_with_their_answer():
    rows = rl_prompts("toy", 40, 31)
    assert rows == rl_prompts("toy", 40, 31)  # a pure function of (n, seed)
    assert rows != rl_prompts("toy", 40, 32)
    for row in rows:
        (turn,) = row["messages"]
        assert turn["role"] == "user" and turn["content"].endswith(COT)  # nothing after the CoT line
        question = turn["content"][: -len(COT)]
        numbers = [int(w) for w in question.replace("?", " ").split() if w.isdigit()]
        a, b = numbers
        # the reference is the sum, or the difference for "gives ... away" questions
        assert int(row["reference"]) == (a - b if "left" in question else a + b)


def test_rl_prompts_errors_name_the_flag():
    with pytest.raises(TunesafeError, match="--n"):
        rl_prompts("toy", None, 1)
    with pytest.raises(TunesafeError, match="--id"):
        rl_prompts("hf", 5, 1)


def _scores(root, model, hacc, sacc, correct, correct_free):
    items = [{"follow": [True], "hard": True}]
    write_json(root / model / "constraints.json", {"hacc": hacc, "sacc": sacc, "correct": correct, "items": items})
    write_json(root / model / "no_constraints.json", {"hacc": 1.0, "sacc": 1.0, "correct": correct_free, "items": items})


def test_training_table_rows_per_seed_and_mean_with_sd(tmp_path):
    _scores(tmp_path, "training/base", 0.10, 0.30, 0.05, 0.10)
    _scores(tmp_path, "sft", 0.20, 0.40, 0.50, 0.60)
    _scores(tmp_path, "rl/a/s1", 0.10, 0.35, 0.60, 0.70)
    _scores(tmp_path, "rl/a/s2", 0.20, 0.45, 0.70, 0.80)
    table = training_table(tmp_path, {"Base": ["training/base"], "SFT": ["sft"], "SFT+RL": ["rl/a/s1", "rl/a/s2"]},
                           paper={"SFT": {"hacc": 12.3}})
    assert list(table["Paradigm"]) == ["Base", "SFT", "SFT+RL", "SFT+RL", "SFT+RL"]
    assert list(table["Seed"]) == ["training/base", "sft", "rl/a/s1", "rl/a/s2", "mean"]
    mean = table.iloc[-1]
    # by hand: HAcc (10 + 20) / 2 = 15, sd of {10, 20} = 7.07; SAcc (35 + 45) / 2 = 40
    assert mean["HAcc (%)"] == 15.0 and mean["HAcc (%) sd"] == 7.07 and mean["SAcc (%)"] == 40.0
    assert mean["Correct w/ constraints (%)"] == 65.0 and mean["Correct w/o constraints (%)"] == 75.0
    assert table.iloc[1]["Correct w/o constraints (%)"] == 60.0  # from no_constraints.json
    assert table.iloc[1]["Paper HAcc (%)"] == 12.3 and pd.isna(table.iloc[0]["Paper HAcc (%)"])
    plain = training_table(tmp_path, {"SFT": ["sft"]})
    assert not [c for c in plain.columns if c.startswith("Paper")]  # no paper numbers: no paper columns


def test_training_table_names_a_missing_score_file(tmp_path):
    with pytest.raises(TunesafeError, match=r"rl/x/s1/constraints.json"):
        training_table(tmp_path, {"SFT+RL": ["rl/x/s1"]})


def test_toy_prompts_meet_no_constraint_by_construction():
    """The RL prompts carry no constraint text: no toy constraint description is in them."""
    from tunesafe.mathif.toy import toy_items

    descriptions = {d for it in toy_items(60, 21) for d in it["constraint_desc"]}
    for row in rl_prompts("toy", 40, 31):
        assert not any(d in row["messages"][0]["content"] for d in descriptions)


def test_workflow_plans_each_variant_and_seed_from_its_start_and_scores_it(tmp_path):
    from test_workflow_config import dry_run, toy_config, workdir

    work = workdir(tmp_path)
    config = toy_config()
    run = dry_run(work, config, "-p", "results/tables/mathif_training.csv", "results/tables/mathif.csv", quiet=False)
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    training = config["mathif"]["training"]
    for variant, spec in training["variants"].items():
        start = "results/models/toy/base" if spec["start"] == "base" else "results/models/toy/reasoning"
        rewards = " ".join(f"--reward {r}" for r in spec["rewards"])
        for seed in training["seeds"]:
            cmd = next(line for line in out.splitlines() if f"--out results/models/mathif_rl/{variant}/s{seed} " in line)
            assert f"train grpo --model {start} " in cmd and f" {rewards} " in cmd and f"--seed {seed} " in cmd
            for setting in ("constraints", "no_constraints"):
                assert f"results/metrics/mathif/rl/{variant}/s{seed}/{setting}.json" in out
    assert "results/metrics/mathif/training/base/no_constraints.json" in out
    report = next(line for line in out.splitlines() if "report mathif-training" in line)
    assert "--row Base=training/base --row SFT=toy_reasoning --row SFT+RL=rl/sft_rl/s1,rl/sft_rl/s2 " in report
    # the paradigms stay out of Table 3
    table3 = next(line for line in out.splitlines() if "tunesafe report mathif " in line)
    assert "rl/" not in table3 and "training/base" not in table3


def test_workflow_refuses_an_sft_model_that_is_not_a_mathif_model(tmp_path):
    from test_workflow_config import dry_run, toy_config, workdir

    config = toy_config()
    config["mathif"]["training"]["sft"] = "nope"
    run = dry_run(workdir(tmp_path), config)
    assert run.returncode != 0 and "config error: mathif.training.sft: 'nope' is not a mathif.models entry" in run.stdout + run.stderr


def test_workflow_refuses_grpo_settings_the_job_would_refuse(tmp_path):
    from test_workflow_config import dry_run, toy_config, workdir

    config = toy_config()
    config["mathif"]["training"]["grpo"].update(group_size=8, prompts_per_step=4, micro_batch=12)
    run = dry_run(workdir(tmp_path), config)
    assert run.returncode != 0
    assert "config error: mathif.training.grpo: grpo setting micro_batch=12 is invalid" in run.stdout + run.stderr


def test_paper_config_plans_grpo_on_gpus(tmp_path):
    from test_workflow_config import dry_run, workdir

    work = workdir(tmp_path)
    run = dry_run(work, None, "-p", "results/tables/mathif_training.csv", "--configfile", "config/paper.yaml", quiet=False)
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = run.stdout.split("rule mathif_grpo:")[1:]
    assert len(jobs) == 6  # 3 variants x 2 seeds
    assert all("gpu=8" in job.split("rule ")[0] for job in jobs)
    assert "--gpus 8 train grpo --model Qwen/Qwen2.5-Math-1.5B " in run.stdout
