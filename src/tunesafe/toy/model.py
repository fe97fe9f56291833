"""Tiny Llama-architecture models for the toy world (the default shape has 0.66M parameters).

The toy models are ordinary ``LlamaForCausalLM`` checkpoints: every stage that handles
Llama-2-7b-chat (fine-tuning, Safe Delta, generation) handles them with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from tunesafe.errors import TunesafeError


@dataclass
class ToyModelConfig:
    """Shape of the toy model (a small Llama-2: RMSNorm, SwiGLU, RoPE, untied head)."""

    hidden_size: int = 128  # d_model
    num_layers: int = 2  # decoder layers
    num_heads: int = 8  # attention heads (no grouped-query attention, as Llama-2-7b)
    intermediate_size: int = 352  # SwiGLU width
    max_position_embeddings: int = 512  # context length

    def __post_init__(self):
        if self.hidden_size % self.num_heads:
            raise TunesafeError(f"toy.model: hidden_size={self.hidden_size} must be divisible by num_heads={self.num_heads}")


def init_model(cfg: ToyModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int) -> LlamaForCausalLM:
    """A randomly initialised Llama with ``tokenizer``'s vocabulary and special tokens."""
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=cfg.max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config)


def build_model(tokenizer_dir: str, cfg: ToyModelConfig, seed: int, out: str) -> int:
    """A freshly initialised toy model with the tokenizer of ``tokenizer_dir``, saved to
    ``out`` (atomically) as a Hugging Face directory with that tokenizer; returns its
    number of parameters."""
    from transformers import AutoTokenizer

    from tunesafe.io import atomic_path

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = init_model(cfg, tokenizer, seed)
    with atomic_path(out, directory=True) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return sum(p.numel() for p in model.parameters())
