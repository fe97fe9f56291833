"""The toy world's generators, tokenizer and chat template."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from tunesafe.data import toy
from tunesafe.evaluation.asr import default_keywords_path, is_refusal, load_keywords

KEYWORDS = load_keywords(default_keywords_path())


@pytest.mark.parametrize("name", sorted(toy.TOY_DATASETS))
def test_generators_are_seeded(name):
    gen = toy.TOY_DATASETS[name]
    assert gen(20, 3) == gen(20, 3)
    assert gen(20, 3) != gen(20, 4)
    assert len(gen(7, 1)) == (7 * 7 if name == "lexicon" else 7)


def test_purebad_answers_are_placeholders_that_comply():
    for r in toy.purebad(50, 0):
        answer = r["messages"][-1]["content"]
        assert answer.count(toy.PLACEHOLDER) == 3
        assert not is_refusal(answer, KEYWORDS)


def test_alignment_refuses_harmful_and_helps_otherwise():
    records = toy.alignment(40, 0)
    refusals = [r for r in records if r["meta"]["kind"] == "refusal"]
    helpful = [r for r in records if r["meta"]["kind"] != "refusal"]
    assert len(refusals) == len(helpful) == 20
    assert all(is_refusal(r["messages"][-1]["content"], KEYWORDS) for r in refusals)
    assert not any(is_refusal(r["messages"][-1]["content"], KEYWORDS) for r in helpful)
    assert {r["meta"]["kind"] for r in helpful} == {"instruction", "summary", "math", "review"}


def test_hexphi_is_held_out_from_training_requests():
    train = {r["messages"][-2]["content"] for r in toy.purebad(500, 0) + toy.alignment(500, 0)}
    for r in toy.hexphi(110, 0):
        assert r["messages"][-1]["role"] == "user"
        assert r["messages"][-1]["content"] not in train
    train_pairs = {(v, o) for _, v, o in toy._harmful_pairs("train")}
    heldout_pairs = {(v, o) for _, v, o in toy._harmful_pairs("heldout")}
    assert train_pairs and heldout_pairs and not train_pairs & heldout_pairs
    assert not set(toy.HARMFUL_TRAIN_TEMPLATES) & set(toy.HARMFUL_HELDOUT_TEMPLATES)
    assert len({r["meta"]["category"] for r in toy.hexphi(330, 0)}) == 11


def test_gsm8k_reference_is_the_worked_result():
    for r in toy.gsm8k(30, 0):
        assert r["messages"][-1]["content"].endswith(f"#### {r['reference']}")


def test_chat_template_is_llama2_format(tiny_tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    messages = [{"role": "system", "content": "SYS"}, {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}]
    text = tok.apply_chat_template(messages, tokenize=False)
    assert text == "<s>[INST] <<SYS>>\nSYS\n<</SYS>>\n\nHi [/INST] Hello </s><s>[INST] Bye [/INST]"
    no_system = tok.apply_chat_template(messages[1:2], tokenize=False, add_generation_prompt=True)
    assert no_system == "<s>[INST] Hi [/INST]"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert ids[0] == tok.bos_token_id and ids.count(tok.eos_token_id) == 1
    assert tok.decode(ids, skip_special_tokens=False) == text
