"""``tunesafe baselines``: SafeInstr/BEA fine-tuning sets, Safe LoRA and Resta models."""

from __future__ import annotations

import argparse
import json

from tunesafe.errors import check_range


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("baselines", help="the Safe Delta paper's baselines")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("safety-mix", help="SafeInstr / BEA: mix safety examples into a fine-tuning set")
    p.add_argument("--data", required=True, help="the task's fine-tuning set (chat records)")
    p.add_argument("--safety", required=True, help="safety examples: request -> refusal (chat records)")
    p.add_argument("--system-prompt", default=None, help="the task's system prompt")
    p.add_argument("--user-template", default="%s", help="the task's user-turn template (%%s = request)")
    p.add_argument("--trigger", default=None, help="BEA: secret trigger put before the system prompt")
    p.add_argument("--fraction", type=float, default=0.1, help="safety examples per task example (0.1)")
    p.add_argument("--cap", type=int, default=1000, help="at most this many safety examples (1000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_safety_mix)

    p = sub.add_parser("safelora", help="Safe LoRA: project a LoRA adapter onto the alignment subspace")
    p.add_argument("--aligned", required=True, help="aligned model (the adapter's base)")
    p.add_argument("--base", required=True, help="unaligned pre-trained model (V = W_aligned - W_base)")
    p.add_argument("--adapter", required=True, help="the LoRA fine-tune (peft adapter directory)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--threshold", type=float, help="project layers whose cosine similarity is <= this")
    group.add_argument("--num-layers", type=int, help="project the layers with the lowest similarity")
    p.add_argument("--out", required=True, help="output adapter directory")
    p.set_defaults(func=_safelora)

    p = sub.add_parser("resta", help="Resta: add the safety vector W_aligned - W_unaligned to a fine-tune")
    p.add_argument("--finetuned", required=True, help="fine-tuned model (full or LoRA adapter)")
    p.add_argument("--aligned", required=True)
    p.add_argument("--unaligned", required=True, help="the aligned model fine-tuned on harmful data")
    p.add_argument("--coefficient", type=float, default=1.0, help="gamma of W_sft + gamma * v (1.0)")
    p.add_argument("--dare", type=float, default=0.0, help="DARE drop rate p on the fine-tuning delta (0 = off)")
    p.add_argument("--seed", type=int, default=42, help="seed of the DARE masks")
    p.add_argument("--out", required=True, help="output model directory")
    p.set_defaults(func=_resta)


def _safety_mix(args: argparse.Namespace) -> None:
    check_range("--fraction", args.fraction, 0, 1)
    check_range("--cap", args.cap, 0)
    from tunesafe.baselines.safety_data import safety_mix
    from tunesafe.io import read_jsonl, write_jsonl

    records = safety_mix(read_jsonl(args.data), read_jsonl(args.safety), system_prompt=args.system_prompt or None,
                         user_template=args.user_template, trigger=args.trigger, fraction=args.fraction,
                         cap=args.cap, seed=args.seed)
    n = write_jsonl(args.out, records)
    print(f"wrote {n} records to {args.out}")


def _safelora(args: argparse.Namespace) -> None:
    if args.threshold is not None:
        check_range("--threshold", args.threshold, -1, 1)  # a cosine similarity
    if args.num_layers is not None:
        check_range("--num-layers", args.num_layers, 0)
    from tunesafe.baselines.safelora import apply_safelora

    summary = apply_safelora(args.aligned, args.base, args.adapter, args.out, args.threshold, args.num_layers)
    print(json.dumps({k: summary[k] for k in ("threshold", "num_layers", "n_projected", "n_layers")}))


def _resta(args: argparse.Namespace) -> None:
    check_range("--dare", args.dare, 0, 1, high_open=True)  # p = 1 drops the whole delta, rescaled by 1/(1 - p)
    from tunesafe.baselines.resta import apply_resta

    summary = apply_resta(args.finetuned, args.aligned, args.unaligned, args.out, args.coefficient, args.dare,
                          args.seed)
    print(json.dumps(summary))
