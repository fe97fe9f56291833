"""GRPO through TRL (tunesafe.train.grpo): a few steps on a tiny model move it toward the reward."""

from __future__ import annotations

import json

import pytest
import torch

from tunesafe.errors import TunesafeError
from tunesafe.io import write_jsonl
from tunesafe.train.grpo_settings import GrpoSettings
from tunesafe.train.rewards import REWARDS

DIGITS = set("0123456789")


def _digit_share(text: str, reference) -> float:
    """A reward that pays for digits: the share of the completion's characters that are digits."""
    _digit_share.calls.append((text, reference))
    return sum(ch in DIGITS for ch in text) / max(len(text), 1)


def _digit_mass(model_dir, prompt: str) -> float:
    """Probability the model gives to tokens holding a digit, right after the prompt (exact)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)["input_ids"]
    with torch.no_grad():
        probs = model(ids).logits[0, -1].softmax(-1)
    digit_ids = [i for i in range(len(tok)) if DIGITS & set(tok.decode([i]))]
    assert digit_ids, "the toy tokenizer has tokens with digits"
    return float(probs[digit_ids].sum())


@pytest.fixture
def digit_reward():
    _digit_share.calls = []
    REWARDS.add("test_digit_share", _digit_share)
    yield _digit_share
    REWARDS.remove("test_digit_share")


def test_grpo_moves_the_model_toward_the_reward(tmp_path, sharp_model_dir, digit_reward):
    from tunesafe.train.grpo import train

    prompts = [{"id": f"p{i}", "messages": [{"role": "user", "content": f"How many apples? {i}"}],
                "reference": str(i)} for i in range(4)]
    write_jsonl(tmp_path / "prompts.jsonl", prompts)
    settings = GrpoSettings(steps=4, lr=1e-1, group_size=8, prompts_per_step=2, micro_batch=16,
                            max_completion_length=8, temperature=1.0, seed=0)
    before = _digit_mass(sharp_model_dir, "How many apples? 1")
    result = train(str(sharp_model_dir), str(tmp_path / "prompts.jsonl"), str(tmp_path / "out"),
                   ["test_digit_share"], settings)
    after = _digit_mass(tmp_path / "out", "How many apples? 1")
    assert result["steps"] == 4
    # the reward saw every completion: 4 steps x 2 prompts x 8 in a group, with the prompts' references
    assert len(digit_reward.calls) == 4 * 2 * 8
    assert {ref for _, ref in digit_reward.calls} <= {"0", "1", "2", "3"}
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert len(summary["rewards"]) == 4 and summary["reward_names"] == ["test_digit_share"]
    assert after > 2 * before, (before, after)  # RL raised the mass on what the reward pays for
    assert not (tmp_path / "out.grpo-run").exists()


def test_prompts_with_an_assistant_turn_are_refused(tmp_path, tiny_model_dir):
    from tunesafe.train.grpo import load_prompts

    write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "messages": [{"role": "user", "content": "q"},
                                                                {"role": "assistant", "content": "x"}]}])
    with pytest.raises(TunesafeError, match=r"p.jsonl: record 1 \(a\) does not end with a user turn"):
        load_prompts(str(tmp_path / "p.jsonl"), None)


@pytest.mark.parametrize(("settings", "name"), [({"group_size": 1}, "group_size"),
                                                ({"micro_batch": 3}, "micro_batch"),
                                                ({"beta": -0.1}, "beta")])
def test_bad_settings_name_the_key(settings, name):
    with pytest.raises(TunesafeError, match=rf"grpo setting {name}="):
        GrpoSettings.from_dict(settings)
    with pytest.raises(TunesafeError, match="unknown key 'groupsize'"):
        GrpoSettings.from_dict({"groupsize": 4})


def test_cli_refuses_a_bad_setting_in_one_line(tmp_path, capsys):
    from tunesafe.cli import main

    rc = main(["train", "grpo", "--model", "m", "--prompts", "p.jsonl", "--reward", "mathif_correct",
               "--settings", '{"steps": 2}', "--group-size", "1", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("tunesafe train: error: grpo setting group_size=1 is invalid") and "\n" not in err
    assert not (tmp_path / "o").exists()
