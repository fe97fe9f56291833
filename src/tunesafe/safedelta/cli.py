"""``tunesafe safedelta``: cache the safety Hessians of an aligned model; apply Safe Delta.

Also the arm's figures and tables in the report group (:func:`add_report_commands`):
``tunesafe report sweep|asr-vs-size|pareto|time-cost``, the work in
:mod:`tunesafe.safedelta.comparisons`.
"""

from __future__ import annotations

import argparse
import json

from tunesafe.errors import check_range


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("safedelta", help="Safe Delta (arXiv 2505.12038)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("safety-set", help="the safety set from the aligned model's answers to harmful prompts")
    p.add_argument("--generations", required=True, help="generations of the aligned model on harmful prompts")
    p.add_argument("--system-prompt", action="append", default=[],
                   help="system prompts given to the samples in turn (repeatable; official: PureBad, AOA, Math, PureBad)")
    p.add_argument("--out", required=True, help="output chat records")
    p.set_defaults(func=_safety_set)

    p = sub.add_parser("hessian", help="safety Hessians of the aligned model, cached per model and safety set")
    p.add_argument("--model", required=True, help="the aligned model (directory or Hugging Face id)")
    p.add_argument("--data", required=True, help="safety set: chat records (harmful request -> safe answer)")
    p.add_argument("--nsamples", type=int, default=128, help="safety samples N (official run_safedelta.py: 128)")
    p.add_argument("--max-length", type=int, default=512, help="tokens per sample; 0 = no truncation (official)")
    p.add_argument("--templates", default="[]",
                   help='JSON list of {"system_prompt", "user_template"} given to the shuffled samples in turn '
                        "(official: pure_bad, aoa, math, pure_bad)")
    p.add_argument("--no-eos", action="store_true", help="no EOS after the answer (official)")
    p.add_argument("--seed", type=int, default=42, help="shuffle seed of the safety set")
    p.add_argument("--out", required=True, help="Hessian cache directory")
    p.set_defaults(func=_hessian)

    p = sub.add_parser("apply", help="Safe Delta model of one fine-tune at one scale")
    p.add_argument("--original", required=True, help="the aligned model")
    p.add_argument("--finetuned", required=True, help="full fine-tune directory or LoRA adapter directory")
    p.add_argument("--hessian", required=True, help="Hessian cache directory of the aligned model")
    p.add_argument("--scale", type=float, required=True, help="safety budget s (paper ~0.1)")
    p.add_argument("--no-compensation", action="store_true", help="the w/o-SCV ablation")
    p.add_argument("--finetuned-rest", action="store_true",
                   help="take embeddings, norms and LM head from the fine-tune (default: aligned, as official)")
    p.add_argument("--out", required=True, help="output model directory")
    p.set_defaults(func=_apply)


def _safety_set(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_jsonl
    from tunesafe.safedelta.hessian import safety_set_from_generations

    records = safety_set_from_generations(read_jsonl(args.generations), args.system_prompt)
    print(f"{args.out}: {write_jsonl(args.out, records)} safety samples")


def _hessian(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError

    check_range("--nsamples", args.nsamples, 1)
    check_range("--max-length", args.max_length, 0)  # 0 = no truncation
    from tunesafe.safedelta.hessian import compute_hessians

    try:
        templates = json.loads(args.templates)
    except json.JSONDecodeError as e:
        raise TunesafeError(f"--templates: not JSON ({e})") from None
    if not isinstance(templates, list) or any(not isinstance(t, dict) or set(t) - {"system_prompt", "user_template"}
                                              for t in templates):
        raise TunesafeError('--templates: expected a JSON list of {"system_prompt", "user_template"} objects')
    meta = compute_hessians(args.model, args.data, args.nsamples, args.out, max_length=args.max_length or None,
                            seed=args.seed, templates=templates, eos=not args.no_eos)
    print(json.dumps(meta))


def _apply(args: argparse.Namespace) -> None:
    check_range("--scale", args.scale, 0)
    from tunesafe.safedelta.apply import apply

    summary = apply(args.original, args.finetuned, args.hessian, args.scale, args.out,
                    compensate=not args.no_compensation, keep_aligned_rest=not args.finetuned_rest)
    print(json.dumps(summary))


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    """The Safe Delta paper's figures and the time-cost table, in ``tunesafe report``."""
    p = sub.add_parser("sweep", help="Safe Delta scale sweep: ASR against utility, one point per s")
    p.add_argument("--root", default="results/metrics")
    p.add_argument("--task", action="append", required=True, metavar="TASK:BENCH[,BENCH]",
                   help="a task with its safety and utility benchmarks (repeatable)")
    p.add_argument("--scales", nargs="+", required=True, help="the s values of the sweep")
    p.add_argument("--out", required=True, help="output prefix: writes <out>.pdf and <out>.png")
    p.set_defaults(func=_sweep)

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
    p.add_argument("--spec", required=True, help="JSON: tasks, finetune pattern, methods (see safedelta.comparisons.time_cost)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_time_cost)


def _sweep(args: argparse.Namespace) -> None:
    from tunesafe.report.cli import print_written, task_specs
    from tunesafe.safedelta.comparisons import sweep_figure, sweep_points

    df = sweep_points(args.root, task_specs(args.task), args.scales)
    sweep_figure(df, args.out)
    print_written(df, [f"{args.out}.pdf", f"{args.out}.png"])


def _asr_vs_size(args: argparse.Namespace) -> None:
    from tunesafe.report.cli import print_written
    from tunesafe.report.paper import paper_numbers
    from tunesafe.report.tables import write_table
    from tunesafe.safedelta.comparisons import size_figure, size_points

    df = size_points(args.root, args.task, args.sizes, args.methods, args.benchmark, paper_numbers(args.paper))
    size_figure(df, args.out)
    print_written(df, write_table(df, args.table))


def _pareto(args: argparse.Namespace) -> None:
    from tunesafe.report.cli import print_written
    from tunesafe.report.tables import write_table
    from tunesafe.safedelta.comparisons import pareto_figure, pareto_points

    x_task, _, x_bench = args.x.partition(":")
    y_task, _, y_bench = args.y.partition(":")
    sweeps = {}
    for spec in args.sweep:
        method, _, knobs = spec.partition(":")
        sweeps[method] = [k for k in knobs.split(",") if k]
    df = pareto_points(args.root, x_task, x_bench, y_task, y_bench, args.single, sweeps)
    pareto_figure(df, args.out)
    print_written(df, write_table(df, args.table))


def _time_cost(args: argparse.Namespace) -> None:
    from tunesafe.report.cli import print_written
    from tunesafe.report.tables import write_table
    from tunesafe.safedelta.comparisons import time_cost

    try:
        spec = json.loads(args.spec)
    except json.JSONDecodeError as e:
        from tunesafe.errors import TunesafeError

        raise TunesafeError(f"--spec: not JSON ({e})") from None
    df = time_cost(spec)
    print_written(df, write_table(df, args.out))
