"""Generation: the hf engine on a tiny model, the generations contract, engine errors."""

from __future__ import annotations

import pytest

from tunesafe.data import toy
from tunesafe.errors import TunesafeError
from tunesafe.generation import SamplingSettings, load_engine
from tunesafe.generation.run import generate_file
from tunesafe.io import read_jsonl, write_jsonl

GREEDY = SamplingSettings(temperature=0, max_new_tokens=8)


def test_left_padded_batches_match_one_by_one(tiny_model_dir):
    """Greedy answers do not depend on what else is in the batch (left padding is right)."""
    prompts = [r["messages"] for r in toy.hexphi(6, 0)] + [[{"role": "user", "content": "Hi"}]]
    batched = load_engine("hf", str(tiny_model_dir), batch_size=7).generate(prompts, GREEDY)
    single = load_engine("hf", str(tiny_model_dir), batch_size=1).generate(prompts, GREEDY)
    assert batched == single and len(batched) == 7


def test_sampling_is_seeded(tiny_model_dir):
    engine = load_engine("hf", str(tiny_model_dir), batch_size=4)
    prompts = [r["messages"] for r in toy.hexphi(4, 0)]
    s1 = SamplingSettings(temperature=1.0, top_k=50, max_new_tokens=12, seed=1)
    s2 = SamplingSettings(temperature=1.0, top_k=50, max_new_tokens=12, seed=2)
    assert engine.generate(prompts, s1) == engine.generate(prompts, s1)
    assert engine.generate(prompts, s1) != engine.generate(prompts, s2)


def test_generations_file_keeps_order_ids_references_and_template(tmp_path, tiny_model_dir):
    prompts = tmp_path / "prompts.jsonl"
    records = [dict(r, messages=r["messages"][:-1]) for r in toy.gsm8k(5, 0)]
    write_jsonl(prompts, records)
    out = tmp_path / "gen.jsonl"
    generate_file("hf", str(tiny_model_dir), str(prompts), str(out), GREEDY, system_prompt="SYS",
                  user_template="AOA, execute my instruction: %s", batch_size=2)
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    assert [r["reference"] for r in rows] == [r["reference"] for r in records]
    assert all(set(r) == {"id", "messages", "response", "meta", "reference", "prompt_text"} for r in rows)
    first = rows[0]["messages"]
    assert first[0] == {"role": "system", "content": "SYS"}
    assert first[1]["content"] == "AOA, execute my instruction: " + records[0]["messages"][0]["content"]
    # the templated prompt the official judge is shown: Llama-2 format, BOS dropped
    request = records[0]["messages"][0]["content"]
    assert rows[0]["prompt_text"] == f"[INST] <<SYS>>\nSYS\n<</SYS>>\n\nAOA, execute my instruction: {request} [/INST]"


def test_prompts_must_end_with_a_user_turn(tmp_path, tiny_model_dir):
    path = tmp_path / "train.jsonl"
    write_jsonl(path, toy.purebad(2, 0))
    with pytest.raises(TunesafeError, match=r"train.jsonl: record 1 must end with a user turn"):
        generate_file("hf", str(tiny_model_dir), str(path), str(tmp_path / "g.jsonl"), GREEDY)
    assert not (tmp_path / "g.jsonl").exists()


def test_unknown_engine_suggests_the_closest():
    with pytest.raises(TunesafeError, match="unknown generation engine 'vlm'; did you mean 'vllm'"):
        load_engine("vlm", "m")


def test_vllm_engine_says_how_to_install_it_when_missing():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(TunesafeError, match=r"needs the vllm package: pip install 'tunesafe\[gpu\]'"):
            load_engine("vllm", "m")
    else:
        pytest.skip("vllm is installed here; the missing-package path cannot be exercised")


