"""``tunesafe train sft`` (fine-tune on chat records, full or LoRA) and ``tunesafe train grpo`` (RL)."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune a model")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sft", help="supervised fine-tuning on chat records; resumable",
                       description="Wrap with `accelerate launch` for several GPUs.")
    p.add_argument("--model", required=True, help="Hugging Face id or directory of the model to tune")
    p.add_argument("--data", nargs="+", required=True, help="JSONL chat records")
    p.add_argument("--out", required=True, help="output model (or LoRA adapter) directory")
    p.add_argument("--settings", default="{}",
                   help="JSON object of TrainSettings fields (epochs, lr, global_batch, method, lora, ...)")
    p.add_argument("--checkpoint-dir", help="where to checkpoint and resume from")
    p.add_argument("--save-at", action="append", default=[], metavar="FRACTION:DIR",
                   help="also save the model after this fraction of the run's steps to DIR (repeatable)")
    p.add_argument("--summary", help="also write the run's summary (per-step losses) to this JSON file")
    p.add_argument("--chat-template", metavar="JINJA",
                   help="chat template for a model whose tokenizer has none (a base model); saved with the tuned model")
    p.set_defaults(func=_sft)
    g = sub.add_parser("grpo", help="RL with GRPO (TRL's GRPOTrainer) on prompts, with registered rewards",
                       description="Wrap with `accelerate launch` for several GPUs.")
    g.add_argument("--model", required=True, help="Hugging Face id or directory of the start model")
    g.add_argument("--prompts", required=True, help="JSONL chat records without an assistant turn, with reference")
    g.add_argument("--reward", action="append", required=True, metavar="NAME",
                   help="registered reward (repeatable): mathif_correct, think_format")
    g.add_argument("--out", required=True, help="output model directory")
    g.add_argument("--settings", default="{}", help="JSON object of GrpoSettings fields")
    for flag, kind, what in [("--steps", int, "optimizer steps"), ("--lr", float, "learning rate"),
                             ("--beta", float, "KL coefficient"), ("--group-size", int, "completions per prompt"),
                             ("--seed", int, "seed")]:
        g.add_argument(flag, type=kind, help=f"{what} (overrides --settings)")
    g.add_argument("--chat-template", metavar="JINJA", help="chat template for a model whose tokenizer has none")
    g.set_defaults(func=_grpo)


def _sft(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError, check_range
    from tunesafe.train.sft import TrainSettings, train

    try:
        settings = json.loads(args.settings)
    except json.JSONDecodeError as e:
        raise TunesafeError(f"--settings is not valid JSON ({e.msg})") from None
    save_at = {}
    for spec in args.save_at:
        fraction, _, path = spec.partition(":")
        try:
            save_at[float(fraction)] = path
        except ValueError:
            raise TunesafeError(f"--save-at {spec!r}: expected FRACTION:DIR, e.g. 0.33:slices/theta1") from None
        if not path:
            raise TunesafeError(f"--save-at {spec!r}: expected FRACTION:DIR, e.g. 0.33:slices/theta1")
        check_range(f"--save-at {path}: fraction", float(fraction), 0, 1, low_open=True)
    result = train(args.model, args.data, args.out, TrainSettings.from_dict(settings),
                   checkpoint_dir=args.checkpoint_dir, save_at=save_at, chat_template=args.chat_template,
                   summary_path=args.summary)
    print(json.dumps(result))


def _grpo(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError
    from tunesafe.train.grpo_settings import GrpoSettings

    try:
        settings = json.loads(args.settings)
    except json.JSONDecodeError as e:
        raise TunesafeError(f"--settings is not valid JSON ({e.msg})") from None
    for key in ("steps", "lr", "beta", "group_size", "seed"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    checked = GrpoSettings.from_dict(settings)  # a bad setting fails before torch loads
    from tunesafe.train.grpo import train

    print(json.dumps(train(args.model, args.prompts, args.out, args.reward, checked, args.chat_template)))
