"""Time per optimizer step of the toy reasoning model's training with and without
``length_chunks`` (TrainSettings), in one run.

Usage:
    .venv/bin/python benchmarks/length_chunks.py [--steps 6] [--repeat 3] [--chunks 1 2 4 8]

Builds what ``mathif_toy_reasoning_model`` trains on, at its shape: the toy tokenizer (trained
on the toy lexicon, as ``toy_tokenizer``) and a freshly initialised toy model of
``config/config.yaml`` (``toy.vocab_size``, ``toy.model``),
and batches of 32 toy MathIF reasoning records (``mathif.toy_reasoning``: 320 tokens at most).
Then, on one thread (the toy's per-job setting), times ``--steps`` forward and backward passes
of the same batches for each chunk count, interleaved ``--repeat`` times so every count sees the
same machine load. Prints the median seconds per step, the ratio to 1 chunk, the padded tokens
per step, and the largest relative difference of the loss from the 1-chunk loss.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()

    import torch
    import yaml
    from accelerate import Accelerator

    from tunesafe.data import toy
    from tunesafe.mathif.toy import reasoning_records
    from tunesafe.toy.model import ToyModelConfig, init_model
    from tunesafe.toy.tokenizer import chat_template_path, corpus_texts, train_tokenizer
    from tunesafe.train.sft import _micro_batch_backward
    from tunesafe.train.tokenize import tokenize_chat

    torch.set_num_threads(1)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    settings = config["mathif"]["toy_reasoning"]["training"]
    batch, max_length = settings["micro_batch"], settings["max_length"]
    records = reasoning_records(batch * args.steps, seed=config["mathif"]["toy_reasoning"]["seed"])
    lexicon = toy.lexicon(config["toy"]["corpus"]["lexicon"], config["seed"])
    tokenizer = train_tokenizer(corpus_texts(lexicon), config["toy"]["vocab_size"], chat_template_path().read_text())
    model = init_model(ToyModelConfig(**config["toy"]["model"]), tokenizer, seed=0)
    examples = [tokenize_chat(tokenizer, r["messages"], max_length) for r in records]
    batches = [examples[i:i + batch] for i in range(0, len(examples), batch)]
    accelerator = Accelerator(cpu=True)

    def padded_tokens(chunks: int) -> float:
        total = 0
        for b in batches:
            ordered = sorted(b, key=lambda x: len(x["input_ids"]), reverse=True)
            for i in range(chunks):
                part = ordered[i * len(b) // chunks:(i + 1) * len(b) // chunks]
                total += len(part) * max((len(x["input_ids"]) for x in part), default=0)
        return total / len(batches)

    seconds = {c: [] for c in args.chunks}
    losses = {}
    for _ in range(args.repeat):
        for c in args.chunks:
            start = time.perf_counter()
            run = [_micro_batch_backward(accelerator, model, b, tokenizer.pad_token_id, c, 1) for b in batches]
            seconds[c].append((time.perf_counter() - start) / len(batches))
            model.zero_grad()
            losses[c] = run
    real = sum(len(x["input_ids"]) for x in examples) / len(batches)
    print(f"{len(batches)} batches of {batch} toy reasoning records (<= {max_length} tokens; {real:.0f} real tokens "
          f"per batch), median of {args.repeat} interleaved runs, 1 thread")
    base = statistics.median(seconds[args.chunks[0]])
    for c in args.chunks:
        med = statistics.median(seconds[c])
        diff = max(abs(a - b) / abs(b) for a, b in zip(losses[c], losses[args.chunks[0]], strict=True))
        print(f"length_chunks {c}: {med:.3f} s/step  ratio {med / base:.2f}  padded tokens/step "
              f"{padded_tokens(c):.0f}  max rel. loss diff {diff:.1e}")


if __name__ == "__main__":
    main()
