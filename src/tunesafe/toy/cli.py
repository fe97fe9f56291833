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
    from pathlib import Path

    from tunesafe.io import atomic_path, read_jsonl
    from tunesafe.toy.tokenizer import chat_template_path, corpus_texts, train_tokenizer

    records = [r for path in args.corpus for r in read_jsonl(path)]
    template = Path(args.chat_template or chat_template_path()).read_text()
    tokenizer = train_tokenizer(corpus_texts(records), args.vocab_size, template)
    with atomic_path(args.out, directory=True) as tmp:
        tokenizer.save_pretrained(tmp)
    print(f"{args.out}: vocabulary of {len(tokenizer)}")


def _init_model(args: argparse.Namespace) -> None:
    from transformers import AutoTokenizer

    from tunesafe.io import atomic_path
    from tunesafe.toy.model import ToyModelConfig, init_model

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    cfg = ToyModelConfig(args.hidden_size, args.num_layers, args.num_heads, args.intermediate_size,
                         args.max_position_embeddings)
    model = init_model(cfg, tokenizer, args.seed)
    with atomic_path(args.out, directory=True) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    print(f"{args.out}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters")
