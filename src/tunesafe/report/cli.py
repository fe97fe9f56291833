"""``tunesafe report``: tables (and, in later stages, figures) from metrics files."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="tables and figures from metrics files")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("table", help="one row per task and model variant, one column per headline metric")
    p.add_argument("--root", default="results/metrics", help="metrics root: <root>/<task>/<variant>/<benchmark>.json")
    p.add_argument("--task", action="append", required=True, metavar="TASK:BENCH[,BENCH]",
                   help="a task and its benchmarks, e.g. dirty_summary:safety,summary (repeatable)")
    p.add_argument("--variants", nargs="+", default=["original", "finetuned"])
    p.add_argument("--out", required=True, help="output prefix: writes <out>.csv and <out>.md")
    p.set_defaults(func=_table)


def _table(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError
    from tunesafe.report.tables import metrics_table, to_markdown, write_table

    tasks = {}
    for spec in args.task:
        task, _, benches = spec.partition(":")
        if not task or not benches:
            raise TunesafeError(f"--task {spec!r}: expected TASK:BENCH[,BENCH]")
        tasks[task] = benches.split(",")
    df = metrics_table(args.root, tasks, args.variants)
    csv, md = write_table(df, args.out)
    print(to_markdown(df))
    print(f"wrote {csv} and {md}")
