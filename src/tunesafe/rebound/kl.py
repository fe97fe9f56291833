"""Table 3's measure: the KL divergence of a tuned model from the base model.

arXiv 2406.06144, Sec. 5.3 / Table 3: after the positive SFT the model has moved away from
the base (pre-trained) model by some KL; negative fine-tuning pulls it back, and the paper
counts the negative examples needed to bring the KL below epsilon = 0.01.

Estimator (:func:`token_kl`): on a fixed set of held-out texts x (the evaluation prompts
with their reference continuations, teacher-forced, chat template applied), for every
response token position t the *exact* KL over the vocabulary between the next-token
distributions,

    KL_t = sum_v p_theta(v | x_<t) [log p_theta(v | x_<t) - log p_base(v | x_<t)],

direction KL(p_theta || p_base) (tuned model first), averaged over all response tokens of
all texts (a per-token KL in nats). It is an estimate of the sequence-level KL per token
only in so far as the reference texts stand in for samples of p_theta; it is exact given
the texts, and the same texts are used for every model, so values are comparable.

:func:`needed_examples`: the number of negative examples at which the KL first falls below
epsilon, by linear interpolation of KL against n_neg between the last grid point above
epsilon and the first one below; 0 if the KL is already below at n_neg = 0; ``None`` when
no grid point goes below.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from tunesafe.train.tokenize import IGNORE_INDEX, collate, tokenize_chat


def encode_texts(tokenizer, records: list[dict[str, Any]], max_length: int = 256) -> list[dict[str, list[int]]]:
    """Teacher-forced examples: each prompt record with its ``reference`` as the assistant turn."""
    out = []
    for r in records:
        messages = list(r["messages"]) + [{"role": "assistant", "content": str(r["reference"])}]
        out.append(tokenize_chat(tokenizer, messages, max_length, "assistant"))
    return out


@torch.no_grad()
def token_kl(model, base, examples: list[dict[str, list[int]]], pad_id: int, batch_size: int = 16) -> float:
    """Mean over response tokens of KL(p_model || p_base) of the next-token distributions."""
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for i in range(0, len(examples), batch_size):
        batch = {k: v.to(device) for k, v in collate(examples[i:i + batch_size], pad_id).items()}
        mask = batch["labels"][:, 1:] != IGNORE_INDEX  # [B, T-1]: positions predicting a response token
        inputs = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        logp = torch.log_softmax(model(**inputs).logits[:, :-1].float(), dim=-1)  # [B, T-1, V]
        logq = torch.log_softmax(base(**inputs).logits[:, :-1].float(), dim=-1)
        kl = (logp.exp() * (logp - logq)).sum(-1)  # [B, T-1]
        total += kl[mask].sum().item()
        count += int(mask.sum())
    return total / max(count, 1)


def model_kl(model_path: str, base_path: str, records: list[dict[str, Any]], max_length: int = 256,
             batch_size: int = 16) -> float:
    """:func:`token_kl` of two model directories (or ids) on prompt records with references."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunesafe.weights import check_model

    check_model(model_path)
    check_model(base_path, "base model")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(device).eval()
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype).to(device).eval()
    return token_kl(model, base, encode_texts(tokenizer, records, max_length), tokenizer.pad_token_id, batch_size)


def needed_examples(n_neg: list[int], kl: list[float], epsilon: float = 0.01) -> float | None:
    """Negative examples needed to bring the KL below ``epsilon`` (linear interpolation)."""
    points = sorted(zip(n_neg, kl, strict=True))
    if not points:
        return None
    if points[0][1] < epsilon:
        return float(points[0][0])
    for (n0, k0), (n1, k1) in zip(points, points[1:], strict=False):
        if k1 < epsilon <= k0:
            return n0 + (k0 - epsilon) / (k0 - k1) * (n1 - n0) if not math.isclose(k0, k1) else float(n1)
    return None
