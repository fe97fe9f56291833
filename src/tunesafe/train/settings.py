"""The settings of one fine-tuning run (``tunesafe train sft --settings``), and their checks.

Kept free of torch so the workflow can check every fine-tune of a config when it is parsed
(:func:`check_config`), with the same one-line errors the training job would give.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

from tunesafe.errors import TunesafeError

PRECISIONS = ("auto", "bf16", "pure_bf16", "fp32")


@dataclass
class LoraSettings:
    """LoRA adapter (peft.LoraConfig) used when ``method == "lora"``."""

    r: int = 8  # rank
    alpha: int = 16  # scaling = alpha / r
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])


@dataclass
class TrainSettings:
    """One fine-tuning run. Every field has the paper's value in config/paper.yaml."""

    method: str = "full"  # "full" (all parameters) or "lora"
    epochs: int = 1
    lr: float = 5e-5
    global_batch: int = 10  # examples per optimizer step, over all devices
    micro_batch: int = 10  # examples per forward pass on one device
    max_length: int = 512  # tokens per example, longer ones are truncated
    weight_decay: float = 0.0  # AdamW
    lr_gamma: float = 0.85  # StepLR: lr *= lr_gamma after every epoch
    seed: int = 42
    loss_on: str = "assistant"  # "assistant" (SFT) or "all" (pre-training the toy base)
    save_every: int = 0  # optimizer steps between checkpoints; 0 = none
    system_prompt: str | None = None  # added to records that have no system turn
    precision: str = "auto"  # "auto" (bf16 autocast when supported), "bf16", "pure_bf16", "fp32"
    # forward passes per micro-batch, its examples sorted by length, each padded to its own
    # longest: the same loss and gradient (up to float rounding) with less padding arithmetic
    length_chunks: int = 1
    lora: LoraSettings = field(default_factory=LoraSettings)

    def __post_init__(self):
        if isinstance(self.lora, dict):
            self.lora = _from_dict(LoraSettings, self.lora, "lora")
        checks = {
            "method": self.method in ("full", "lora"),
            "loss_on": self.loss_on in ("assistant", "all"),
            "precision": self.precision in PRECISIONS,
            "epochs": self.epochs >= 1,
            "lr": self.lr > 0,
            "micro_batch": self.micro_batch >= 1,
            "length_chunks": 1 <= self.length_chunks <= self.micro_batch,
            "global_batch": self.micro_batch < 1  # (then micro_batch is the one named)
            or (self.global_batch >= self.micro_batch and self.global_batch % self.micro_batch == 0),
        }
        for name, ok in checks.items():
            if not ok:
                raise TunesafeError(f"train setting {name}={getattr(self, name)!r} is invalid "
                                    f"(method: full|lora, loss_on: assistant|all, precision: {'|'.join(PRECISIONS)}, "
                                    f"global_batch a multiple of micro_batch, 1 <= length_chunks <= micro_batch)")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainSettings:
        return _from_dict(cls, d, "train settings")


def _from_dict(cls, d: dict[str, Any], where: str):
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise TunesafeError(f"{where}: unknown key {unknown[0]!r} (expected one of {sorted(names)})")
    return cls(**d)


def config_train_settings(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], tuple[str, ...]]]:
    """(config key, TrainSettings fields, rules that train with them) of every fine-tune a
    workflow config asks for; a rule's ``cluster.jobs`` GPU count is its number of training
    processes."""
    finetune = config.get("finetune", {})
    defaults = finetune.get("defaults", {})
    lora = (config.get("baselines") or {}).get("lora")
    for task, spec in finetune.get("tasks", {}).items():
        settings = {**defaults, **spec.get("train", {})}
        yield f"finetune.tasks.{task}.train", settings, ("finetune",)
        if lora:
            yield f"baselines.lora (on finetune.tasks.{task}.train)", {**settings, **lora}, ("finetune",)
    for key in ("base_training", "aligned_training"):
        if key in config.get("toy", {}):
            yield f"toy.{key}", config["toy"][key], ()
    toy_instruct = (config.get("thinking") or {}).get("toy_instruct", {})
    if "training" in toy_instruct:
        yield "thinking.toy_instruct.training", toy_instruct["training"], ()
    rebound = config.get("rebound") or {}
    if "train" in rebound:
        yield "rebound.train", rebound["train"], ("rebound_positive", "rebound_negative", "rebound_grid")
    if "toy_world" in rebound:
        yield "rebound.toy_world.training", rebound["toy_world"]["training"], ("rebound_toy_base",)
    resistance = rebound.get("resistance", {})
    for key, rule in (("train", "resistance_slices"), ("align_train", "resistance_train")):
        if key in resistance:
            yield f"rebound.resistance.{key}", resistance[key], (rule,)


def check_config(config: dict[str, Any]) -> None:
    """Every fine-tune's settings of a workflow config, as the training job would check them:
    one line naming the config key and the setting, e.g.
    ``config error: finetune.tasks.purebad.train: train setting global_batch=12 is invalid (...)``."""
    jobs = (config.get("cluster") or {}).get("jobs", {})
    for key, settings, rules in config_train_settings(config):
        try:
            checked = TrainSettings.from_dict(settings)
            for rule in rules:
                processes = max(1, int(jobs.get(rule, {}).get("gpu", 0) or 0))
                per_step = checked.micro_batch * processes
                if checked.global_batch % per_step:
                    raise TunesafeError(f"global_batch={checked.global_batch} is not a multiple of micro_batch x "
                                        f"processes = {per_step} (cluster.jobs.{rule}.gpu = {processes})")
        except TunesafeError as e:
            raise TunesafeError(f"config error: {key}: {e}") from None
