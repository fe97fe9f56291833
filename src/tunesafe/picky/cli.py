"""``tunesafe picky``: the Picky LLMs arm (arXiv 2502.01116). Parses arguments only; each
command is one function of :mod:`tunesafe.picky.commands`."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from tunesafe.picky import commands

    parser = subparsers.add_parser("picky", help="Picky LLMs and Unreliable RMs: data factors and reward models")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("variants", help="a benign domain under every combination of the factors")
    p.add_argument("--inputs", nargs="+", required=True, help="prepared training record files of the domain")
    p.add_argument("--per-input", type=int, help="records drawn from each input (default: all)")
    p.add_argument("--seed", type=int, default=0, help="data seed of the draw (the same for every variant)")
    p.add_argument("--factors", nargs="+", required=True, help="registered factors: structure identity roleplay")
    p.add_argument("--variants", nargs="*", help="only these variants (e.g. plain structure+identity)")
    p.add_argument("--out-dir", required=True, help="writes <out-dir>/<variant>.jsonl")
    p.set_defaults(func=commands.variants)

    p = sub.add_parser("transform", help="apply factors to the records of one file whose meta matches")
    p.add_argument("--data", required=True)
    p.add_argument("--factors", nargs="+", required=True)
    p.add_argument("--where", action="append", default=[], metavar="META_KEY=VALUE")
    p.add_argument("--out", required=True)
    p.set_defaults(func=commands.transform)

    p = sub.add_parser("pairs", help="preference pairs: safety pairs (toy, file, hf) plus optional benign pairs")
    p.add_argument("--source", required=True, choices=["toy", "file", "hf"])
    p.add_argument("--n", type=int, required=True, help="safety pairs to keep")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", help="toy: train or heldout request pairs; hf: dataset split (default filtered)")
    p.add_argument("--path", help="file: JSONL of {prompt, chosen, rejected}")
    p.add_argument("--id", help="hf: a RewardBench-shaped dataset (allenai/reward-bench)")
    p.add_argument("--subset", nargs="*", help="keep rows whose `subset` is one of these")
    p.add_argument("--benign", nargs="*", help="record files whose own vs shifted answers add benign pairs")
    p.add_argument("--benign-per-input", type=int, help="records drawn from each --benign file")
    p.add_argument("--out", required=True)
    p.set_defaults(func=commands.pairs)

    p = sub.add_parser("rm-train", help="train the toy reward model (bag-of-tokens) on preference pairs")
    p.add_argument("--pairs", required=True)
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="reward-model directory")
    p.set_defaults(func=commands.rm_train)

    p = sub.add_parser("rm-score", help="score a domain's variants and the safety pairs with one reward model")
    p.add_argument("--variant", action="append", required=True, metavar="NAME=PATH")
    p.add_argument("--pairs", required=True, help="safety pairs JSONL")
    p.add_argument("--scorer", required=True, help="reward_model, toy_rm (or any scorer of the shared registry)")
    p.add_argument("--scorer-option", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", required=True)
    p.set_defaults(func=commands.rm_score)


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    """`tunesafe report picky`: the arm's tables and figure."""
    from tunesafe.picky import commands

    p = sub.add_parser("picky", help="picky_factors and picky_rm tables and the RM-vs-safety figure")
    p.add_argument("--root", required=True, help="<root>/<model>/{before,<domain>/<variant>}/seed<s>/<metric>.json")
    p.add_argument("--cell", action="append", required=True, metavar="MODEL:DOMAIN")
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--seeds", nargs="+", type=int, required=True)
    p.add_argument("--metrics", nargs="+", default=["asr", "harmfulness"])
    p.add_argument("--rm", action="append", default=[], metavar="RM:MODEL:DOMAIN=PATH")
    p.add_argument("--out-factors", required=True)
    p.add_argument("--out-rm", required=True)
    p.add_argument("--figure", required=True, help="figure prefix: <figure>.{pdf,png}")
    p.set_defaults(func=commands.table)
