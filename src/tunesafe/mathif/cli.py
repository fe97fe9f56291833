"""``tunesafe mathif``, ``tunesafe evaluate mathif`` and ``tunesafe report mathif``: the
MathIF arm's commands (arXiv 2505.14810), all parsed here, the work in this package.

- ``tunesafe mathif prepare|prompts|intervention|toy-reasoning-data|rl-prompts``: data (:mod:`.data`,
  :mod:`.toy`);
- ``tunesafe evaluate mathif``: HAcc, SAcc and correctness (:mod:`.evaluate`), added to the
  evaluate group by :func:`add_evaluate_command`;
- ``tunesafe report mathif``: Tables 3 and 6 and the breakdown figures (:mod:`.tables`),
  and ``tunesafe report mathif-budget``: the CoT length control sweep (:mod:`.budget`),
  added to the report group by :func:`add_report_commands`;
- ``tunesafe mathif rl-prompts`` and ``tunesafe report mathif-training``: the training
  paradigms (:mod:`.training`; the RL itself is ``tunesafe train grpo``).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("mathif", help="MathIF (arXiv 2505.14810): data, prompts, intervention")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="MathIF items (toy, a local directory/file or a HF dataset) as one JSONL")
    p.add_argument("--source", required=True, choices=["toy", "file", "hf"])
    p.add_argument("--path", help="file: the directory of the 15 files, or one JSONL file")
    p.add_argument("--id", help="hf: dataset id, e.g. TingchenFu/MathIF")
    p.add_argument("--revision", help="hf: revision")
    p.add_argument("--n", type=int, help="toy: number of items")
    p.add_argument("--seed", type=int, default=0, help="toy: generator seed")
    p.add_argument("--limit", type=int, help="keep the first LIMIT items of every file (smoke runs)")
    p.add_argument("--out", required=True, help="output JSONL: MathIF items with key, subset, n_constraints")
    p.set_defaults(func=_prepare)

    p = sub.add_parser("prompts", help="evaluation prompts (one user turn, no system prompt), in item order")
    p.add_argument("--data", required=True, help="MathIF items JSONL")
    p.add_argument("--no-constraints", action="store_true", help="leave the constraint descriptions out")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_prompts)

    p = sub.add_parser("intervention", help="Table 6: first-pass thinking + 'Wait,' + constraints, to continue")
    p.add_argument("--data", required=True, help="MathIF items JSONL")
    p.add_argument("--generations", required=True, help="first-pass generations (with constraints), in item order")
    p.add_argument("--out", required=True, help="prompt records with 'assistant_prefix' for `tunesafe generate`")
    p.set_defaults(func=_intervention)

    p = sub.add_parser("toy-reasoning-data", help="SFT records for the toy reasoning model (<think> + \\boxed{})")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--wait-share", type=float, default=0.2, help="share of records that repeat the constraints")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_toy_data)

    p = sub.add_parser("rl-prompts", help="RL prompts without constraints (training paradigms): toy or a HF data set")
    p.add_argument("--source", required=True, choices=["toy", "hf"])
    p.add_argument("--n", type=int, help="number of prompts (toy: required; hf: drawn with --seed, default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--id", help="hf: dataset id")
    p.add_argument("--split", default="train", help="hf: split")
    p.add_argument("--revision", help="hf: revision")
    p.add_argument("--question-field", default="problem", help="hf: the field holding the problem")
    p.add_argument("--answer-field", default="answer", help="hf: the field holding the reference answer")
    p.add_argument("--out", required=True, help="JSONL prompt records with reference")
    p.set_defaults(func=_rl_prompts)


def add_evaluate_command(metrics: argparse._SubParsersAction) -> None:
    """``tunesafe evaluate mathif``: added to the evaluate group next to the metrics."""
    from tunesafe.mathif.scoring import JUDGES

    p = metrics.add_parser("mathif", help="MathIF: HAcc, SAcc and correctness of responses to MathIF items",
                           description="MathIF evaluation (arXiv 2505.14810): HAcc, SAcc, correctness.")
    p.add_argument("--data", required=True, metavar="D.jsonl", help="MathIF items (a file, a directory or a HF dataset id)")
    p.add_argument("--responses", required=True, metavar="R.jsonl", help="one JSON line per item with a 'response'")
    p.add_argument("--out", required=True, metavar="O.json", help="scores JSON to write")
    p.add_argument("--tokenizer", help="count thinking length in this tokenizer's tokens (default: words)")
    p.add_argument("--setting", help="label stored in the output (e.g. constraints, no_constraints, intervention)")
    p.add_argument("--correctness", choices=sorted(JUDGES), default="official",
                   help="judge of 'correct': official (the official evaluator's grader, default) or math_verify")
    p.set_defaults(func=_evaluate)


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    """``tunesafe report mathif``: the MathIF tables and figures, in the report group."""
    p = sub.add_parser("mathif", help="MathIF: Table 3, Table 6 and the breakdown figures")
    p.add_argument("--root", default="results/metrics/mathif", help="scores: <root>/<model>/<setting>.json")
    p.add_argument("--model", action="append", required=True, metavar="NAME=ID",
                   help="a model's name in the results and its id (matched against the paper numbers); repeatable")
    p.add_argument("--intervention", nargs="*", default=[], metavar="NAME", help="models with intervention scores")
    p.add_argument("--paper", metavar="FILE:KEY", help="paper numbers beside ours: YAML file and dotted key, "
                   "e.g. resources/paper_numbers.yaml:mathif.table3 (model id -> values)")
    p.add_argument("--tables", default="results/tables", help="directory for mathif.{csv,md}, mathif_intervention.{csv,md}")
    p.add_argument("--figures", default="results/figures", help="directory for the three figures")
    p.add_argument("--bins", type=int, default=4, help="quantile bins of thinking length")
    p.set_defaults(func=_report)

    p = sub.add_parser("mathif-budget", help="MathIF CoT length control: HAcc, SAcc, correctness against the thinking budget")
    p.add_argument("--root", default="results/metrics/mathif", help="scores: <root>/<model>/budget_<N>.json, constraints.json")
    p.add_argument("--model", action="append", required=True, metavar="NAME", help="a model name in the results; repeatable")
    p.add_argument("--budget", type=int, nargs="+", required=True, metavar="N", help="thinking budgets (tokens)")
    p.add_argument("--intervention", nargs="*", default=[], metavar="NAME",
                   help="models with intervention scores (the repeat-the-constraints point)")
    p.add_argument("--tables", default="results/tables", help="directory for mathif_budget.{csv,md}")
    p.add_argument("--figures", default="results/figures", help="directory for mathif_budget.{pdf,png}")
    p.set_defaults(func=_report_budget)

    p = sub.add_parser("mathif-training", help="MathIF training paradigms: SFT, SFT+RL, cold RL, format reward")
    p.add_argument("--root", default="results/metrics/mathif", help="scores: <root>/<model>/{constraints,no_constraints}.json")
    p.add_argument("--row", action="append", required=True, metavar="LABEL=MODEL[,MODEL...]",
                   help="a paradigm's label and its models (one per seed), in table order; repeatable")
    p.add_argument("--paper", metavar="FILE:KEY", help="paper numbers beside ours: label -> {hacc, sacc, correct}")
    p.add_argument("--tables", default="results/tables", help="directory for mathif_training.{csv,md}")
    p.set_defaults(func=_report_training)


def _prepare(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.mathif.data import prepare_items

    items = prepare_items(args.source, args.path, args.id, args.revision, args.n, args.seed, args.limit)
    print(f"{args.out}: {write_jsonl(args.out, items)} items")


def _prompts(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.mathif.data import load_mathif, prompt_records

    n = write_jsonl(args.out, prompt_records(load_mathif(args.data), constraints=not args.no_constraints))
    print(f"{args.out}: {n} prompts")


def _intervention(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_jsonl
    from tunesafe.mathif.data import intervention_records, load_mathif

    records = intervention_records(load_mathif(args.data), read_jsonl(args.generations), where=args.generations)
    print(f"{args.out}: {write_jsonl(args.out, records)} prompts")


def _toy_data(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.mathif.toy import reasoning_records

    print(f"{args.out}: {write_jsonl(args.out, reasoning_records(args.n, args.seed, args.wait_share))} records")


def _evaluate(args: argparse.Namespace) -> None:
    import json

    from tunesafe.mathif.evaluate import evaluate

    result = evaluate(args.data, args.responses, args.out, tokenizer=args.tokenizer, setting=args.setting,
                      correctness=args.correctness)
    print(json.dumps({k: v for k, v in result.items() if k != "items"}))


def _report(args: argparse.Namespace) -> None:
    from tunesafe.mathif.tables import parse_models, report
    from tunesafe.report.paper import paper_numbers
    from tunesafe.report.tables import to_markdown

    models = parse_models(args.model, args.intervention)
    out = report(args.root, models, args.intervention, paper_numbers(args.paper), args.tables, args.figures,
                 args.bins)
    for name, df in out.items():
        print(name)
        print(to_markdown(df))


def _report_budget(args: argparse.Namespace) -> None:
    from tunesafe.mathif.budget import report
    from tunesafe.report.tables import to_markdown

    print(to_markdown(report(args.root, args.model, args.budget, args.intervention, args.tables, args.figures)))


def _rl_prompts(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.mathif.training import rl_prompts

    rows = rl_prompts(args.source, args.n, args.seed, args.id, args.split, args.question_field, args.answer_field,
                      args.revision)
    print(f"{args.out}: {write_jsonl(args.out, rows)} prompts")


def _report_training(args: argparse.Namespace) -> None:
    from tunesafe.errors import key_values
    from tunesafe.mathif.training import report
    from tunesafe.report.paper import paper_numbers
    from tunesafe.report.tables import to_markdown

    rows = key_values(args.row, "--row", lambda v: [m for m in v.split(",") if m])
    print(to_markdown(report(args.root, rows, paper_numbers(args.paper), args.tables)))
