"""``tunesafe data``: prepare datasets as chat records."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="prepare datasets as chat records")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="one dataset from a toy generator, a local file or a Hugging Face id")
    p.add_argument("--source", required=True, choices=["toy", "file", "hf"])
    p.add_argument("--name", help="toy: generator name")
    p.add_argument("--n", type=int, help="toy: number of records")
    p.add_argument("--seed", type=int, default=0, help="toy: generator seed")
    p.add_argument("--path", help="file: file or directory")
    p.add_argument("--format", help="file/hf: real format of the rows (messages, aoa_json, samsum, gsm8k, hexphi_csv)")
    p.add_argument("--id", help="hf: dataset id (or a builder such as json with --data-files)")
    p.add_argument("--config", help="hf: dataset config name")
    p.add_argument("--split", help="hf: split (default train)")
    p.add_argument("--revision", help="hf: revision (commit, tag, branch)")
    p.add_argument("--data-files", help="hf: data_files argument of datasets.load_dataset")
    p.add_argument("--limit", type=int, help="keep the first LIMIT records (after shuffling)")
    p.add_argument("--shuffle-seed", type=int, help="shuffle the records with this seed first")
    p.add_argument("--prompts", action="store_true", help="evaluation prompts: drop the final assistant turn")
    p.add_argument("--system-prompt", help="system prompt added to records without one (the dataset's template)")
    p.add_argument("--user-template", default="%s", help="wrap the first user turn; %%s = the request")
    p.add_argument("--replace-system", action="store_true", help="drop the records' own system turns first")
    p.add_argument("--out", required=True, help="output JSONL of chat records")
    p.set_defaults(func=_prepare)

    p = sub.add_parser("mix", help="concatenate datasets and shuffle them")
    p.add_argument("--inputs", nargs="+", required=True)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--limit", type=int, help="keep the first LIMIT records of the inputs (in order), then shuffle")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_mix)


def _prepare(args: argparse.Namespace) -> None:
    from tunesafe.data.prepare import prepare
    from tunesafe.io import write_jsonl

    opts = {k: getattr(args, k) for k in ("name", "n", "seed", "path", "format", "id", "config", "split",
                                           "revision", "data_files") if getattr(args, k) is not None}
    records = prepare(args.source, limit=args.limit, shuffle_seed=args.shuffle_seed, prompts=args.prompts,
                      system_prompt=args.system_prompt, user_template=args.user_template,
                      replace_system=args.replace_system, **opts)
    n = write_jsonl(args.out, records)
    print(f"{args.out}: {n} records")


def _mix(args: argparse.Namespace) -> None:
    from tunesafe.data.prepare import mix
    from tunesafe.io import read_jsonl, write_jsonl

    n = write_jsonl(args.out, mix([read_jsonl(p) for p in args.inputs], args.seed, args.limit))
    print(f"{args.out}: {n} records")
