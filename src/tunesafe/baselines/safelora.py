"""Safe LoRA (Hsu et al., "Safe LoRA: the Silver Lining of Reducing Safety Risks when
Fine-tuning Large Language Models", arXiv 2405.16833, Sec. 3, Eq. 1-3).

For every linear a LoRA adapter targets:

- alignment matrix  V = W_aligned - W_base  (d_out, d_in), the base being the unaligned
  pre-trained model (Llama-2-7b-hf for Llama-2-7b-chat);
- projection        C = V V^T / ||V||_F     (d_out, d_out)  (Eq. 2; the official code
  divides by the Frobenius norm, not by ||V||^2, so C is not idempotent: we keep that);
- LoRA update       dW = B A  (B: (d_out, r), A: (r, d_in)); projected  C B A;
- similarity        cos = <vec(C B A), vec(B A)> / (|C B A| |B A|), rounded to 5 digits;
- a layer is projected (B <- C B) when cos <= threshold (Eq. 3, "threshold" mode), or, in
  "number" mode, the k layers with the lowest cos are.

Written here rather than taken from the official repository because it is one class bound to
a live peft model on CUDA; this module works on adapter files (safetensors) and writes a new
adapter, so the projected fine-tune loads like any other LoRA fine-tune.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path, write_json
from tunesafe.weights import Weights, check_model, local_dir


def projection_matrix(W_aligned: torch.Tensor, W_base: torch.Tensor) -> torch.Tensor:
    """C = V V^T / ||V||_F with V = W_aligned - W_base (Eq. 2); (d_out, d_in) -> (d_out, d_out)."""
    V = W_aligned.double() - W_base.double()
    norm = torch.linalg.matrix_norm(V)
    if norm == 0:
        return torch.zeros(V.shape[0], V.shape[0], dtype=torch.float64)
    return V @ V.T / norm


def projected_similarity(C: torch.Tensor, B: torch.Tensor, A: torch.Tensor) -> float:
    """Cosine similarity of the projected update C B A and the update B A, rounded to 5 digits."""
    dW = B.double() @ A.double()  # (d_out, d_in)
    proj = C.double() @ dW
    cos = torch.nn.functional.cosine_similarity(proj.reshape(1, -1), dW.reshape(1, -1)).item()
    return round(cos, 5)


def select_layers(similarities: dict[str, float], threshold: float | None = None,
                  num_layers: int | None = None) -> set[str]:
    """The layers to project: cos <= threshold, or the ``num_layers`` lowest cos (ties included)."""
    if (threshold is None) == (num_layers is None):
        raise TunesafeError("Safe LoRA needs exactly one of a cosine threshold or a number of layers")
    if num_layers is not None:
        if num_layers <= 0 or not similarities:
            return set()
        threshold = sorted(similarities.values())[min(num_layers, len(similarities)) - 1]
    return {name for name, cos in similarities.items() if cos <= threshold}


def apply_safelora(aligned: str, base: str, adapter: str, out_dir: str, threshold: float | None = None,
                   num_layers: int | None = None) -> dict[str, Any]:
    """Write the Safe LoRA adapter of ``adapter`` (a peft LoRA directory on ``aligned``) to ``out_dir``."""
    adapter_dir = Path(adapter)
    if not (adapter_dir / "adapter_config.json").exists():
        raise TunesafeError(f"{adapter}: not a LoRA adapter (no adapter_config.json); Safe LoRA needs a LoRA fine-tune")
    weights_file = adapter_dir / "adapter_model.safetensors"
    if not weights_file.exists():
        raise TunesafeError(f"{weights_file}: missing (expected the adapter weights in safetensors)")
    check_model(adapter, "adapter")
    lora = load_file(str(weights_file))
    W_aligned, W_base = Weights(local_dir(aligned)), Weights(local_dir(base))
    stems = sorted(k.removesuffix(".lora_A.weight") for k in lora if k.endswith(".lora_A.weight"))
    similarities, projected_B = {}, {}
    for stem in stems:
        name = stem.removeprefix("base_model.model.") + ".weight"  # the linear's weight in the model
        for weights, which in ((W_aligned, aligned), (W_base, base)):
            if name not in weights.where:
                raise TunesafeError(f"{which}: no weight {name!r} for the adapter's {stem}")
        C = projection_matrix(W_aligned.get(name), W_base.get(name))  # (d_out, d_out)
        A, B = lora[f"{stem}.lora_A.weight"], lora[f"{stem}.lora_B.weight"]  # (r, d_in), (d_out, r)
        similarities[stem] = projected_similarity(C, B, A)
        projected_B[stem] = (C @ B.double()).to(B.dtype)
    chosen = select_layers(similarities, threshold, num_layers)
    for stem in chosen:
        lora[f"{stem}.lora_B.weight"] = projected_B[stem].contiguous()
    summary = {"threshold": threshold, "num_layers": num_layers, "projected": sorted(chosen),
               "n_projected": len(chosen), "n_layers": len(stems), "similarities": similarities,
               "aligned": str(aligned), "base": str(base), "adapter": str(adapter)}
    with atomic_path(out_dir, directory=True) as tmp:
        for f in adapter_dir.iterdir():
            if f.is_file() and f.name != "adapter_model.safetensors":
                shutil.copy(f, tmp / f.name)
        save_file(lora, str(tmp / "adapter_model.safetensors"), metadata={"format": "pt"})
        write_json(tmp / "safelora_summary.json", summary)
    return summary

