"""Budget forcing (MathIF CoT length control): the cut, the tag, the sweep table and figure."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from tunesafe.data import toy
from tunesafe.errors import TunesafeError
from tunesafe.generation import SamplingSettings, load_engine
from tunesafe.generation.budget import budget_forced, forced_prefix
from tunesafe.generation.run import generate_file
from tunesafe.io import read_jsonl, write_jsonl
from tunesafe.mathif.budget import budget_table, report

GREEDY = SamplingSettings(temperature=0, max_new_tokens=14)


def test_prefix_closes_an_open_thinking_and_cuts_a_closed_one():
    assert forced_prefix("<think> a b c") == "<think> a b c\n</think>\n\n"
    assert forced_prefix("<think> a </think> The answer is 3.") == "<think> a </think>\n\n"


class _Recorder:
    """An Engine that answers from a script and records each call's budget and prefixes."""

    def __init__(self, first):
        self.first, self.calls = first, []

    def generate(self, prompts, sampling, prefixes=None):
        self.calls.append((sampling.max_new_tokens, prefixes))
        return self.first if prefixes is None else [f"A{i}" for i in range(len(prompts))]


def test_two_passes_split_max_new_tokens_and_a_closed_thinking_is_answered_again():
    """The engine-agnostic path the vLLM engine takes: pass 1 capped at the budget, pass 2
    continues the forced prefixes with the tokens left."""
    engine = _Recorder(["<think> x y", "<think> x </think> early answer"])
    out = budget_forced(engine, [[{"role": "user", "content": "q"}]] * 2, GREEDY, budget=4)
    assert engine.calls == [(4, None), (10, ["<think> x y\n</think>\n\n", "<think> x </think>\n\n"])]
    assert out == ["<think> x y\n</think>\n\nA0", "<think> x </think>\n\nA1"]


def test_hf_thinking_is_cut_at_the_budget_and_the_tag_appended(tiny_model_dir):
    """The response starts with the model's own first 5 greedy tokens (a run capped at 5 new
    tokens), then </think>, then the answer the model writes after the tag."""
    engine = load_engine("hf", str(tiny_model_dir), batch_size=3)
    prompts = [r["messages"] for r in toy.hexphi(3, 0)]
    capped = engine.generate(prompts, dataclasses.replace(GREEDY, max_new_tokens=5))
    uncapped = engine.generate(prompts, GREEDY)
    forced = budget_forced(engine, prompts, GREEDY, budget=5)
    for cut, full, response in zip(capped, uncapped, forced, strict=True):
        assert "</think>" not in cut  # a random model never closes: the tag is ours
        thinking, sep, answer = response.partition("\n</think>\n\n")
        assert sep and thinking == cut and answer
        assert response != full and not full.startswith(response)


def test_generations_file_carries_the_budget_and_refuses_prefixes(tmp_path, tiny_model_dir):
    prompts = tmp_path / "p.jsonl"
    write_jsonl(prompts, [dict(r, messages=r["messages"][:-1]) for r in toy.gsm8k(3, 0)])
    out = tmp_path / "g.jsonl"
    generate_file("hf", str(tiny_model_dir), str(prompts), str(out), GREEDY, thinking_budget=4)
    rows = read_jsonl(out)
    assert all(r["thinking_budget"] == 4 and "\n</think>\n\n" in r["response"] for r in rows)
    with pytest.raises(TunesafeError, match="budget 14"):
        generate_file("hf", str(tiny_model_dir), str(prompts), str(out), GREEDY, thinking_budget=14)
    write_jsonl(prompts, [dict(r, messages=r["messages"][:-1], assistant_prefix="<think>") for r in toy.gsm8k(3, 0)])
    with pytest.raises(TunesafeError, match="assistant_prefix"):
        generate_file("hf", str(tiny_model_dir), str(prompts), str(out), GREEDY, thinking_budget=4)


def _scores(root, model, setting, hard, soft, correct, thinking):
    """A hand-made score file: len(hard) items with the given per-item values."""
    items = [{"hard": h, "soft": s, "correct": c, "thinking_tokens": t}
             for h, s, c, t in zip(hard, soft, correct, thinking, strict=True)]
    n = len(items)
    d = root / model
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{setting}.json").write_text(json.dumps({
        "hacc": sum(hard) / n, "sacc": sum(soft) / n, "correct": sum(correct) / n, "items": items,
        "correctness": "official"}))


