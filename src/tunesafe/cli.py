"""The ``tunesafe`` command: one subcommand group per stage.

Each stage subpackage that has a ``cli`` module with ``add_parser(subparsers)`` is picked up
here, so a new stage (safedelta, baselines, mathif, rebound, ...) adds its own commands
without editing this file. Heavy libraries are imported inside the commands, so
``tunesafe --help`` is instant.

A :class:`~tunesafe.errors.TunesafeError` ends the command with its one-line message on
stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import pkgutil
import sys

import tunesafe
from tunesafe.errors import TunesafeError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tunesafe", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=tunesafe.__version__)
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: its own choice)")
    parser.add_argument("--gpus", type=int, help="GPUs this job holds: takes free device slots on a node "
                        "without a scheduler (tunesafe.cluster.gpus); train runs under accelerate when > 1")
    subparsers = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for module in pkgutil.iter_modules(tunesafe.__path__):
        name = f"tunesafe.{module.name}.cli"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None and os.environ.get("TUNESAFE_SERVER"):  # a workflow job: run it as a fork
        from tunesafe.server import delegate  # of the warm server (tunesafe.server)

        status = delegate(sys.argv[1:], os.environ["TUNESAFE_SERVER"])
        if status is not None:
            return status
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.threads:  # before torch is imported, so its thread pools take it
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
        if "torch" in sys.modules:  # already imported (a fork of the server): tell it directly
            sys.modules["torch"].set_num_threads(args.threads)
    try:
        if args.gpus:  # before torch is imported, so CUDA sees only the job's devices
            from tunesafe.cluster import gpus, launch

            gpus.assign(args.gpus)
            if args.stage == "train" and args.gpus > 1 and not launch.under_launcher():
                return launch.relaunch(sys.argv[1:] if argv is None else argv, args.gpus,
                                       getattr(args, "settings", None), shard=args.command == "sft")
        args.func(args)
    except TunesafeError as e:
        print(f"tunesafe {args.stage}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
