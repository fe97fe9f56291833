"""Architecture specifics as data: where the decoder layers are, and which linears of a
layer read the same input (and so share one safety Hessian).

Llama, Qwen2/3 and Gemma 1/2/3 name their linears alike; a new family is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from tunesafe.errors import TunesafeError

# group name -> linears of a decoder layer that take that group's input
LLAMA_GROUPS = {
    "attn_in": ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"),  # the normed hidden state
    "attn_out": ("self_attn.o_proj",),  # attention output
    "mlp_in": ("mlp.gate_proj", "mlp.up_proj"),  # the normed hidden state after attention
    "mlp_out": ("mlp.down_proj",),  # the SwiGLU/GeGLU activation
}


@dataclass(frozen=True)
class Architecture:
    layers: str  # attribute path of the decoder layers inside the *CausalLM model
    groups: dict[str, tuple[str, ...]]

    def linears(self) -> list[tuple[str, str]]:
        """(group, linear) pairs of one decoder layer."""
        return [(g, name) for g, names in self.groups.items() for name in names]


ARCHITECTURES = {
    model_type: Architecture("model.layers", LLAMA_GROUPS)
    for model_type in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text")
}


def architecture(model_type: str) -> Architecture:
    if model_type not in ARCHITECTURES:
        raise TunesafeError(f"Safe Delta has no architecture entry for model_type {model_type!r} "
                            f"(known: {', '.join(sorted(ARCHITECTURES))}); add one in tunesafe/safedelta/arch.py")
    return ARCHITECTURES[model_type]
