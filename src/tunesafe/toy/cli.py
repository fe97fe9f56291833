"""``tunesafe toy``: build the toy world's tokenizer and randomly initialised model."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("toy", help="the embedded toy world's tokenizer and models")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tokenizer", help="train the byte-level BPE tokenizer on chat records")
    p.add_argument("--corpus", nargs="+", required=True, help="JSONL chat records to train on")
    p.add_argument("--vocab-size", type=int, default=1024)
    p.add_argument("--chat-template", help="Jinja chat template (default: the Llama-2 template shipped in the package)")
    p.add_argument("--out", required=True, help="output tokenizer directory")
    p.set_defaults(func=_tokenizer)

    p = sub.add_parser("init-model", help="a randomly initialised tiny Llama for the toy tokenizer")
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--num-layers", type=int, default=2)
    p.add_argument("--num-heads", type=int, default=8)
    p.add_argument("--intermediate-size", type=int, default=352)
    p.add_argument("--max-position-embeddings", type=int, default=512)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True, help="output model directory")
    p.set_defaults(func=_init_model)


def _tokenizer(args: argparse.Namespace) -> None:
    from tunesafe.toy.tokenizer import build_tokenizer

    print(f"{args.out}: vocabulary of {build_tokenizer(args.corpus, args.vocab_size, args.out, args.chat_template)}")


def _init_model(args: argparse.Namespace) -> None:
    from tunesafe.toy.model import ToyModelConfig, build_model

    cfg = ToyModelConfig(args.hidden_size, args.num_layers, args.num_heads, args.intermediate_size,
                         args.max_position_embeddings)
    print(f"{args.out}: {build_model(args.tokenizer, cfg, args.seed, args.out) / 1e6:.2f}M parameters")
