"""``tunesafe report``: every table and figure of the study.

``tunesafe report table`` (one row per task and model variant, one column per headline
metric) is shared by the arms; each arm of :data:`ARMS` adds its own report commands from
its ``cli.py`` (``add_report_commands``; Safe Delta: ``sweep``, ``asr-vs-size``, ``pareto``,
``time-cost``; MathIF: ``mathif``; rebound: ``rebound``, ``resistance``; Picky: ``picky``;
When Thinking Fails: ``thinking``, ``thinking-attention``), whose work is in the arm's package.
"""

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
    p.add_argument("--paper", metavar="FILE:KEY", help="paper numbers beside ours: YAML file and dotted key, "
                   "e.g. resources/paper_numbers.yaml:safedelta.table1")
    p.add_argument("--out", required=True, help="output prefix: writes <out>.csv and <out>.md")
    p.set_defaults(func=_table)

    import importlib

    for arm in ARMS:  # each arm's tables and figures, parsed in the arm's cli.py
        importlib.import_module(f"tunesafe.{arm}.cli").add_report_commands(sub)


ARMS = ("safedelta", "mathif", "rebound", "picky", "thinking")


def task_specs(specs: list[str]) -> dict[str, list[str]]:
    """``--task TASK:BENCH[,BENCH]`` specs as {task: [benchmark, ...]}."""
    from tunesafe.errors import TunesafeError

    tasks = {}
    for spec in specs:
        task, _, benches = spec.partition(":")
        if not task or not benches:
            raise TunesafeError(f"--task {spec!r}: expected TASK:BENCH[,BENCH]")
        tasks[task] = benches.split(",")
    return tasks


def print_written(df, files) -> None:
    """The table as Markdown on stdout (the job's log), then the files written."""
    from tunesafe.report.tables import to_markdown

    print(to_markdown(df))
    print(f"wrote {' and '.join(str(f) for f in files)}")


def _table(args: argparse.Namespace) -> None:
    from tunesafe.report.paper import paper_numbers
    from tunesafe.report.tables import metrics_table, write_table

    df = metrics_table(args.root, task_specs(args.task), args.variants, paper_numbers(args.paper))
    print_written(df, write_table(df, args.out))
