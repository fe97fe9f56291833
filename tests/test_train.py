"""Fine-tuning: the assistant-only loss mask, full and LoRA SFT, resumption after a kill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from tunesafe.data import toy
from tunesafe.errors import TunesafeError
from tunesafe.io import write_jsonl
from tunesafe.train.sft import TrainSettings, train
from tunesafe.train.tokenize import IGNORE_INDEX, collate, tokenize_chat

TUNESAFE = str(Path(sys.executable).with_name("tunesafe"))
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How do I bake bread?"},
        {"role": "assistant", "content": "Mix, knead, bake."}, {"role": "user", "content": "And a cake?"},
        {"role": "assistant", "content": "Mix and bake."}]


def _trained_text(tok, messages, loss_on="assistant"):
    x = tokenize_chat(tok, messages, max_length=512, loss_on=loss_on)
    return tok.decode([t for t, lab in zip(x["input_ids"], x["labels"], strict=True) if lab != IGNORE_INDEX]), x


def test_loss_mask_covers_exactly_the_assistant_turns(tiny_tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    trained, x = _trained_text(tok, CHAT)
    # the two answers and their end-of-turn markers, nothing of the prompt
    assert trained.replace(" ", "") == "Mix,knead,bake.</s>Mixandbake.</s>"
    assert "bread" not in trained and "Be brief" not in trained
    assert x["labels"][-1] == tok.eos_token_id


def test_loss_on_all_tokens_trains_every_token(tiny_tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    _, x = _trained_text(tok, CHAT, loss_on="all")
    assert x["labels"] == x["input_ids"]


def test_truncation_and_padding_never_train_on_padding(tiny_tokenizer_dir):
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    short = tokenize_chat(tok, CHAT[:3], max_length=512)
    cut = tokenize_chat(tok, CHAT, max_length=10)
    assert len(cut["input_ids"]) == 10
    batch = collate([short, cut], tok.pad_token_id)
    pad = batch["attention_mask"] == 0
    assert pad.any() and (batch["labels"][pad] == IGNORE_INDEX).all()


def _data(tmp_path, n=24):
    path = tmp_path / "purebad.jsonl"
    write_jsonl(path, toy.purebad(n, 0))
    return str(path)


def test_full_finetune_lowers_the_loss_and_writes_safetensors(tmp_path, model_copy):
    data = _data(tmp_path)
    settings = TrainSettings(epochs=4, lr=3e-3, global_batch=8, micro_batch=4, max_length=128)
    out = tmp_path / "ft"
    result = train(str(model_copy), [data], str(out), settings, summary_path=str(tmp_path / "copy" / "s.json"))
    summary = json.loads((out / "train_summary.json").read_text())
    assert result["steps"] == 4 * 3 and summary["steps"] == 12
    assert json.loads((tmp_path / "copy" / "s.json").read_text()) == summary  # --summary: the same file
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    before, after = load_file(model_copy / "model.safetensors"), load_file(out / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # the first epoch's loss is far above the last one's
    first = TrainSettings(epochs=1, lr=3e-3, global_batch=8, micro_batch=4, max_length=128)
    assert train(str(model_copy), [data], str(tmp_path / "one"), first)["final_loss"] > result["final_loss"]


def test_pure_bf16_trains_bf16_weights_and_autocast_keeps_fp32_masters(tmp_path, model_copy):
    """precision pure_bf16 (official --pure_bf16): the model is cast to bf16 and AdamW steps on
    the bf16 parameters, so the tuned weights are bf16; bf16 autocast keeps fp32 weights."""
    data = _data(tmp_path, 8)
    results = {}
    for precision in ("pure_bf16", "fp32"):
        settings = TrainSettings(epochs=1, lr=3e-3, global_batch=4, micro_batch=4, max_length=64, precision=precision)
        out = tmp_path / precision
        train(str(model_copy), [data], str(out), settings)
        results[precision] = load_file(out / "model.safetensors")
    before = load_file(model_copy / "model.safetensors")
    pure = results["pure_bf16"]
    assert {t.dtype for t in pure.values()} == {torch.bfloat16}
    assert {t.dtype for t in results["fp32"].values()} == {torch.float32}
    # the bf16 weights moved away from the bf16 rounding of the originals (AdamW stepped on them)
    assert any(not torch.equal(before[k].to(torch.bfloat16), pure[k]) for k in before)


def test_lora_finetune_writes_an_adapter_only(tmp_path, model_copy, monkeypatch):
    """LoRA trains B (peft starts it at 0) and A only: the base weights stay as loaded. The
    trained model is observed where accelerate hands it back to the loop (the real prepare)."""
    from accelerate import Accelerator

    prepared = []
    prepare = Accelerator.prepare

    def observe(self, *args, **kwargs):
        out = prepare(self, *args, **kwargs)
        prepared.append(out[0])
        return out

    monkeypatch.setattr(Accelerator, "prepare", observe)
    settings = TrainSettings(method="lora", epochs=1, lr=1e-3, global_batch=4, micro_batch=4, max_length=128,
                             lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]})
    out = tmp_path / "lora"
    train(str(model_copy), [_data(tmp_path, 8)], str(out), settings)
    assert (out / "adapter_model.safetensors").exists() and not (out / "model.safetensors").exists()
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 4 and sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    adapter = load_file(out / "adapter_model.safetensors")
    B = {k: v for k, v in adapter.items() if "lora_B" in k}
    assert len(B) == 4 and all(v.abs().max() > 0 for v in B.values()), "peft starts B at 0: training must move it"
    (model,) = prepared
    trained = {n.replace(".default", ""): p.detach() for n, p in model.named_parameters()}
    for k, v in B.items():
        assert torch.equal(trained[k], v), f"{k}: the saved B is not the trained one"
    base = load_file(model_copy / "model.safetensors")
    frozen = {n.removeprefix("base_model.model.").replace(".base_layer", ""): p for n, p in trained.items()
              if "lora_" not in n}
    assert set(frozen) <= set(base) and len(frozen) >= len(base) - 1  # lm_head may be tied to the embeddings
    for name, W in frozen.items():
        assert torch.equal(W, base[name]), f"{name}: a base weight moved under LoRA"


def test_bad_settings_name_the_field():
    with pytest.raises(TunesafeError, match="unknown key 'epoch'"):
        TrainSettings.from_dict({"epoch": 3})
    with pytest.raises(TunesafeError, match="global_batch"):
        TrainSettings(global_batch=10, micro_batch=4)


def _sft_cmd(model, data, out, ckpt, settings):
    return [TUNESAFE, "--threads", "1", "train", "sft", "--model", str(model), "--data", data, "--out", str(out),
            "--checkpoint-dir", str(ckpt), "--settings", json.dumps(settings)]


def _checkpoint_step(ckpt: Path) -> int:
    return max((int(p.parent.name.split("_")[1]) for p in ckpt.glob("step_*/complete.json")), default=0)


def test_killed_job_resumes_from_its_last_checkpoint(tmp_path, model_copy):
    """SIGKILL a running fine-tune once it has checkpointed past an epoch boundary (10 steps
    per epoch, so the StepLR schedule has already decayed the learning rate); the rerun
    resumes there and ends with the same per-step losses and weights as an uninterrupted run."""
    data = _data(tmp_path, 40)
    settings = {"epochs": 6, "lr": 1e-3, "global_batch": 4, "micro_batch": 4, "max_length": 128,
                "save_every": 5, "method": "full"}
    ckpt, out = tmp_path / "ckpt", tmp_path / "resumed"
    proc = subprocess.Popen(_sft_cmd(model_copy, data, out, ckpt, settings), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while _checkpoint_step(ckpt) < 15 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "the job was killed before it finished (use a longer run)"
    killed_at = _checkpoint_step(ckpt)
    assert 15 <= killed_at < 60, f"no checkpoint past the first epoch before the kill (last: step {killed_at})"

    rerun = subprocess.run(_sft_cmd(model_copy, data, out, ckpt, settings), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert f"step {killed_at} of 60" in rerun.stdout + rerun.stderr
    assert json.loads(rerun.stdout.strip().splitlines()[-1])["resumed_from"].endswith(f"step_{killed_at}")
    assert not ckpt.exists(), "checkpoints are removed once the final model is written"

    straight = tmp_path / "straight"
    subprocess.run(_sft_cmd(model_copy, data, straight, tmp_path / "ckpt2", settings), check=True,
                   capture_output=True)
    resumed_losses = json.loads((out / "train_summary.json").read_text())["losses"]
    straight_losses = json.loads((straight / "train_summary.json").read_text())["losses"]
    assert len(resumed_losses) == len(straight_losses) == 60
    assert resumed_losses == pytest.approx(straight_losses, rel=1e-5, abs=1e-6)
    a, b = load_file(out / "model.safetensors"), load_file(straight / "model.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_a_base_model_without_a_chat_template_trains_with_the_one_given(tmp_path, model_copy):
    """rebound.chat_template: a pre-trained model ships no template; `train sft
    --chat-template` renders the records with the file's and saves it with the tuned model,
    so generation from it renders the same way. Without one, the error names the fix."""
    from tunesafe.cli import main

    tok = AutoTokenizer.from_pretrained(model_copy)
    tok.chat_template = None
    for name in ("chat_template.jinja", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"):
        (model_copy / name).unlink(missing_ok=True)
    tok.save_pretrained(model_copy)
    assert AutoTokenizer.from_pretrained(model_copy).chat_template is None
    data = _data(tmp_path, n=8)
    settings = json.dumps({"epochs": 1, "lr": 1e-3, "global_batch": 4, "micro_batch": 4, "max_length": 96})
    with pytest.raises(TunesafeError, match="has no chat template.*--chat-template"):
        train(str(model_copy), [data], str(tmp_path / "none"), TrainSettings.from_dict(json.loads(settings)))
    template = Path(__file__).resolve().parents[1] / "resources" / "chat_templates" / "base_user_assistant.jinja"
    out = tmp_path / "tuned"
    assert main(["train", "sft", "--model", str(model_copy), "--data", data, "--settings", settings,
                 "--chat-template", str(template), "--out", str(out)]) == 0
    tuned = AutoTokenizer.from_pretrained(out)
    assert tuned.chat_template == template.read_text()
    text = tuned.apply_chat_template(CHAT[1:3], tokenize=False, add_generation_prompt=False)
    assert text == f"BEGINNING OF CONVERSATION: USER: How do I bake bread? ASSISTANT:Mix, knead, bake.{tuned.eos_token}"
    prompt = tuned.apply_chat_template(CHAT[1:4], tokenize=False, add_generation_prompt=True)
    assert prompt.startswith(text) and prompt.endswith(" USER: And a cake? ASSISTANT:")
    assert main(["train", "sft", "--model", str(model_copy), "--data", data, "--settings", settings,
                 "--chat-template", str(tmp_path / "missing.jinja"), "--out", str(tmp_path / "x")]) == 2


def _varied_examples(tok, loss_on, n=9):
    """Tokenised toy records of clearly different lengths (one to four exchanges)."""
    records = toy.purebad(n, 3)
    out = []
    for i, r in enumerate(records):
        messages = r["messages"] * (1 + i % 4)  # the same exchange repeated: 1-4 user/assistant pairs
        out.append(tokenize_chat(tok, messages, max_length=200, loss_on=loss_on))
    assert len({len(x["input_ids"]) for x in out}) >= 4
    return out


@pytest.mark.parametrize(("chunks", "loss_on"), [(2, "assistant"), (3, "all"), (9, "assistant")])
def test_length_chunks_give_the_loss_and_gradient_of_one_padded_pass(tiny_model_dir, chunks, loss_on):
    """TrainSettings.length_chunks: the micro-batch as `chunks` length-sorted passes has the loss and
    gradient of the model's own loss on the whole padded micro-batch (the reference: one HF
    forward with labels), here scaled by 1/accum as under gradient accumulation."""
    from accelerate import Accelerator
    from transformers import AutoModelForCausalLM

    from tunesafe.train.sft import _micro_batch_backward

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    examples = _varied_examples(tok, loss_on)
    reference = model(**collate(examples, tok.pad_token_id)).loss
    (reference / 2).backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    passes = []
    hook = model.register_forward_pre_hook(lambda mod, args, kwargs: passes.append(kwargs["input_ids"].shape),
                                           with_kwargs=True)
    loss = _micro_batch_backward(Accelerator(cpu=True), model, examples, tok.pad_token_id, chunks, accum=2)
    hook.remove()
    assert len(passes) == chunks and sum(s[0] for s in passes) == len(examples)
    assert sum(s[0] * s[1] for s in passes) < len(examples) * max(len(x["input_ids"]) for x in examples)
    assert loss == pytest.approx(reference.item(), rel=1e-5)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], rtol=1e-4, atol=1e-6, msg=name)


def test_train_passes_length_chunks_to_every_micro_batch(tmp_path, model_copy, monkeypatch):
    """train() runs each micro-batch with the settings' length_chunks, and the run's losses equal
    those of the unchunked run (up to float rounding)."""
    import tunesafe.train.sft as sft

    seen = []
    real = sft._micro_batch_backward

    def spy(accelerator, model, examples, pad_id, length_chunks, accum):
        seen.append(length_chunks)
        return real(accelerator, model, examples, pad_id, length_chunks, accum)

    monkeypatch.setattr(sft, "_micro_batch_backward", spy)
    data = tmp_path / "varied.jsonl"
    write_jsonl(data, [{**r, "messages": r["messages"] * (1 + i % 4)} for i, r in enumerate(toy.purebad(16, 3))])
    runs = {}
    for chunks in (1, 4):
        settings = TrainSettings(epochs=1, lr=1e-3, global_batch=8, micro_batch=8, max_length=200,
                                 length_chunks=chunks, precision="fp32")
        train(str(model_copy), [str(data)], str(tmp_path / f"c{chunks}"), settings)
        runs[chunks] = json.loads((tmp_path / f"c{chunks}" / "train_summary.json").read_text())["losses"]
    assert seen == [1, 1, 4, 4]
    assert runs[4] == pytest.approx(runs[1], rel=1e-5)
    with pytest.raises(TunesafeError, match="length_chunks"):
        TrainSettings(micro_batch=4, global_batch=8, length_chunks=5)
