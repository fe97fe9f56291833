"""Model weights by tensor name, for the weight-space methods (Safe Delta, Safe LoRA, Resta).

Weights are read tensor by tensor from the safetensors files (``safe_open``), so only the
tensors being combined are in memory: a 7B model never needs several fp32 copies. A LoRA
fine-tune (a peft adapter directory) reads as its merged weights W + B A * alpha / r.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path, read_json


def check_model(ref: str, what: str = "model") -> str:
    """``ref`` if it can name a model (or LoRA adapter) to load; else one line saying why not.

    The one check every model-loading command runs before it loads: a local directory whose
    ``*.safetensors`` files open (their header and its byte ranges fit the file), or a string
    that is a valid Hugging Face Hub id (whether the Hub has it is for the download to say).
    A missing local path would otherwise end in the Hub's repo-id validation traceback, a
    truncated weights file in the safetensors header traceback.
    """
    path = Path(ref).expanduser()
    if path.is_dir():
        for f in sorted(path.glob("*.safetensors")):
            try:
                with safe_open(str(f), "pt"):
                    pass
            except Exception as e:  # safetensors raises its own SafetensorError (and OSError)
                raise TunesafeError(f"{what} {ref}: {f.name}: weights file is truncated or not safetensors ({e})") from None
        return ref
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(ref)
        hub_id = not path.exists()  # an existing file is not a model either
    except HFValidationError:
        hub_id = False
    if not hub_id:
        raise TunesafeError(f"{what} {ref}: not a local directory and not a Hub id")
    return ref


def local_dir(ref: str) -> Path:
    """A model directory, or the local snapshot of a Hugging Face id (HF_HUB_OFFLINE works)."""
    check_model(ref)
    if Path(ref).is_dir():
        return Path(ref)
    from huggingface_hub import snapshot_download

    return Path(snapshot_download(ref, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"]))


class Weights:
    """Tensors of a Hugging Face model directory (single or sharded safetensors), by name."""

    def __init__(self, directory: Path):
        files = sorted(directory.glob("*.safetensors"))
        if not files:
            raise TunesafeError(f"{directory}: no *.safetensors weights")
        self.where: dict[str, Path] = {}
        for f in files:
            with safe_open(str(f), "pt") as st:
                self.where.update({k: f for k in st.keys()})  # noqa: SIM118 (safe_open is not a dict)

    def names(self) -> list[str]:
        return list(self.where)

    def get(self, name: str) -> torch.Tensor:
        with safe_open(str(self.where[name]), "pt") as st:
            return st.get_tensor(name)


class FineTuned:
    """W_sft by name: from a full fine-tune, or the aligned W plus a merged LoRA update."""

    def __init__(self, directory: Path, aligned: Weights):
        self.lora = (directory / "adapter_config.json").exists()
        self.aligned = aligned
        self.weights = Weights(directory)
        if self.lora:
            cfg = read_json(directory / "adapter_config.json")
            r = cfg["r"]
            self.scaling = cfg["lora_alpha"] / (r**0.5 if cfg.get("use_rslora") else r)

    def get(self, name: str) -> torch.Tensor:
        if not self.lora:
            return self.weights.get(name)
        W = self.aligned.get(name)
        stem = f"base_model.model.{name.removesuffix('.weight')}"
        if f"{stem}.lora_A.weight" not in self.weights.where:
            return W
        A = self.weights.get(f"{stem}.lora_A.weight").float()  # (r, d_in)
        B = self.weights.get(f"{stem}.lora_B.weight").float()  # (d_out, r)
        return (W.float() + B @ A * self.scaling).to(W.dtype)


def save_model(state: dict[str, torch.Tensor], template_dir: Path, out_dir: str | Path, summary_name: str,
               summary: dict[str, Any]) -> None:
    """Write ``state`` as a Hugging Face model directory (atomically), with the config and
    tokenizer files of ``template_dir`` and ``summary`` as JSON under ``summary_name``."""
    from huggingface_hub import save_torch_state_dict

    with atomic_path(out_dir, directory=True) as tmp:
        save_torch_state_dict(state, str(tmp))
        for f in Path(template_dir).iterdir():
            if f.is_file() and not f.name.endswith(".safetensors") and f.name != "model.safetensors.index.json":
                shutil.copy(f, tmp / f.name)
        (tmp / summary_name).write_text(json.dumps(summary, indent=2) + "\n")
