"""``tunesafe safedelta``: cache the safety Hessians of an aligned model; apply Safe Delta."""

from __future__ import annotations

import argparse
import json

from tunesafe.errors import check_range


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("safedelta", help="Safe Delta (arXiv 2505.12038)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("safety-set", help="the safety set from the aligned model's answers to harmful prompts")
    p.add_argument("--generations", required=True, help="generations of the aligned model on harmful prompts")
    p.add_argument("--system-prompt", action="append", default=[],
                   help="system prompts given to the samples in turn (repeatable; official: PureBad, AOA, Math, PureBad)")
    p.add_argument("--out", required=True, help="output chat records")
    p.set_defaults(func=_safety_set)

    p = sub.add_parser("hessian", help="safety Hessians of the aligned model, cached per model and safety set")
    p.add_argument("--model", required=True, help="the aligned model (directory or Hugging Face id)")
    p.add_argument("--data", required=True, help="safety set: chat records (harmful request -> safe answer)")
    p.add_argument("--nsamples", type=int, default=128, help="safety samples N (official run_safedelta.py: 128)")
    p.add_argument("--max-length", type=int, default=512, help="tokens per sample; 0 = no truncation (official)")
    p.add_argument("--templates", default="[]",
                   help='JSON list of {"system_prompt", "user_template"} given to the shuffled samples in turn '
                        "(official: pure_bad, aoa, math, pure_bad)")
    p.add_argument("--no-eos", action="store_true", help="no EOS after the answer (official)")
    p.add_argument("--seed", type=int, default=42, help="shuffle seed of the safety set")
    p.add_argument("--out", required=True, help="Hessian cache directory")
    p.set_defaults(func=_hessian)

    p = sub.add_parser("apply", help="Safe Delta model of one fine-tune at one scale")
    p.add_argument("--original", required=True, help="the aligned model")
    p.add_argument("--finetuned", required=True, help="full fine-tune directory or LoRA adapter directory")
    p.add_argument("--hessian", required=True, help="Hessian cache directory of the aligned model")
    p.add_argument("--scale", type=float, required=True, help="safety budget s (paper ~0.1)")
    p.add_argument("--no-compensation", action="store_true", help="the w/o-SCV ablation")
    p.add_argument("--finetuned-rest", action="store_true",
                   help="take embeddings, norms and LM head from the fine-tune (default: aligned, as official)")
    p.add_argument("--out", required=True, help="output model directory")
    p.set_defaults(func=_apply)


def _safety_set(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_jsonl
    from tunesafe.safedelta.hessian import safety_set_from_generations

    records = safety_set_from_generations(read_jsonl(args.generations), args.system_prompt)
    print(f"{args.out}: {write_jsonl(args.out, records)} safety samples")


def _hessian(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError

    check_range("--nsamples", args.nsamples, 1)
    check_range("--max-length", args.max_length, 0)  # 0 = no truncation
    from tunesafe.safedelta.hessian import compute_hessians

    try:
        templates = json.loads(args.templates)
    except json.JSONDecodeError as e:
        raise TunesafeError(f"--templates: not JSON ({e})") from None
    if not isinstance(templates, list) or any(not isinstance(t, dict) or set(t) - {"system_prompt", "user_template"}
                                              for t in templates):
        raise TunesafeError('--templates: expected a JSON list of {"system_prompt", "user_template"} objects')
    meta = compute_hessians(args.model, args.data, args.nsamples, args.out, max_length=args.max_length or None,
                            seed=args.seed, templates=templates, eos=not args.no_eos)
    print(json.dumps(meta))


def _apply(args: argparse.Namespace) -> None:
    check_range("--scale", args.scale, 0)
    from tunesafe.safedelta.apply import apply

    summary = apply(args.original, args.finetuned, args.hessian, args.scale, args.out,
                    compensate=not args.no_compensation, keep_aligned_rest=not args.finetuned_rest)
    print(json.dumps(summary))
