"""Checks that need a GPU, in one run: vLLM against the hf engine, and Safe Delta at 7B scale.

1. **vLLM vs hf, greedy**: the converted real checkpoint (``--model``; default
   results/models/gguf/base) answers ``--prompts`` chat prompts (64) with both engines,
   greedy, ``--new-tokens`` (32) tokens; the share of prompts whose first 32 token ids are
   identical must be >= ``--agreement`` (0.9). Both engines get the same rendered prompt
   (the model's chat template); token ids, not text, are compared.
2. **Safe Delta at Llama-2-7B size**: a random-weight Llama with the 7B shape (32 layers,
   hidden 4096, MLP 11008, 32 heads) and a fine-tune of it (plus a random delta), saved as
   bf16 safetensors; the safety Hessians from ``--nsamples`` (128) samples of ``--tokens``
   (512) tokens (``tunesafe safedelta hessian``'s code) and one Safe Delta apply, timed
   against the goals (<= 60 s and <= 10 s). The tokenizer is the real checkpoint's (its
   vocabulary sets the random model's; embeddings play no part in Safe Delta's linears).

Usage on a GPU machine (vLLM installed there: pip install vllm):

    python benchmarks/gpu_check.py --model results/models/gguf/base

``--tiny`` runs the same code at a tiny size (2 layers, hidden 256, 8 samples of 64 tokens,
8 prompts) so the script can be checked on CPU; the vLLM part is skipped (reported as such)
when vLLM cannot be imported or no GPU is present. Prints one JSON object; exit status 1 if
a measured goal is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from tunesafe.data import toy
from tunesafe.io import write_jsonl


def prompts_of(n: int) -> list[list[dict[str, str]]]:
    """Benign and harmful-looking toy requests, summaries and word problems, as chat prompts."""
    sets = [toy.samsum(n, 1), toy.gsm8k(n, 2), toy.hexphi(n, 3), toy.mtbench(n, 4)]
    rows = [r for group in zip(*sets, strict=True) for r in group][:n]
    return [[m for m in r["messages"] if m["role"] != "assistant"][:2] for r in rows]


def hf_token_ids(model: str, texts: list[str], new_tokens: int) -> list[list[int]]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tok = AutoTokenizer.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).to(device).eval()
    out = []
    with torch.inference_mode():
        for text in texts:  # one at a time: no padding in the reference
            ids = tok(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
            gen = lm.generate(ids, max_new_tokens=new_tokens, do_sample=False, temperature=None, top_p=None,
                              top_k=None, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            out.append(gen[0, ids.shape[1]:].tolist())
    return out


def vllm_token_ids(model: str, texts: list[str], new_tokens: int) -> list[list[int]]:
    from transformers import AutoTokenizer
    from vllm import LLM, SamplingParams

    tok = AutoTokenizer.from_pretrained(model)
    llm = LLM(model=model, dtype="float32", seed=0, enforce_eager=True, gpu_memory_utilization=0.5)
    params = SamplingParams(temperature=0, max_tokens=new_tokens)
    # the very token ids the hf side gets (no special tokens added by either engine)
    prompts = [{"prompt_token_ids": tok(t, add_special_tokens=False)["input_ids"]} for t in texts]
    outs = llm.generate(prompts, params)
    return [list(o.outputs[0].token_ids) for o in outs]


def check_vllm(model: str, n: int, new_tokens: int) -> dict:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts_of(n)]
    t0 = time.perf_counter()
    hf = hf_token_ids(model, texts, new_tokens)
    t_hf = time.perf_counter() - t0
    try:
        import vllm  # noqa: F401
    except ImportError:
        return {"skipped": "vllm is not installed", "hf_s": round(t_hf, 2)}
    if not torch.cuda.is_available():
        return {"skipped": "no GPU", "hf_s": round(t_hf, 2)}
    t0 = time.perf_counter()
    vl = vllm_token_ids(model, texts, new_tokens)
    t_vllm = time.perf_counter() - t0
    k = new_tokens
    same = [a[:k] == b[:k] for a, b in zip(hf, vl, strict=True)]
    return {"prompts": n, "tokens_compared": k, "identical_share": sum(same) / n, "hf_s": round(t_hf, 2),
            "vllm_s": round(t_vllm, 2), "first_differing": [i for i, s in enumerate(same) if not s][:10]}


def random_llama(tmp: Path, tokenizer_dir: str, layers: int, hidden: int, mlp: int, heads: int) -> tuple[Path, Path]:
    """A random-weight Llama of the given shape and a fine-tune (+ N(0, 3e-4) delta), bf16."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=mlp, num_hidden_layers=layers,
                      num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=4096,
                      tie_word_embeddings=False, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    aligned, ft = tmp / "aligned", tmp / "ft"
    model.save_pretrained(aligned)
    tok.save_pretrained(aligned)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 3e-4)
    model.save_pretrained(ft)
    tok.save_pretrained(ft)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return aligned, ft


