"""Safe Delta per fine-tune: the official code's behaviour against ours, in one run.

Reference behaviour (as the official ``run_safedelta.py``): for every fine-tune, run the
safety set through the aligned model again, accumulate one Hessian per linear (q, k, v,
o, gate, up, down: seven per layer), factorise each, then apply. Ours: the Hessians are
prepared once per aligned model (one per shared input: four per layer, factorised once,
cached on disk, ``tunesafe safedelta hessian``); a fine-tune only loads U and applies.

Usage (defaults: a random-weight Llama with hidden 1024 and 8 layers, on CPU):

    python benchmarks/safedelta.py [--hidden 1024] [--layers 8] [--nsamples 128] [--tokens 256]

Prints the time of the Hessian preparation, of one fine-tune for each path, their ratio,
and the largest difference between the two paths' weights.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from tunesafe.io import write_jsonl
from tunesafe.safedelta.algorithm import BLOCK, HessianAccumulator, inverse_cholesky, safe_delta
from tunesafe.safedelta.apply import apply
from tunesafe.safedelta.hessian import compute_hessians, safety_samples
from tunesafe.toy.tokenizer import chat_template_path, train_tokenizer


def build(tmp: Path, hidden: int, layers: int, vocab: int = 1024) -> tuple[Path, Path]:
    """A random aligned model and a 'fine-tune' = aligned + a random delta of std 3e-4
    (the order of a full fine-tune's delta at lr 5e-5)."""
    texts = [f"request {i} answer {i * 7 % 13} words" for i in range(2000)]
    tok = train_tokenizer(texts, vocab, chat_template_path().read_text())
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=int(hidden * 2.6875),
                      num_hidden_layers=layers, num_attention_heads=hidden // 64, num_key_value_heads=hidden // 64,
                      max_position_embeddings=2048, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = LlamaForCausalLM(cfg)
    aligned, ft = tmp / "aligned", tmp / "ft"
    model.save_pretrained(aligned)
    tok.save_pretrained(aligned)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 3e-4)
    model.save_pretrained(ft)
    tok.save_pretrained(ft)
    return aligned, ft


def safety_set(path: Path, n: int, tokens: int) -> None:
    rng = torch.Generator().manual_seed(1)
    words = ["request", "answer", "words", "please", "no"]
    rows = []
    for i in range(n):
        idx = torch.randint(0, len(words), (tokens // 2,), generator=rng).tolist()
        text = " ".join(words[j] for j in idx)
        rows.append({"id": str(i), "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": text}],
                     "meta": {}})
    write_jsonl(path, rows)


@torch.no_grad()
def reference_finetune(aligned: Path, ft: Path, data: Path, nsamples: int, tokens: int, s: float) -> dict[str, torch.Tensor]:
    """The official behaviour: recompute one H per linear for this fine-tune, then apply."""
    tok = PreTrainedTokenizerFast.from_pretrained(aligned)
    model = LlamaForCausalLM.from_pretrained(aligned).eval()
    tuned = LlamaForCausalLM.from_pretrained(ft).state_dict()
    acc: dict[str, HessianAccumulator] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear) and ".layers." in name:
            acc[name] = HessianAccumulator(m.in_features)
            hooks.append(m.register_forward_hook((lambda a: lambda _m, i, _o: a.add(i[0][0]))(acc[name])))
    for messages in safety_samples(str(data), nsamples):
        text = tok.apply_chat_template(messages, tokenize=False)
        model(input_ids=tok(text, add_special_tokens=False, truncation=True, max_length=tokens,
                            return_tensors="pt")["input_ids"], use_cache=False)
    for h in hooks:
        h.remove()
    weights = model.state_dict()
    return {f"{n}.weight": safe_delta(weights[f"{n}.weight"], tuned[f"{n}.weight"], inverse_cholesky(a.H), s,
                                      chunk=BLOCK)  # the official layout: lazy updates per block only
            for n, a in acc.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--nsamples", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--scale", type=float, default=0.1)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        aligned, ft = build(tmp, args.hidden, args.layers)
        data = tmp / "safety.jsonl"
        safety_set(data, args.nsamples, args.tokens)

        t0 = time.perf_counter()
        compute_hessians(str(aligned), str(data), args.nsamples, str(tmp / "H"), max_length=args.tokens, device="cpu")
        t_prep = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = apply(str(aligned), str(ft), str(tmp / "H"), args.scale, str(tmp / "ours"), device="cpu")
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = reference_finetune(aligned, ft, data, args.nsamples, args.tokens, args.scale)
        t_ref = time.perf_counter() - t0

        from safetensors.torch import load_file

        ours = {}
        for f in (tmp / "ours").glob("*.safetensors"):
            ours.update(load_file(f))
        diff = max(float((ours[k].float() - v).abs().max()) for k, v in ref.items())
    result = {"hidden": args.hidden, "layers": args.layers, "nsamples": args.nsamples, "tokens": args.tokens,
              "hessian_preparation_s": round(t_prep, 2), "per_finetune_ours_s": round(t_ours, 2),
              "per_finetune_reference_s": round(t_ref, 2), "speedup_per_finetune": round(t_ref / t_ours, 2),
              "max_abs_weight_difference": diff,
              "share_of_entries_equal_to_finetuned": round(summary["entries_equal_to_finetuned"], 3)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
