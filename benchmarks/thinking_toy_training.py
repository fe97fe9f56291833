"""The toy instruct model of the When Thinking Fails arm: the old recipe against the one in
config/config.yaml, trained one after the other in one run, on one thread each.

Usage:
    .venv/bin/python benchmarks/thinking_toy_training.py --aligned results/models/toy/aligned [--seed 1] [--keep DIR]

Both runs start from the same toy aligned model (``--aligned``: a finished toy study's
``results/models/toy/aligned``) and train on the same SFT records (``tunesafe thinking
toy-sft`` with the config's ``n`` and ``cot_share``). The old recipe is 5 epochs of batches of
32 at lr 3e-3 (x0.8 per epoch; 160 steps on 1000 records). Prints each run's wall time, its
optimizer steps and the ratio new/old; with ``--keep`` the models stay there for scoring.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TUNESAFE = str(Path(sys.executable).with_name("tunesafe"))
OLD = {"epochs": 5, "lr": 3.0e-3, "global_batch": 32, "micro_batch": 32, "max_length": 320, "lr_gamma": 0.8}


def train(aligned: str, data: Path, settings: dict, out: Path) -> tuple[float, int]:
    start = time.perf_counter()
    subprocess.run([TUNESAFE, "--threads", "1", "train", "sft", "--model", aligned, "--data", str(data),
                    "--settings", json.dumps(settings), "--out", str(out)], check=True, capture_output=True)
    steps = json.loads((out / "train_summary.json").read_text())["steps"]
    return time.perf_counter() - start, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aligned", required=True, help="toy aligned model directory")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", help="directory for the data and both models (default: a temporary one)")
    args = parser.parse_args()
    toy = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["thinking"]["toy_instruct"]
    work = Path(args.keep or tempfile.mkdtemp(prefix="thinking_training_"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "sft.jsonl"
    subprocess.run([TUNESAFE, "thinking", "toy-sft", "--n", str(toy["n"]), "--seed", str(args.seed),
                    "--cot-share", str(toy["cot_share"]), "--out", str(data)], check=True, capture_output=True)
    new = {**toy["training"], "seed": args.seed}
    times = {}
    for name, settings in (("old", {**OLD, "seed": args.seed}), ("new", new)):
        times[name] = train(args.aligned, data, settings, work / name)
        print(f"{name}: {times[name][0]:.1f} s, {times[name][1]} steps  {json.dumps(settings)}")
    print(f"new/old wall time: {times['new'][0] / times['old'][0]:.2f}  (models in {work})")


if __name__ == "__main__":
    main()