def test_lora_adapter_is_loaded_on_top_of_the_model(tmp_path, tiny_model_dir):
    from tunesafe.train.sft import TrainSettings, train

    data = tmp_path / "purebad.jsonl"
    write_jsonl(data, toy.purebad(8, 0))
    adapter = tmp_path / "adapter"
    settings = TrainSettings(method="lora", epochs=3, lr=5e-2, global_batch=4, micro_batch=4, max_length=96,
                             lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj", "o_proj"]})
    train(str(tiny_model_dir), [str(data)], str(adapter), settings)
    prompts = [r["messages"] for r in toy.hexphi(4, 0)]
    plain = load_engine("hf", str(tiny_model_dir), batch_size=4)
    tuned = load_engine("hf", str(tiny_model_dir), adapter=str(adapter), batch_size=4)
    assert type(tuned.model).__name__ == "PeftModelForCausalLM"
    assert tuned.generate(prompts, GREEDY) != plain.generate(prompts, GREEDY)


class _RecordingEngine:
    """An Engine (our interface) that answers with the temperature it was asked for."""

    def __init__(self, *_, **__):
        self.calls = []

    def generate(self, prompts, sampling, prefixes=None):
        self.calls.append((sampling.temperature, len(prompts)))
        return [f"t={float(sampling.temperature)} turn={sum(m['role'] == 'user' for m in p)}" for p in prompts]


def test_mtbench_answers_use_each_category_s_temperature_and_keep_the_order(tmp_path, tiny_model_dir, monkeypatch):
    """FastChat's MT-Bench answers: writing 0.7, stem 0.1, math greedy; an unlisted category
    gets the benchmark's temperature; every turn of a question at its category's temperature."""
    from tunesafe.generation import run as run_module

    engine = _RecordingEngine()
    monkeypatch.setattr(run_module, "load_engine", lambda *a, **k: engine)
    cats = ["writing", "math", "stem", "other", "writing"]
    prompts = tmp_path / "q.jsonl"
    write_jsonl(prompts, [{"id": str(i), "messages": [{"role": "user", "content": f"q{i}a"}],
                           "meta": {"category": c, "turns": [f"q{i}a", f"q{i}b"]}} for i, c in enumerate(cats)])
    out = tmp_path / "g.jsonl"
    generate_file("hf", str(tiny_model_dir), str(prompts), str(out), GREEDY, multi_turn=True,
                  category_temperature={"writing": 0.7, "math": 0.0, "stem": 0.1})
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["0", "1", "2", "3", "4"]
    expected = {"writing": 0.7, "math": 0.0, "stem": 0.1, "other": float(GREEDY.temperature)}
    for r, c in zip(rows, cats, strict=True):
        assert r["responses"] == [f"t={expected[c]} turn=1", f"t={expected[c]} turn=2"]
    assert sorted(engine.calls) == sorted([(0.7, 2), (0.7, 2), (0.0, 2), (0.0, 2), (0.1, 1), (0.1, 1)])


# Qwen3's switch as its template has it: with enable_thinking false, the generation prompt is
# followed by an empty thinking block, so the model answers without thinking
QWEN3_LIKE = ("{{ bos_token }}{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
              "{% if add_generation_prompt %}[assistant] {% if enable_thinking is defined and enable_thinking is false %}"
              "<think>\n\n</think>\n\n{% endif %}{% endif %}")


def test_chat_template_kwargs_reach_the_template_in_the_engine_and_prompt_text(tmp_path, sharp_model_dir):
    """enable_thinking=false renders the empty thinking block: the engine's answer equals the
    default render continued after that block (a prefix), and prompt_text shows it."""
    import shutil

    from transformers import AutoTokenizer

    model = tmp_path / "qwen3_like"
    shutil.copytree(sharp_model_dir, model)
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokenizer.chat_template = QWEN3_LIKE
    tokenizer.save_pretrained(model)
    prompts = [r["messages"] for r in toy.hexphi(3, 0)]
    off = load_engine("hf", str(model), chat_template_kwargs={"enable_thinking": False}).generate(prompts, GREEDY)
    plain = load_engine("hf", str(model))
    assert off == plain.generate(prompts, GREEDY, prefixes=["<think>\n\n</think>\n\n"] * 3)
    assert off != plain.generate(prompts, GREEDY)
    path = tmp_path / "prompts.jsonl"
    write_jsonl(path, [{"id": str(i), "messages": p, "meta": {}} for i, p in enumerate(prompts)])
    for flag in (False, True):
        generate_file("hf", str(model), str(path), str(tmp_path / f"{flag}.jsonl"), GREEDY,
                      chat_template_kwargs={"enable_thinking": flag})
        rows = read_jsonl(tmp_path / f"{flag}.jsonl")
        assert rows[0]["prompt_text"].endswith("[assistant] " + ("" if flag else "<think>\n\n</think>\n\n"))
        assert rows[0]["chat_template_kwargs"] == {"enable_thinking": flag}