def safety_set(path: Path, n: int, tokens: int) -> None:
    """n conversations of about `tokens` tokens: a harmful-looking request and a long refusal."""
    reqs = toy.harmful_prompts(n, 18)
    refusal = " ".join(toy.REFUSALS)
    rows = [{"id": r["id"], "messages": [*r["messages"], {"role": "assistant",
                                                         "content": " ".join([refusal] * (tokens // 30 + 1))}],
             "meta": {}} for r in reqs]
    write_jsonl(path, rows)


def check_safedelta(tokenizer_dir: str, tmp: Path, layers: int, hidden: int, mlp: int, heads: int,
                    nsamples: int, tokens: int, scale: float) -> dict:
    from tunesafe.safedelta.apply import apply
    from tunesafe.safedelta.hessian import compute_hessians

    t0 = time.perf_counter()
    aligned, ft = random_llama(tmp, tokenizer_dir, layers, hidden, mlp, heads)
    t_build = time.perf_counter() - t0
    data = tmp / "safety.jsonl"
    safety_set(data, nsamples, tokens)
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    t0 = time.perf_counter()
    meta = compute_hessians(str(aligned), str(data), nsamples, str(tmp / "H"), max_length=tokens)
    sync()
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = apply(str(aligned), str(ft), str(tmp / "H"), scale, str(tmp / "sd"))
    sync()
    t_apply = time.perf_counter() - t0
    return {"layers": layers, "hidden": hidden, "intermediate": mlp, "nsamples": nsamples, "tokens": tokens,
            "device": "cuda" if torch.cuda.is_available() else "cpu", "build_and_save_s": round(t_build, 1),
            "preparation_s": round(t_prep, 2), "apply_s": round(t_apply, 2), "layers_done": meta["num_layers"],
            "entries_equal_to_finetuned": round(summary["entries_equal_to_finetuned"], 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="results/models/gguf/base", help="the converted real checkpoint")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--agreement", type=float, default=0.9)
    parser.add_argument("--nsamples", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--goal-preparation", type=float, default=60.0, help="seconds")
    parser.add_argument("--goal-apply", type=float, default=10.0, help="seconds")
    parser.add_argument("--workdir", help="where the 7B models go (about 27 GB; default: a temporary directory)")
    parser.add_argument("--tiny", action="store_true", help="a tiny size, to check the script on CPU")
    parser.add_argument("--skip", nargs="*", default=[], choices=["vllm", "safedelta"])
    args = parser.parse_args()
    shape = dict(layers=32, hidden=4096, mlp=11008, heads=32)
    if args.tiny:
        shape = dict(layers=2, hidden=256, mlp=688, heads=4)
        args.nsamples, args.tokens, args.prompts = 8, 64, min(args.prompts, 8)
    result: dict = {"cuda": torch.cuda.is_available(), "torch": torch.__version__, "tiny": args.tiny}
    if torch.cuda.is_available():
        result["gpu"] = torch.cuda.get_device_name()
    if "vllm" not in args.skip:
        result["vllm_vs_hf"] = check_vllm(args.model, args.prompts, args.new_tokens)
    if "safedelta" not in args.skip:
        with tempfile.TemporaryDirectory(dir=args.workdir) as d, torch.no_grad():
            result["safedelta"] = check_safedelta(args.model, Path(d), **shape, nsamples=args.nsamples,
                                                  tokens=args.tokens, scale=args.scale)
    missed = []
    agreement = result.get("vllm_vs_hf", {}).get("identical_share")
    if agreement is not None and agreement < args.agreement:
        missed.append(f"vLLM/hf agreement {agreement:.2f} < {args.agreement}")
    sd = result.get("safedelta")
    if sd and not args.tiny:
        if sd["preparation_s"] > args.goal_preparation:
            missed.append(f"Safe Delta preparation {sd['preparation_s']} s > {args.goal_preparation} s")
        if sd["apply_s"] > args.goal_apply:
            missed.append(f"Safe Delta apply {sd['apply_s']} s > {args.goal_apply} s")
    result["goals_missed"] = missed
    print(json.dumps(result, indent=2))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
