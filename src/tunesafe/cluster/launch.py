"""Several GPUs per fine-tuning job: ``tunesafe --gpus N train sft ...`` with N > 1 runs
the same command again under ``accelerate launch`` with N processes, one per device.

A full-parameter fine-tune shards parameters, gradients and optimizer state with FSDP
(FULL_SHARD, one wrap per decoder layer, a full state dict gathered for saving): how the
Safe Delta paper (arXiv 2505.12038, App. B) fine-tuned Llama-2-7b-chat on 2 GPUs. A LoRA
fine-tune is small enough for plain data parallelism. The training loop itself runs under
``accelerate.Accelerator`` (tunesafe.train.sft), so it is the same code on 1 or N devices.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def under_launcher(environ=os.environ) -> bool:
    """True inside a process started by accelerate/torchrun (it sets LOCAL_RANK)."""
    return "LOCAL_RANK" in environ


def is_full_finetune(settings_json: str | None) -> bool:
    try:
        settings = json.loads(settings_json or "{}")
    except json.JSONDecodeError:
        return True  # the train command reports the bad JSON itself
    return settings.get("method", "full") == "full"


def accelerate_command(argv: list[str], gpus: int, full: bool) -> list[str]:
    """`accelerate launch` running `tunesafe <argv>` on `gpus` processes; FSDP when full."""
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(gpus),
           "--num_machines", "1"]
    if full:
        cmd += ["--use_fsdp", "--fsdp_sharding_strategy", "FULL_SHARD",
                "--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP",
                "--fsdp_state_dict_type", "FULL_STATE_DICT",
                "--fsdp_cpu_ram_efficient_loading", "true", "--fsdp_use_orig_params", "true"]
    else:
        cmd += ["--multi_gpu"]
    return cmd + ["-m", "tunesafe.cli", *argv]


def relaunch(argv: list[str], gpus: int, settings_json: str | None, shard: bool = True) -> int:
    """Run the command again under accelerate launch; its exit status. ``shard=False`` (GRPO:
    every process holds the whole model and, with vLLM colocated, its own rollout engine)
    asks for plain data parallelism whatever the settings."""
    return subprocess.call(accelerate_command(argv, gpus, shard and is_full_finetune(settings_json)))
