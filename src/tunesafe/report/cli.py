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
    p.add_argument("--paper", metavar="FILE:KEY", help="paper numbers beside ours: YAML file and dotted key, "
                   "e.g. resources/paper_numbers.yaml:safedelta.table1")
    p.add_argument("--out", required=True, help="output prefix: writes <out>.csv and <out>.md")
    p.set_defaults(func=_table)

    p = sub.add_parser("sweep", help="Safe Delta scale sweep: ASR against utility, one point per s")
    p.add_argument("--root", default="results/metrics")
    p.add_argument("--task", action="append", required=True, metavar="TASK:BENCH[,BENCH]",
                   help="a task with its safety and utility benchmarks (repeatable)")
    p.add_argument("--scales", nargs="+", required=True, help="the s values of the sweep")
    p.add_argument("--out", required=True, help="output prefix: writes <out>.pdf and <out>.png")
    p.set_defaults(func=_sweep)
    _add_baseline_parsers(sub)

    from tunesafe.mathif.cli import add_report_command  # tunesafe report mathif: the arm's tables

    add_report_command(sub)


def _add_baseline_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("asr-vs-size", help="Fig. 1 left: ASR against the number of harmful examples")
    p.add_argument("--root", default="results/metrics")
    p.add_argument("--task", required=True, help="the swept task; its size-n fine-tunes are <task>_n<n>")
    p.add_argument("--sizes", nargs="+", type=int, required=True)
    p.add_argument("--methods", nargs="+", required=True)
    p.add_argument("--benchmark", default="safety")
    p.add_argument("--paper", metavar="FILE:KEY", help="approximate paper values: {method: [per size]}")
    p.add_argument("--out", required=True, help="figure prefix (pdf, png)")
    p.add_argument("--table", required=True, help="table prefix (csv, md) of the plotted points")
    p.set_defaults(func=_asr_vs_size)

    p = sub.add_parser("pareto", help="Fig. 5: safety on one task against utility on another, per method sweep")
    p.add_argument("--root", default="results/metrics")
    p.add_argument("--x", required=True, metavar="TASK:BENCH", help="x axis: e.g. aoa:safety")
    p.add_argument("--y", required=True, metavar="TASK:BENCH", help="y axis: e.g. dirty_summary:summary")
    p.add_argument("--single", nargs="+", default=[], help="variants shown as one point")
    p.add_argument("--sweep", action="append", default=[], metavar="METHOD:K[=VARIANT][,...]",
                   help="a method and its knob values, repeatable; a point's metrics are those of VARIANT "
                        "(default METHOD-sK)")
    p.add_argument("--out", required=True)
    p.add_argument("--table", required=True)
    p.set_defaults(func=_pareto)

    p = sub.add_parser("time-cost", help="Exp. 10: extra time per method from Snakemake benchmark files")
    p.add_argument("--spec", required=True, help="JSON: tasks, finetune pattern, methods (see report.baselines.time_cost)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_time_cost)


def _paper(spec: str | None):
    from tunesafe.report.paper import paper_numbers

    return paper_numbers(spec)


def _write(df, prefix: str) -> None:
    from tunesafe.report.tables import to_markdown, write_table

    csv, md = write_table(df, prefix)
    print(to_markdown(df))
    print(f"wrote {csv} and {md}")


def _asr_vs_size(args: argparse.Namespace) -> None:
    from tunesafe.report.baselines import size_figure, size_points

    df = size_points(args.root, args.task, args.sizes, args.methods, args.benchmark, _paper(args.paper))
    size_figure(df, args.out)
    _write(df, args.table)


def _pareto(args: argparse.Namespace) -> None:
    from tunesafe.report.baselines import pareto_figure, pareto_points

    x_task, _, x_bench = args.x.partition(":")
    y_task, _, y_bench = args.y.partition(":")
    sweeps = {}
    for spec in args.sweep:
        method, _, knobs = spec.partition(":")
        sweeps[method] = [k for k in knobs.split(",") if k]
    df = pareto_points(args.root, x_task, x_bench, y_task, y_bench, args.single, sweeps)
    pareto_figure(df, args.out)
    _write(df, args.table)


def _time_cost(args: argparse.Namespace) -> None:
    import json

    from tunesafe.report.baselines import time_cost

    _write(time_cost(json.loads(args.spec)), args.out)


def _tasks(specs: list[str]) -> dict[str, list[str]]:
    from tunesafe.errors import TunesafeError

    tasks = {}
    for spec in specs:
        task, _, benches = spec.partition(":")
        if not task or not benches:
            raise TunesafeError(f"--task {spec!r}: expected TASK:BENCH[,BENCH]")
        tasks[task] = benches.split(",")
    return tasks


def _sweep(args: argparse.Namespace) -> None:
    from tunesafe.report.figures import sweep_figure, sweep_points
    from tunesafe.report.tables import to_markdown

    df = sweep_points(args.root, _tasks(args.task), args.scales)
    sweep_figure(df, args.out)
    print(to_markdown(df))
    print(f"wrote {args.out}.pdf and {args.out}.png")


def _table(args: argparse.Namespace) -> None:
    from tunesafe.report.tables import metrics_table, to_markdown, write_table

    df = metrics_table(args.root, _tasks(args.task), args.variants, _paper(args.paper))
    csv, md = write_table(df, args.out)
    print(to_markdown(df))
    print(f"wrote {csv} and {md}")
