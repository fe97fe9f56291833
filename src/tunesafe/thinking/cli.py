"""``tunesafe thinking``: When Thinking Fails (arXiv 2505.11423): data, prompts, scores, tables."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("thinking", help="When Thinking Fails (arXiv 2505.11423): CoT vs direct on IFEval")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_data_commands(sub)
    _add_scoring_commands(sub)
    from tunesafe.thinking.complexbench_cli import add_commands

    add_commands(sub)


def _add_data_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="IFEval items (toy, a local JSONL or a HF dataset) as one JSONL")
    p.add_argument("--source", required=True, choices=["toy", "file", "hf"])
    p.add_argument("--path", help="file: JSONL in the google/IFEval schema")
    p.add_argument("--id", help="hf: dataset id, e.g. google/IFEval")
    p.add_argument("--split", default="train", help="hf: split")
    p.add_argument("--n", type=int, help="toy: number of items; file/hf: keep the first N")
    p.add_argument("--seed", type=int, default=0, help="toy: generator seed")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_prepare)

    p = sub.add_parser("toy-sft", help="SFT records of the toy instruct model (direct and <think> answers)")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cot-share", type=float, default=0.5, help="share of records with the think cue and a plan")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_toy_sft)

    p = sub.add_parser("toy-fewshot", help="few-shot examples: toy CoT prompts with answers meeting every constraint")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_toy_fewshot)

    p = sub.add_parser("prompts", help="evaluation prompts of one condition (direct or cot), in item order")
    p.add_argument("--data", required=True, help="IFEval items JSONL")
    p.add_argument("--condition", required=True, choices=["direct", "cot", "selfselect", "fewshot"])
    p.add_argument("--cue", help="cot/selfselect/fewshot: text appended to the prompt (default: the toy cue)")
    p.add_argument("--examples", help="fewshot: chat records (CoT prompt, corrected answer) shown first")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_prompts)

    p = sub.add_parser("reflect-prompts", help="self-reflection second turn on a run's CoT answers (Sec. 6)")
    p.add_argument("--prompts", required=True, help="the CoT prompts JSONL")
    p.add_argument("--generations", required=True, help="the run's CoT generations JSONL")
    p.add_argument("--text", help="the reflection turn (default: ours)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_reflect_prompts)


def _add_scoring_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="lm-eval IFEval checks on the final answers (after </think>)")
    p.add_argument("--data", required=True, help="IFEval items JSONL")
    p.add_argument("--responses", required=True, help="generations JSONL (id = item key)")
    p.add_argument("--out", required=True, help="scores JSON (percent; per-type instruction-level strict)")
    p.add_argument("--rows", help="per-item results JSONL")
    p.add_argument("--nltk-data", help="directory with NLTK's punkt_tab (from `tunesafe thinking nltk-data`)")
    p.set_defaults(func=_score)

    p = sub.add_parser("attention", help="constraint attention beta per layer, direct vs CoT (Sec. 5; hf, eager)")
    p.add_argument("--model", required=True, help="model directory or Hugging Face id")
    p.add_argument("--data", required=True, help="IFEval items JSONL with constraint_spans")
    p.add_argument("--generations", nargs=2, required=True, metavar=("DIRECT", "COT"))
    p.add_argument("--rows", nargs=2, required=True, metavar=("DIRECT", "COT"), help="per-item score rows")
    p.add_argument("--limit", type=int, help="only the first LIMIT items")
    p.add_argument("--out", required=True, help="per-item betas JSON")
    p.set_defaults(func=_attention)

    p = sub.add_parser("selective", help="classifier-selective reasoning on the held-out half (Sec. 6)")
    p.add_argument("--data", required=True, help="IFEval items JSONL")
    p.add_argument("--rows", nargs=2, required=True, metavar=("DIRECT", "COT"), help="per-item score rows")
    p.add_argument("--seed", type=int, default=0, help="train/held-out split and classifier seed")
    p.add_argument("--extra", action="append", default=[], metavar="NAME=ROWS",
                   help="another mitigation's score rows, reported on the same held-out half")
    p.add_argument("--out", required=True, help="scores JSON")
    p.set_defaults(func=_selective)

    p = sub.add_parser("nltk-data", help="download NLTK's punkt_tab (two IFEval checkers need it)")
    p.add_argument("--out", required=True, help="directory (pass it to `thinking score --nltk-data`)")
    p.set_defaults(func=_nltk)


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    """`tunesafe report thinking`, `thinking-attention` and `thinking-complexbench`."""
    from tunesafe.thinking.complexbench_cli import add_report_commands as complexbench_report

    complexbench_report(sub)
    p = sub.add_parser("thinking-attention", help="beta drop per layer (all, CoT fixes, CoT breaks): table + figure")
    p.add_argument("--inputs", nargs="+", required=True, help="per-item betas JSON of every run")
    p.add_argument("--tables", default="results/tables")
    p.add_argument("--figures", default="results/figures")
    p.set_defaults(func=_attention_report)

    p = sub.add_parser("thinking", help="Table 1 (wtf_ifeval), per-type deltas (wtf_types, figure), CoT length (wtf_cot_length)")
    p.add_argument("--root", default="results/metrics/thinking", help="scores: <root>/<run>/ifeval/<condition>.json")
    p.add_argument("--run", action="append", default=[], help="a run (model or <model>-seed<k>), repeatable")
    p.add_argument("--model-id", action="append", default=[], help="NAME=ID: the id shown for a model")
    p.add_argument("--paper", metavar="FILE:KEY", help="paper numbers beside ours: YAML file and dotted key")
    p.add_argument("--mitigations", action="store_true",
                   help="also wtf_mitigations from <root>/<run>/ifeval/selective.json")
    p.add_argument("--tables", default="results/tables")
    p.add_argument("--figures", default="results/figures")
    p.set_defaults(func=_report)


def _prepare(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError
    from tunesafe.io import write_jsonl
    from tunesafe.thinking.ifeval import load_items

    if args.source == "file" and not args.path:
        raise TunesafeError("file IFEval needs --path (a JSONL in the google/IFEval schema)")
    if args.source == "hf" and not args.id:
        raise TunesafeError("hf IFEval needs --id (e.g. google/IFEval)")
    write_jsonl(args.out, load_items(args.source, args.path, args.id, args.split, args.n, args.seed))


def _toy_sft(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.thinking.toy import sft_records

    write_jsonl(args.out, sft_records(args.n, args.seed, args.cot_share))


def _toy_fewshot(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.thinking.toy import sft_records

    write_jsonl(args.out, sft_records(args.n, args.seed, cot_share=1.0))


def _prompts(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_jsonl
    from tunesafe.thinking.ifeval import prompts

    examples = read_jsonl(args.examples) if args.examples else None
    write_jsonl(args.out, prompts(read_jsonl(args.data), args.condition, args.cue, examples))


def _reflect_prompts(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_jsonl
    from tunesafe.thinking.ifeval import reflection_prompts

    write_jsonl(args.out, reflection_prompts(read_jsonl(args.prompts), read_jsonl(args.generations), args.text))


def _score(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_json, write_jsonl
    from tunesafe.thinking.ifeval import aggregate, check_items, score_rows

    if args.nltk_data:
        import nltk

        nltk.data.path.insert(0, args.nltk_data)
    items = check_items(read_jsonl(args.data), args.data)
    rows = score_rows(items, read_jsonl(args.responses))
    if args.rows:
        write_jsonl(args.rows, rows)
    write_json(args.out, {**aggregate(rows), "checker": "lm_eval.tasks.ifeval.utils", "answer": "after </think>"})


def _attention(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_json
    from tunesafe.thinking.attention import run

    gens = {c: read_jsonl(p) for c, p in zip(("direct", "cot"), args.generations, strict=True)}
    passed = {c: {str(r["key"]): bool(r["prompt_level_strict_acc"]) for r in read_jsonl(p)}
              for c, p in zip(("direct", "cot"), args.rows, strict=True)}
    write_json(args.out, {"model": args.model, "items": run(args.model, read_jsonl(args.data), gens, passed,
                                                           args.limit)})


def _attention_report(args: argparse.Namespace) -> None:
    from pathlib import Path

    import pandas as pd

    from tunesafe.io import read_json
    from tunesafe.report.tables import write_table
    from tunesafe.thinking.attention import summary
    from tunesafe.thinking.report import attention_figure

    rows = [r for p in args.inputs for r in read_json(p)["items"]]
    table = pd.DataFrame(summary(rows))
    write_table(table, Path(args.tables) / "wtf_attention", floatfmt=".4f")
    attention_figure(table, Path(args.figures) / "wtf_attention")


def _selective(args: argparse.Namespace) -> None:
    from tunesafe.errors import key_values
    from tunesafe.io import read_jsonl, write_json
    from tunesafe.thinking.selective import classifier_selective

    direct, cot = (read_jsonl(p) for p in args.rows)
    extra = {name: read_jsonl(path) for name, path in key_values(args.extra, "--extra").items()}
    write_json(args.out, {**classifier_selective(read_jsonl(args.data), direct, cot, args.seed, extra),
                          "seed": args.seed})


def _nltk(args: argparse.Namespace) -> None:
    from tunesafe.thinking.ifeval import fetch_nltk_data

    fetch_nltk_data(args.out)


def _report(args: argparse.Namespace) -> None:
    from tunesafe.errors import key_values
    from tunesafe.report.paper import paper_numbers
    from tunesafe.thinking.report import write_reports

    ids = key_values(args.model_id, "--model-id")
    write_reports(args.root, args.run, ids, paper_numbers(args.paper), args.tables, args.figures, args.mitigations)