def test_sweep_table_and_figure_from_hand_made_scores(tmp_path):
    root = tmp_path / "m"
    _scores(root, "a", "budget_8", [1, 1, 0, 0], [1, 1, .5, 0], [0, 0, 0, 1], [8, 8, 8, 8])
    _scores(root, "a", "budget_32", [1, 0, 0, 0], [1, .5, .5, 0], [1, 0, 0, 1], [30, 32, 20, 10])
    _scores(root, "a", "constraints", [0, 0, 0, 0], [.5, 0, 0, 0], [1, 1, 0, 1], [40, 60, 20, 0])
    _scores(root, "a", "intervention", [1, 1, 1, 0], [1, 1, 1, .5], [1, 0, 0, 1], [50, 50, 50, 50])
    table = report(root, ["a"], [32, 8], ["a"], tmp_path / "t", tmp_path / "f")
    expected = pd.DataFrame({"Setting": ["budget 8", "budget 32", "no budget", "repeat constraints"],
                             "HAcc (%)": [50.0, 25.0, 0.0, 75.0], "SAcc (%)": [62.5, 50.0, 12.5, 87.5],
                             "Correct (%)": [25.0, 50.0, 75.0, 50.0],
                             "Mean thinking length": [8.0, 23.0, 30.0, 50.0]})
    pd.testing.assert_frame_equal(table[list(expected.columns)], expected, check_dtype=False)
    assert list(table["Budget"].iloc[:2]) == [8, 32] and table["Budget"].iloc[2:].isna().all()
    assert (tmp_path / "t" / "mathif_budget.csv").exists() and (tmp_path / "t" / "mathif_budget.md").exists()
    assert all((tmp_path / "f" / f"mathif_budget.{e}").stat().st_size > 0 for e in ("pdf", "png"))
    assert len(budget_table(root, ["a"], [8])) == 2  # no intervention asked: no such row
    with pytest.raises(TunesafeError, match="budget_16"):
        budget_table(root, ["a"], [16])


def test_workflow_plans_one_generation_per_budget_and_refuses_a_budget_without_answer_room(tmp_path):
    from test_workflow_config import dry_run, toy_config, workdir

    work = workdir(tmp_path)
    config = toy_config()
    config["mathif"].update(budgets=[7, 9], budget_models=["toy_reasoning"])
    run = dry_run(work, config, "-p", "results/tables/mathif_budget.csv", quiet=False)
    assert run.returncode == 0, run.stderr
    for b in (7, 9):
        assert f"--thinking-budget {b} " in run.stdout
        assert f"results/generations/mathif/toy_reasoning/budget_{b}.jsonl" in run.stdout
    config["mathif"]["budgets"] = [config["mathif"]["sampling"]["max_new_tokens"]]
    run = dry_run(work, config)
    assert run.returncode != 0 and "config error: mathif.budgets: 160 is not below" in run.stdout + run.stderr


def test_toy_reasoning_data_shows_every_toy_constraint_met_often_enough_to_learn():
    """The toy config's reasoning data (mathif.toy_reasoning n, seed) holds >= 200 answers that
    meet each toy constraint type, by the official checkers (not the generator's labels):
    with 1000 records (~85-130 per type) the toy reasoning model followed almost nothing."""
    from pathlib import Path

    import yaml

    from tunesafe.mathif.scoring import score_item
    from tunesafe.mathif.toy import TOY_CONSTRAINTS, reasoning_records

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "config.yaml").read_text())
    toy = config["mathif"]["toy_reasoning"]
    met = dict.fromkeys(TOY_CONSTRAINTS, 0)
    for r in reasoning_records(toy["n"], toy["seed"], toy["wait_share"]):
        m = r["meta"]
        if m["constraints"]:
            item = {"question": "", "answer": "0", "constraint_name": m["constraints"], "constraint_args": m["args"]}
            for name, ok in zip(m["constraints"], score_item(item, r["messages"][1]["content"])["follow"], strict=True):
                met[name] += ok
    assert min(met.values()) >= 200, met
