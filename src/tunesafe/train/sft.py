"""Supervised fine-tuning, full-parameter or LoRA, resumable, readable top to bottom.

The recipe is the one Safe Delta (arXiv 2505.12038, Sec. 5 / App. B) takes from Qi et al.
2023: AdamW with weight decay 0, a StepLR schedule that multiplies the learning rate by
``lr_gamma`` (0.85) after every epoch, the loss on assistant tokens only, gradient
accumulation up to the global batch, bf16 where the hardware has it.

Precision (``precision``): ``fp32`` keeps fp32 weights and math; ``bf16`` keeps fp32 master
weights and runs the forward/backward under bf16 autocast (accelerate's mixed precision);
``pure_bf16`` casts the model itself to bf16 and lets AdamW step on the bf16 parameters (its
moments are bf16 too), which is what the official recipe's ``--pure_bf16`` does
(ColinLu50/SafeDelta ``llama2/finetuning.py``: ``model.to(torch.bfloat16)`` under
``fsdp_config.pure_bf16``, then ``optim.AdamW(model.parameters(), ...)``); ``auto`` is bf16
autocast where the GPU supports it, else fp32.

The loop runs under ``accelerate.Accelerator``, so ``accelerate launch`` (several GPUs, FSDP)
wraps the same entry point. Every ``save_every`` optimizer steps the full training state
(model, optimizer, scheduler, RNG) goes to ``checkpoint_dir/step_<n>``; a job that is killed
and started again resumes from the newest complete checkpoint and, the data order being a
function of (seed, epoch), continues exactly where it stopped. The final model is written
as safetensors (a PEFT adapter for LoRA) through a temporary directory, then renamed.

``train_summary.json`` records the loss of every optimizer step (``losses``: the mean over
its micro-batches), so studies that compare final training losses (the resistance
experiment of arXiv 2406.06144, Sec. 5.1) read them from there. ``save_at`` keeps extra
model snapshots ("slices") at fractions of the run: ``{0.33: dir1, 0.67: dir2}`` writes the
model after ``round(0.33 * total_steps)`` optimizer steps to ``dir1`` (atomically).

``length_chunks`` (ours, a speed setting, not the recipe's): each micro-batch runs as that
many passes over its examples sorted by length, with the token-weighted loss of the one
padded pass (:func:`_micro_batch_backward`); 1, the default, is the one padded pass.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from tunesafe.data.records import with_template
from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path, read_jsonl, require_file
from tunesafe.train.settings import PRECISIONS, LoraSettings, TrainSettings  # noqa: F401 (re-exported)
from tunesafe.train.tokenize import IGNORE_INDEX, collate, tokenize_chat

log = logging.getLogger(__name__)
DONE_MARKER = "complete.json"


def load_examples(paths: list[str], settings: TrainSettings, tokenizer) -> list[dict[str, list[int]]]:
    """Tokenize every training record of ``paths`` (chat records with an assistant turn)."""
    examples = []
    for path in paths:
        rows = read_jsonl(path)
        if not rows:
            raise TunesafeError(f"{path}: no training records")
        for i, row in enumerate(rows, start=1):
            if row["messages"][-1]["role"] != "assistant":
                raise TunesafeError(f"{path}: record {i} ({row['id']}) has no final assistant turn to train on")
            messages = with_template(row["messages"], settings.system_prompt)
            examples.append(tokenize_chat(tokenizer, messages, settings.max_length, settings.loss_on))
    return examples


def _latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    done = [p for p in checkpoint_dir.glob("step_*") if (p / DONE_MARKER).exists()]
    return max(done, key=lambda p: int(p.name.split("_")[1]), default=None)


def _epoch_order(n: int, seed: int, epoch: int, multiple: int) -> list[int]:
    """Shuffled example indices of one epoch, a function of (seed, epoch) only.

    With several processes the order is padded by wrapping around to a multiple of the
    examples per micro-step (as torch's DistributedSampler does), so every process gets a
    full micro-batch at every step.
    """
    order = list(range(n))
    random.Random(seed * 1000 + epoch).shuffle(order)
    if multiple > 1 and n % multiple:
        order += order[: multiple - n % multiple]
    return order


def train(model_path: str, data_paths: list[str], out_dir: str, settings: TrainSettings,
          checkpoint_dir: str | None = None, save_at: dict[float, str] | None = None,
          chat_template: str | None = None, summary_path: str | None = None) -> dict[str, Any]:
    """Fine-tune ``model_path`` on ``data_paths``; write the result to ``out_dir``, and a copy
    of its ``train_summary.json`` to ``summary_path`` when given.

    ``save_at`` maps fractions of the run in (0, 1] to directories that get a model snapshot
    after ``max(1, round(fraction * total_steps))`` optimizer steps. ``chat_template`` (a
    Jinja file) renders the records when the model's tokenizer has no template of its own (a
    pre-trained base model); it is saved with the tuned model, so later generation uses it.
    Returns a summary: steps, final loss, the checkpoint it resumed from (or None).
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from tunesafe.weights import check_model

    check_model(model_path)
    accelerator = Accelerator(mixed_precision=_mixed_precision(settings.precision))
    n_proc = accelerator.num_processes
    per_step = settings.micro_batch * n_proc  # examples per micro-step over all devices
    if settings.global_batch % per_step:
        raise TunesafeError(f"global_batch={settings.global_batch} is not a multiple of micro_batch x processes = {per_step}")
    accum = settings.global_batch // per_step  # gradient accumulation steps
    set_seed(settings.seed)

    tokenizer = _load_tokenizer(model_path, chat_template)
    examples = load_examples(data_paths, settings, tokenizer)
    model, optimizer, scheduler = _model_and_optimizer(model_path, settings)
    model, optimizer = accelerator.prepare(model, optimizer)
    accelerator.register_for_checkpointing(scheduler)

    padded = n_proc > 1  # pad each epoch's order so every process gets full micro-batches
    micro_per_epoch = math.ceil(len(examples) / per_step)
    steps_per_epoch = math.ceil(micro_per_epoch / accum)
    total_steps = steps_per_epoch * settings.epochs
    snapshots = _snapshot_steps(save_at, total_steps)
    ckpt_root = Path(checkpoint_dir) if checkpoint_dir else None
    step, losses, resumed_from = _resume(accelerator, ckpt_root, total_steps)

    model.train()
    bar = tqdm(total=total_steps, initial=step, desc="sft", disable=not accelerator.is_local_main_process,
               mininterval=2.0)
    last_loss = float("nan")
    for epoch in range(step // steps_per_epoch, settings.epochs):
        order = _epoch_order(len(examples), settings.seed, epoch, per_step if padded else 1)
        first_step = epoch * steps_per_epoch
        for local_step in range(step - first_step, steps_per_epoch):
            micros = range(local_step * accum, min((local_step + 1) * accum, micro_per_epoch))
            batches = [[examples[i] for i in order[m * per_step:(m + 1) * per_step][accelerator.process_index::n_proc]]
                       for m in micros]
            step_loss, last_loss = _optimizer_step(accelerator, model, optimizer, batches, tokenizer.pad_token_id,
                                                   settings.length_chunks)
            step += 1
            losses.append(step_loss)
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
            if local_step == steps_per_epoch - 1:
                scheduler.step()  # StepLR: one decay per epoch
            if ckpt_root and settings.save_every and step % settings.save_every == 0 and step < total_steps:
                _save_checkpoint(accelerator, ckpt_root, step, losses)
            for path in snapshots.get(step, []):
                _save_model(accelerator, model, tokenizer, path, {"steps": step, "losses": list(losses)})
    bar.close()

    accelerator.wait_for_everyone()
    summary = {"steps": step, "final_loss": last_loss, "resumed_from": resumed_from,
               "examples": len(examples), "settings": asdict(settings), "losses": losses}
    _save_model(accelerator, model, tokenizer, out_dir, summary)
    if summary_path and accelerator.is_main_process:
        with atomic_path(summary_path) as tmp:
            shutil.copyfile(Path(out_dir) / "train_summary.json", tmp)
    if accelerator.is_main_process and ckpt_root and ckpt_root.exists():
        shutil.rmtree(ckpt_root)  # the final model supersedes every checkpoint
    return {"steps": step, "final_loss": last_loss, "resumed_from": resumed_from}


def _load_tokenizer(model_path: str, chat_template: str | None):
    """The model's tokenizer, padding with EOS when it has no pad token, and ``chat_template``
    (a Jinja file) when it has no template of its own."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if chat_template and tokenizer.chat_template is None:
        tokenizer.chat_template = require_file(chat_template, "chat template").read_text()
    return tokenizer


def _model_and_optimizer(model_path: str, settings: TrainSettings):
    """The model (LoRA-wrapped for method lora), AdamW over its trainable weights and the
    per-epoch StepLR schedule."""
    from transformers import AutoModelForCausalLM

    # pure_bf16: the weights themselves are bf16, so AdamW steps (and keeps its moments) in bf16
    weights_dtype = torch.bfloat16 if settings.precision == "pure_bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=weights_dtype)
    if settings.method == "lora":
        from peft import LoraConfig, get_peft_model

        lora = settings.lora
        model = get_peft_model(model, LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                                                 target_modules=lora.target_modules, task_type="CAUSAL_LM"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=settings.lr_gamma)  # stepped per epoch
    return model, optimizer, scheduler


def _snapshot_steps(save_at: dict[float, str] | None, total_steps: int) -> dict[int, list[str]]:
    """Optimizer step -> directories of the model snapshot taken after it."""
    snapshots: dict[int, list[str]] = {}
    for fraction, path in (save_at or {}).items():
        if not 0 < fraction <= 1:
            raise TunesafeError(f"save_at fraction {fraction} for {path} is not in (0, 1]")
        snapshots.setdefault(max(1, round(fraction * total_steps)), []).append(path)
    return snapshots


def _resume(accelerator, ckpt_root: Path | None, total_steps: int) -> tuple[int, list[float], str | None]:
    """(step, mean loss of every optimizer step so far, checkpoint resumed from): the latest
    complete checkpoint under ``ckpt_root``, else a fresh start."""
    if ckpt_root and (latest := _latest_checkpoint(ckpt_root)):
        accelerator.load_state(str(latest))
        done = json.loads((latest / DONE_MARKER).read_text())
        accelerator.print(f"resumed from {latest} (step {done['step']} of {total_steps})")
        return done["step"], done.get("losses", []), str(latest)
    return 0, [], None


def _optimizer_step(accelerator, model, optimizer, batches: list[list[dict[str, Any]]], pad_id: int,
                    length_chunks: int = 1) -> tuple[float, float]:
    """One optimizer step over the micro-batches of this process; returns (the step's mean
    loss, the last micro-batch's loss)."""
    step_loss, last_loss = 0.0, float("nan")
    for j, examples in enumerate(batches):
        sync = accelerator.no_sync(model) if j != len(batches) - 1 else contextlib.nullcontext()
        with sync:  # gradients are all-reduced once, on the last micro-batch
            last_loss = _micro_batch_backward(accelerator, model, examples, pad_id, length_chunks, len(batches))
        step_loss += last_loss / len(batches)
    optimizer.step()
    optimizer.zero_grad()
    return step_loss, last_loss


def _micro_batch_backward(accelerator, model, examples: list[dict[str, Any]], pad_id: int, length_chunks: int,
                          accum: int) -> float:
    """Forward and backward of one micro-batch (its loss scaled by 1 / ``accum``, the micro-batches
    of the step); returns its loss, the mean over its response tokens.

    ``length_chunks`` > 1 (``TrainSettings.length_chunks``): the examples, longest first, run as
    that many forward passes, each padded only to its own longest example, and each pass's
    summed token loss is divided by the token count of the whole micro-batch (the model's
    ``num_items_in_batch``). Loss and gradient are then those of the one padded pass, up to
    float rounding, for less arithmetic on padding.
    """
    if length_chunks <= 1:
        batch = {k: v.to(accelerator.device) for k, v in collate(examples, pad_id).items()}
        loss = model(**batch).loss
        accelerator.backward(loss / accum)
        return loss.item()
    ordered = sorted(examples, key=lambda x: len(x["input_ids"]), reverse=True)
    n = len(ordered)  # a last micro-batch may hold fewer examples than length_chunks: no empty passes
    chunks = [c for i in range(length_chunks) if (c := ordered[i * n // length_chunks:(i + 1) * n // length_chunks])]
    # the tokens the loss is taken on: each label after the first of its example (next-token shift)
    tokens = sum(sum(label != IGNORE_INDEX for label in x["labels"][1:]) for x in examples)
    total = 0.0
    for i, chunk in enumerate(chunks):
        batch = {k: v.to(accelerator.device) for k, v in collate(chunk, pad_id).items()}
        # several processes: gradients are all-reduced once per micro-batch, on its last pass
        sync = accelerator.no_sync(model) if i != len(chunks) - 1 else contextlib.nullcontext()
        with sync:
            loss = model(**batch, num_items_in_batch=tokens).loss
            accelerator.backward(loss / accum)
        total += loss.item()
    return total


def _save_model(accelerator, model, tokenizer, out_dir: str, summary: dict[str, Any]) -> None:
    """The model (or adapter) and tokenizer as a Hugging Face directory, with train_summary.json."""
    state_dict = accelerator.get_state_dict(model)  # gathered from every process under FSDP
    if accelerator.is_main_process:
        with atomic_path(out_dir, directory=True) as tmp:
            accelerator.unwrap_model(model).save_pretrained(tmp, state_dict=state_dict, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            (tmp / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def _save_checkpoint(accelerator, root: Path, step: int, losses: list[float]) -> None:
    path = root / f"step_{step}"
    accelerator.save_state(str(path))
    if accelerator.is_main_process:
        # written last: marks it complete
        (path / DONE_MARKER).write_text(json.dumps({"step": step, "losses": losses}) + "\n")
        for old in root.glob("step_*"):
            if old != path:
                shutil.rmtree(old, ignore_errors=True)


def _mixed_precision(precision: str) -> str:
    """accelerate's autocast mode: none for fp32 and for pure_bf16 (the weights are bf16 already)."""
    if precision in ("fp32", "pure_bf16"):
        return "no"
    if precision == "bf16":
        return "bf16"
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"
