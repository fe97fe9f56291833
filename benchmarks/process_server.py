"""The toy study with and without the warm process server (config ``process_server``), in
one run.

Usage:
    .venv/bin/python benchmarks/process_server.py [--study small|tiny] [--cores 2] [--keep DIR]

Runs the same toy study (see benchmarks/threads.py for ``small`` and ``tiny``) from scratch
twice, server on then off, each in its own scratch copy of the repository, and prints both
wall times, their ratio, and which result tables and metric files differ (none should: each
job runs the same command with the same seeds, in a fork instead of a new interpreter).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from threads import STUDIES, compare, study  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--study", choices=sorted(STUDIES), default="small")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="build the studies under this folder and keep them")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="server_bench_"))
    walls = {}
    for server in (True, False):
        work = base / f"server_{'on' if server else 'off'}"
        work.mkdir(parents=True)
        walls[server] = study(work, args.study, {"process_server": server, "threads": 1}, args.cores)
        print(f"process_server={server} --cores {args.cores}: {walls[server]:.0f} s", flush=True)
    print(f"ratio off / on: {walls[False] / walls[True]:.2f}")
    compare(base / "server_on", base / "server_off")
    if not args.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
