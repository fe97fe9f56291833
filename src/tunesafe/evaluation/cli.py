"""The ``tunesafe evaluate <metric>`` subcommands, one per registered metric.

``tunesafe evaluate <metric> --generations G.jsonl --out M.json [metric options]``; the
main CLI calls :func:`add_parser` with its subparsers and then ``args.func(args)``.
"""

from __future__ import annotations

import argparse
import json

from tunesafe.evaluation import METRICS, evaluate_file


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command, with one subcommand per metric in :data:`METRICS`."""
    evaluate = subparsers.add_parser(
        "evaluate", help="score a generations file with a metric",
        description="Score a generations file (one JSON line per prompt) and write flat metrics JSON.")
    metrics = evaluate.add_subparsers(dest="metric", metavar="METRIC", required=True)
    for name in sorted(METRICS):
        metric = METRICS[name]
        p = metrics.add_parser(name, help=metric.description, description=metric.description)
        p.add_argument("--generations", required=True, metavar="G.jsonl",
                       help="generations file: one JSON line per prompt with a 'response'")
        p.add_argument("--out", required=True, metavar="M.json", help="metrics JSON to write")
        for option, text in sorted(metric.options.items()):
            p.add_argument(f"--{option.replace('_', '-')}", dest=option, default=None, help=text)
        p.set_defaults(func=run, metric_name=name, metric_options=tuple(sorted(metric.options)))
    _add_mmlu(metrics)
    from tunesafe.mathif.cli import add_evaluate_command  # MathIF scores items, not generations

    add_evaluate_command(metrics)


def _add_mmlu(metrics: argparse._SubParsersAction) -> None:
    """``evaluate mmlu`` scores a model (not a generations file) through lm-evaluation-harness."""
    p = metrics.add_parser("mmlu", help="MMLU accuracy of a model through lm-evaluation-harness")
    p.add_argument("--model", required=True, help="model directory or Hugging Face id")
    p.add_argument("--adapter", help="LoRA adapter directory on top of --model")
    p.add_argument("--task", default="mmlu", help="lm-eval task or group (mmlu; toy_mmlu in the toy world)")
    p.add_argument("--include-path", help="directory of local lm-eval task YAMLs")
    p.add_argument("--backend", default="hf", choices=["hf", "vllm"], help="lm-eval model type")
    p.add_argument("--num-fewshot", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--limit", type=int, help="only the first LIMIT documents per task")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm: GPUs per model")
    p.add_argument("--out", required=True, metavar="M.json")
    p.set_defaults(func=_mmlu)
    p = metrics.add_parser("mmlu-task", help="write a local lm-eval multiple-choice task from chat records")
    p.add_argument("--data", required=True, help="chat records with meta.choices and meta.answer")
    p.add_argument("--name", default="toy_mmlu", help="the task's name")
    p.add_argument("--out", required=True, help="output directory (YAML + data)")
    p.set_defaults(func=_mmlu_task)


def _mmlu(args: argparse.Namespace) -> int:
    from tunesafe.evaluation.mmlu import run_mmlu

    result = run_mmlu(args.model, args.out, task=args.task, include_path=args.include_path, adapter=args.adapter,
                      backend=args.backend, num_fewshot=args.num_fewshot, batch_size=args.batch_size,
                      limit=args.limit, tensor_parallel_size=args.tensor_parallel_size)
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _mmlu_task(args: argparse.Namespace) -> int:
    from tunesafe.evaluation.mmlu import write_local_task

    print(f"wrote {write_local_task(args.data, args.out, args.name)}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Score ``args.generations`` with ``args.metric_name``; print the metrics on one line."""
    options = {name: getattr(args, name) for name in args.metric_options}
    result = evaluate_file(args.metric_name, args.generations, args.out, **options)
    print(json.dumps(result, ensure_ascii=False))
    return 0
