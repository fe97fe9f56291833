"""Reinforcement learning with GRPO through TRL's ``GRPOTrainer`` (arXiv 2402.03300, Sec. 4.1).

GRPO samples a group of G completions per prompt, scores each with the reward functions,
and uses the group-normalised reward as the advantage of every token of a completion
(A_i = (r_i - mean(r)) / std(r)), with the PPO clip (epsilon) and, when beta > 0, a KL
penalty against the start model. All of that is TRL's: this module only turns our
files and registered rewards (:mod:`tunesafe.train.rewards`) into its inputs, and writes
the result as our SFT trainer does (a Hugging Face directory through a temporary path,
then renamed, with ``train_summary.json``).

Prompts are chat records without a final assistant turn (``{"id", "messages",
"reference"}``); the chat template renders them, and ``reference`` goes to the rewards.
The group's mean reward of every step (TRL's ``reward`` log) lands in ``train_summary.json``
as ``rewards``, per reward as ``rewards_<name>``.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from tunesafe.data.records import with_template
from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path, read_jsonl, require_file
from tunesafe.train.grpo_settings import GrpoSettings
from tunesafe.train.rewards import get_reward

log = logging.getLogger(__name__)


def load_prompts(path: str, system_prompt: str | None) -> list[dict[str, Any]]:
    """TRL conversational prompts ``{"prompt": messages, "reference": str | None}`` of a file."""
    rows = read_jsonl(require_file(path, "prompts"))
    if not rows:
        raise TunesafeError(f"{path}: no prompts")
    out = []
    for i, row in enumerate(rows, start=1):
        messages = row.get("messages") or []
        if not messages or messages[-1]["role"] != "user":
            raise TunesafeError(f"{path}: record {i} ({row.get('id')}) does not end with a user turn "
                                "(RL prompts have no assistant turn)")
        ref = row.get("reference")
        out.append({"prompt": with_template(messages, system_prompt), "reference": None if ref is None else str(ref)})
    return out


def batch_reward(name: str):
    """The registered reward ``name`` in TRL's batch form: ``f(completions, reference, **_)``."""
    fn = get_reward(name)

    def reward(completions: list, reference: list | None = None, **_: Any) -> list[float]:
        refs = reference if reference is not None else [None] * len(completions)
        # conversational completions are [{"role": "assistant", "content": text}]
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [float(fn(t, r)) for t, r in zip(texts, refs, strict=True)]

    reward.__name__ = name  # TRL logs each reward under its function's name
    return reward


def _config(settings: GrpoSettings, scratch: Path, n_rewards: int):
    import torch
    from trl import GRPOConfig

    bf16 = settings.precision == "bf16" or (settings.precision == "auto" and torch.cuda.is_available()
                                           and torch.cuda.is_bf16_supported())
    return GRPOConfig(
        output_dir=str(scratch), max_steps=settings.steps, learning_rate=settings.lr, beta=settings.beta,
        num_generations=settings.group_size, per_device_train_batch_size=settings.micro_batch,
        gradient_accumulation_steps=settings.accumulation, max_completion_length=settings.max_completion_length,
        temperature=settings.temperature, top_p=settings.top_p, epsilon=settings.epsilon,
        loss_type=settings.loss_type, warmup_steps=settings.warmup_steps, lr_scheduler_type="constant_with_warmup",
        weight_decay=settings.weight_decay, max_grad_norm=settings.max_grad_norm,
        reward_weights=settings.reward_weights or [1.0] * n_rewards,
        gradient_checkpointing=settings.gradient_checkpointing, bf16=bf16, fp16=False,
        use_cpu=not torch.cuda.is_available(), seed=settings.seed, data_seed=settings.seed,
        logging_steps=1, save_strategy="no", report_to=[], disable_tqdm=True,
        use_vllm=settings.use_vllm, vllm_mode="colocate",
    )


def train(model_path: str, prompts_path: str, out_dir: str, rewards: list[str], settings: GrpoSettings,
          chat_template: str | None = None) -> dict[str, Any]:
    """GRPO-train ``model_path`` on the prompts of ``prompts_path`` with the named rewards;
    write the model to ``out_dir``; return its summary."""
    from datasets import Dataset
    from trl import GRPOTrainer

    from tunesafe.train.sft import _load_tokenizer

    if not rewards:
        raise TunesafeError("grpo: name at least one reward (--reward)")
    if settings.reward_weights is not None and len(settings.reward_weights) != len(rewards):
        raise TunesafeError(f"grpo setting reward_weights has {len(settings.reward_weights)} weights "
                            f"for {len(rewards)} rewards ({', '.join(rewards)})")
    reward_funcs = [batch_reward(r) for r in rewards]
    dataset = Dataset.from_list(load_prompts(prompts_path, settings.system_prompt))
    tokenizer = _load_tokenizer(model_path, chat_template)
    scratch = Path(f"{out_dir}.grpo-run")
    trainer = GRPOTrainer(model=model_path, reward_funcs=reward_funcs, train_dataset=dataset,
                          args=_config(settings, scratch, len(rewards)), processing_class=tokenizer)
    trainer.train()
    history = [h for h in trainer.state.log_history if "reward" in h]
    summary = {"steps": trainer.state.global_step, "rewards": [h["reward"] for h in history],
               **{f"rewards_{r}": [h.get(f"rewards/{r}/mean") for h in history] for r in rewards},
               "settings": settings.__dict__, "reward_names": rewards}
    with atomic_path(out_dir, directory=True) as tmp:
        trainer.model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    shutil.rmtree(scratch, ignore_errors=True)
    return {"steps": summary["steps"], "first_reward": summary["rewards"][:1], "last_reward": summary["rewards"][-1:]}
