"""The settings of one GRPO run (``tunesafe train grpo --settings``), torch-free and checked.

Every field maps to one TRL ``GRPOConfig`` argument (named beside it). The values of the
paper study sit in ``config/paper.yaml`` (``mathif.training``) with their sources.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from tunesafe.errors import TunesafeError

PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class GrpoSettings:
    """One GRPO run (arXiv 2402.03300, Sec. 4.1; TRL's GRPOTrainer does the optimisation)."""

    steps: int = 20  # optimizer steps (max_steps)
    lr: float = 1e-6  # learning_rate (AdamW), constant after warmup
    beta: float = 0.0  # KL coefficient against the start model (beta); 0: no reference model
    group_size: int = 8  # completions per prompt, the GRPO group (num_generations)
    prompts_per_step: int = 4  # prompts per optimizer step, over all devices
    micro_batch: int = 8  # completions per forward pass on one device (per_device_train_batch_size)
    max_completion_length: int = 128  # tokens generated per completion
    temperature: float = 1.0  # sampling of the rollouts
    top_p: float = 1.0
    epsilon: float = 0.2  # PPO clip range (epsilon)
    loss_type: str = "grpo"  # TRL loss_type: grpo (the paper's), dapo, dr_grpo, ...
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    reward_weights: list[float] | None = None  # one per reward, default 1 each
    gradient_checkpointing: bool = False
    use_vllm: bool = False  # rollouts by vLLM in the training processes (vllm_mode "colocate"); else HF generate
    precision: str = "auto"  # auto (bf16 where the GPU has it, else fp32), bf16, fp32
    seed: int = 42
    system_prompt: str | None = None  # added to prompts that have no system turn

    def __post_init__(self):
        completions = self.group_size * self.prompts_per_step
        checks = {
            "steps": self.steps >= 1,
            "lr": self.lr > 0,
            "beta": self.beta >= 0,
            "group_size": self.group_size >= 2,  # one completion has no group to be relative to
            "prompts_per_step": self.prompts_per_step >= 1,
            "micro_batch": self.micro_batch >= 1 and completions % self.micro_batch == 0,
            "max_completion_length": self.max_completion_length >= 1,
            "precision": self.precision in PRECISIONS,
        }
        for name, ok in checks.items():
            if not ok:
                raise TunesafeError(
                    f"grpo setting {name}={getattr(self, name)!r} is invalid (steps, prompts_per_step >= 1; "
                    f"group_size >= 2; micro_batch divides group_size x prompts_per_step = {completions}; "
                    f"lr > 0; beta >= 0; precision: {'|'.join(PRECISIONS)})")

    @property
    def accumulation(self) -> int:
        """Micro-batches per optimizer step on one device (gradient_accumulation_steps)."""
        return self.group_size * self.prompts_per_step // self.micro_batch

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GrpoSettings:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise TunesafeError(f"grpo settings: unknown key {unknown[0]!r} (expected one of {sorted(names)})")
        return cls(**d)
