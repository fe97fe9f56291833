"""Apply Safe Delta to a fine-tune, layer by layer, with the cached safety Hessians.

Weights are read tensor by tensor from the safetensors files (``safe_open``), so only one
linear of each model is in fp32 memory at a time: a 7B model never needs two fp32 copies.
A LoRA fine-tune (a peft adapter directory) is merged first: W_sft = W + B A * alpha / r.
Embeddings, norms and the LM head keep the aligned values (as the official code, which
only rewrites decoder linears); ``keep_aligned_rest=False`` takes them from the fine-tune.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from tqdm.auto import tqdm

from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path, read_json
from tunesafe.safedelta.algorithm import safe_delta
from tunesafe.safedelta.arch import architecture


def local_dir(ref: str) -> Path:
    """A model directory, or the local snapshot of a Hugging Face id (HF_HUB_OFFLINE works)."""
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


def apply(original: str, finetuned: str, hessian_dir: str, scale: float, out_dir: str, compensate: bool = True,
          keep_aligned_rest: bool = True, device: str | None = None) -> dict[str, Any]:
    """Write the Safe Delta model (a Hugging Face directory) for one fine-tune and scale."""
    from huggingface_hub import save_torch_state_dict

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    orig_dir = local_dir(original)
    config = read_json(orig_dir / "config.json")
    arch = architecture(config["model_type"])
    meta = read_json(Path(hessian_dir) / "meta.json")
    if meta["model_type"] != config["model_type"] or meta["num_layers"] != config["num_hidden_layers"]:
        raise TunesafeError(f"{hessian_dir}: Hessians of a {meta['model_type']} with {meta['num_layers']} layers "
                            f"do not fit {original} ({config['model_type']}, {config['num_hidden_layers']} layers)")
    W_orig = Weights(orig_dir)
    W_ft = FineTuned(local_dir(finetuned), W_orig)
    linear = re.compile(rf"^{re.escape(arch.layers)}\.(\d+)\.(.+)\.weight$")
    group_of = {name: g for g, name in arch.linears()}

    state: dict[str, torch.Tensor] = {}
    U_cache: dict[int, Any] = {}
    selected = total = 0
    for name in tqdm(W_orig.names(), desc="safe delta", mininterval=10):
        m = linear.match(name)
        if m and m.group(2) in group_of:
            li = int(m.group(1))  # decoder layer index l
            if li not in U_cache:
                U_cache.clear()  # one layer's U at a time
                U_cache[li] = safe_open(str(Path(hessian_dir) / f"layer_{li:03d}.safetensors"), "pt", device=device)
            W = W_orig.get(name)
            W_sft = W_ft.get(name).to(device, torch.float32)
            U = U_cache[li].get_tensor(group_of[m.group(2)])
            new = safe_delta(W.to(device), W_sft, U, scale, compensate=compensate)  # (d_out, d_in)
            selected += int((new == W_sft).sum())
            total += W.numel()
            state[name] = new.to(W.dtype).cpu()
        else:
            state[name] = W_orig.get(name) if keep_aligned_rest else W_ft.get(name)
    with atomic_path(out_dir, directory=True) as tmp:
        save_torch_state_dict(state, str(tmp))
        for f in orig_dir.iterdir():
            if f.is_file() and not f.name.endswith(".safetensors") and f.name != "model.safetensors.index.json":
                shutil.copy(f, tmp / f.name)
        summary = {"scale": scale, "compensate": compensate, "keep_aligned_rest": keep_aligned_rest,
                   "entries_equal_to_finetuned": selected / max(total, 1), "hessians": str(hessian_dir),
                   "original": str(original), "finetuned": str(finetuned)}
        (tmp / "safedelta_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
