"""``tunesafe serve``: the warm process the workflow's local jobs fork from (see the package)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="import torch/transformers once and run tunesafe jobs as forks of it")
    p.add_argument("--socket", required=True, help="Unix socket path to listen on")
    p.add_argument("--parent", type=int, help="stop when this process id is gone (the Snakemake process)")
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> None:
    from tunesafe.server import serve

    serve(args.socket, args.parent)
