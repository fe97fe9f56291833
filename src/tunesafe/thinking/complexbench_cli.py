"""``tunesafe thinking complexbench-*`` and ``tunesafe report thinking-complexbench``: ComplexBench
items, DRFR scores and the DRFR table of the When Thinking Fails arm (arXiv 2505.11423)."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("complexbench-prepare", help="ComplexBench items (data_final.json) as prompt rows JSONL")
    p.add_argument("--path", required=True, help="thu-coai/ComplexBench data/data_final.json (a local copy)")
    p.add_argument("--n", type=int, help="keep the first N items")
    p.add_argument("--language", default="en", choices=["en", "zh"], help="instruction_en or instruction")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_prepare)

    p = sub.add_parser("complexbench-score", help="DRFR of a run's answers: LLM judge + official rule checks")
    p.add_argument("--data", required=True, help="rows of `thinking complexbench-prepare`")
    p.add_argument("--responses", required=True, help="generations JSONL (id = main_id)")
    p.add_argument("--judge-prompt", required=True, help="the official evaluation prompt ({input}, {output}, {question})")
    p.add_argument("--extract-prompt", required=True,
                   help="the official extraction prompt ({instruction}, {response}, {question})")
    p.add_argument("--language", default="en", choices=["en", "zh"])
    p.add_argument("--judge", required=True, choices=["openai", "local"], help="judge backend (an LLM)")
    p.add_argument("--judge-model", required=True)
    p.add_argument("--base-url")
    p.add_argument("--api-key-env")
    p.add_argument("--engine", help="local: hf or vllm")
    p.add_argument("--max-new-tokens")
    p.add_argument("--out", required=True, help="scores JSON (DRFR percent)")
    p.add_argument("--rows", help="per-item verdicts JSONL")
    p.set_defaults(func=_score)


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("thinking-complexbench", help="DRFR direct vs CoT per model (wtf_complexbench)")
    p.add_argument("--root", default="results/metrics/thinking", help="scores: <root>/<run>/complexbench/<condition>.json")
    p.add_argument("--run", action="append", required=True, help="a run (model or <model>-seed<k>), repeatable")
    p.add_argument("--tables", default="results/tables")
    p.set_defaults(func=_report)


def _prepare(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.thinking.complexbench import load_items, prompt_rows

    write_jsonl(args.out, prompt_rows(load_items(args.path, args.n), args.language))


def _read_prompt(path: str) -> str:
    from tunesafe.errors import TunesafeError

    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise TunesafeError(f"{path}: cannot read the ComplexBench prompt file ({e.strerror}); "
                            "save the official prompt text there") from None


def _score(args: argparse.Namespace) -> None:
    from tunesafe.evaluation.judges import load_judge
    from tunesafe.io import read_jsonl, write_json, write_jsonl
    from tunesafe.thinking.complexbench import check_items, drfr, score_rows

    judge_prompt, extract_prompt = _read_prompt(args.judge_prompt), _read_prompt(args.extract_prompt)
    items = check_items(read_jsonl(args.data), args.data)
    backend = load_judge(args.judge, judge_model=args.judge_model, base_url=args.base_url,
                         api_key_env=args.api_key_env, engine=args.engine, max_new_tokens=args.max_new_tokens)

    def grade(prompts: list[str]) -> list[str]:
        return backend.grade([{"kind": "complexbench", "prompt": p} for p in prompts])

    rows = score_rows(items, read_jsonl(args.responses), grade, judge_prompt, extract_prompt, args.language)
    if args.rows:
        write_jsonl(args.rows, rows)
    write_json(args.out, {**drfr(rows), "judge": args.judge, "judge_model": args.judge_model,
                          "answer": "after </think>", "language": args.language})


def _report(args: argparse.Namespace) -> None:
    from pathlib import Path

    import pandas as pd

    from tunesafe.io import read_json
    from tunesafe.report.tables import write_table
    from tunesafe.thinking.report import model_of

    rows = []
    for run in args.run:
        d, c = (read_json(Path(args.root) / run / "complexbench" / f"{x}.json") for x in ("direct", "cot"))
        rows.append({"model": model_of(run), "drfr_direct": d["drfr"], "drfr_cot": c["drfr"],
                     "drfr_delta": c["drfr"] - d["drfr"], "n_questions": d["n_questions"],
                     "n_rule_unscored": d["n_rule_unscored"]})
    table = pd.DataFrame(rows).groupby("model", sort=True).mean(numeric_only=True).reset_index()
    write_table(table, Path(args.tables) / "wtf_complexbench")
