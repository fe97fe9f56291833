"""``tunesafe rebound``: the resistance and rebound experiments of arXiv 2406.06144."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("rebound", help="resistance and rebound (Language Models Resist Alignment)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_resistance_parsers(sub)

    p = sub.add_parser("data", help="positive/negative training records, held-out prompts or labelled text")
    p.add_argument("--task", required=True, help="reviews (IMDb) or safety (BeaverTails)")
    p.add_argument("--kind", required=True, choices=["positive", "negative", "prompts", "labelled", "pretrain"])
    p.add_argument("--source", default="toy", choices=["toy", "file", "hf"])
    p.add_argument("--n", type=int, required=True, help="number of records (the first N: nested across N)")
    p.add_argument("--seed", type=int, default=0, help="toy: generator seed")
    p.add_argument("--path", help="file: JSONL, JSON list or parquet in the real format")
    p.add_argument("--id", help="hf: dataset id (stanfordnlp/imdb, PKU-Alignment/BeaverTails)")
    p.add_argument("--split", default="train", help="hf: split")
    p.add_argument("--format", choices=["imdb", "beavertails"], help="file/hf: real format of the rows")
    p.add_argument("--shuffle-seed", type=int, help="file/hf: shuffle the rows first")
    p.add_argument("--prefix-words", type=int, default=8, help="imdb: words of the review given as prompt")
    p.add_argument("--review-share", type=float, default=0.5, help="pretrain: share of reviews in the corpus")
    p.add_argument("--sentiment", default="negative=0.5,neutral=0.3,positive=0.2",
                   help="pretrain: sentiment shares of the reviews, NAME=SHARE,...")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_data)

    p = sub.add_parser("classifier", help="train the toy score classifier on labelled text; report held-out accuracy")
    p.add_argument("--data", required=True, help="JSONL of {text, label}")
    p.add_argument("--tokenizer", required=True, help="tokenizer directory (the toy tokenizer)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="classifier directory")
    p.set_defaults(func=_classifier)

    p = sub.add_parser("evaluate", help="one grid cell: generate, score (share positive), KL to the base model")
    p.add_argument("--model", required=True)
    _add_evaluation_args(p)
    p.add_argument("--seed", type=int, default=42, help="sampling seed")
    p.add_argument("--cell", required=True, metavar="MODEL:TASK:N_POS:N_NEG:SEED", help="labels of the grid cell")
    p.add_argument("--generations", required=True, help="output generations JSONL")
    p.add_argument("--out", required=True, help="output metrics JSON")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("grid", help="every cell of one (model, task) in one process: SFTs, generation, score, KL")
    p.add_argument("--model", required=True, help="the base model the positive SFTs start from")
    _add_evaluation_args(p)
    p.add_argument("--positive", action="append", required=True, metavar="N_POS=JSONL")
    p.add_argument("--negative", action="append", required=True, metavar="N_NEG=JSONL",
                   help="0=- for the positive model itself")
    p.add_argument("--seeds", type=int, nargs="+", required=True, help="training order and sampling seed of the cells")
    p.add_argument("--settings", required=True, help="train settings JSON (tunesafe train sft --settings)")
    p.add_argument("--chat-template", help="Jinja chat template of the first SFT when the base has none")
    p.add_argument("--name", required=True, metavar="MODEL:TASK", help="labels of the grid")
    p.add_argument("--cells-dir", required=True, help="output: <dir>/pos<P>_neg<N>_seed<S>.json")
    p.add_argument("--generations-dir", required=True, help="output: <dir>/pos<P>_neg<N>_seed<S>.jsonl")
    p.set_defaults(func=_grid)


def _add_resistance_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alignment-data", help="training records and held-out prompts of a resistance alignment set")
    p.add_argument("--format", required=True, choices=["truthfulqa", "beavertails"])
    p.add_argument("--source", default="toy", choices=["toy", "file", "hf"])
    p.add_argument("--n", type=int, default=0, help="toy: rows generated")
    p.add_argument("--seed", type=int, default=0, help="toy: generator seed; all: the shuffle before the split")
    p.add_argument("--path", help="file: JSONL, JSON list or parquet in the real format")
    p.add_argument("--id", help="hf: dataset id (truthfulqa/truthful_qa, PKU-Alignment/BeaverTails)")
    p.add_argument("--name", help="hf: dataset config (truthful_qa: generation)")
    p.add_argument("--split", default="train", help="hf: split")
    p.add_argument("--n-train", type=int, required=True)
    p.add_argument("--n-prompts", type=int, required=True)
    p.add_argument("--out-train", required=True)
    p.add_argument("--out-prompts", required=True)
    p.set_defaults(func=_alignment_data)

    p = sub.add_parser("as-records", help="generations as training chat records (D_k of the resistance study)")
    p.add_argument("--generations", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_as_records)


def add_report_commands(sub: argparse._SubParsersAction) -> None:
    """`tunesafe report rebound` and `tunesafe report resistance` (the arm's tables and figures)."""
    p = sub.add_parser("rebound", help="rebound grid table with Table 3's KL measure, and one figure per task")
    p.add_argument("--metrics", nargs="+", required=True, help="per-cell metrics JSON files")
    p.add_argument("--epsilon", type=float, default=0.01)
    p.add_argument("--paper", metavar="FILE:KEY", help="paper numbers beside ours: YAML file and dotted key")
    p.add_argument("--out", required=True, help="table prefix: <out>.csv and <out>.md")
    p.add_argument("--figures", required=True, help="figure prefix: <figures>_<task>.{pdf,png}")
    p.add_argument("--factor", action="append", default=[], metavar="NAME=MODEL,MODEL,...",
                   help="also draw <figures>_<NAME>_<task>.{pdf,png}: one curve per model")
    p.set_defaults(func=_table)

    p = sub.add_parser("resistance", help="forward vs inverse final training loss (Table 1)")
    p.add_argument("--root", required=True, help="<root>/<model>/<dataset>/<direction>_<i>_<j>.json")
    p.add_argument("--cell", action="append", required=True, metavar="MODEL:DATASET")
    p.add_argument("--tail", type=float, default=0.1, help="final loss = mean over this last share of steps")
    p.add_argument("--paper", metavar="FILE:KEY", help="paper numbers beside ours: YAML file and dotted key")
    p.add_argument("--paper-cell", action="append", default=[], metavar="DATASET=MODEL/DATASET",
                   help="the paper cell beside a dataset the paper does not have (repeatable)")
    p.add_argument("--out", required=True, help="output prefix: <out>.csv and <out>.md")
    p.set_defaults(func=_resistance_table)


def _add_evaluation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", required=True, help="the base model the KL is measured against")
    p.add_argument("--prompts", required=True, help="held-out prompt records with references")
    p.add_argument("--scorer", required=True, help="toy_classifier, sentiment or safety_cost")
    p.add_argument("--scorer-option", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--engine", default="hf")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--tensor-parallel-size", type=int, default=1)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--kl-max-length", type=int, default=256)


def _pairs(specs: list[str], flag: str, cast=str) -> dict:
    from tunesafe.errors import key_values

    return key_values(specs, flag, cast)


def _scorer_and_options(args: argparse.Namespace):
    from tunesafe.rebound.scorers import get_scorer

    scorer = get_scorer(args.scorer, **_pairs(args.scorer_option, "--scorer-option"))
    options = ({"batch_size": args.batch_size} if args.engine == "hf"
               else {"tensor_parallel_size": args.tensor_parallel_size})
    return scorer, {"engine": args.engine, "kl_max_length": args.kl_max_length, **options}


def _data(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError
    from tunesafe.io import write_jsonl
    from tunesafe.rebound import data

    if args.kind == "pretrain":
        if args.source != "toy":
            raise TunesafeError("--kind pretrain is the toy bases' corpus: use --source toy")
        shares = _pairs(args.sentiment.split(","), "--sentiment", float)
        rows = data.pretrain_corpus(args.n, args.seed, args.review_share, shares)
    elif args.source == "toy":
        if args.kind == "prompts":
            rows = data.toy_prompts(args.task, args.n, args.seed)
        elif args.kind == "labelled":
            rows = data.labelled(args.task, args.n, args.seed)
        else:
            rows = data.toy_examples(args.task, args.kind, args.n, args.seed)
    else:
        if args.format is None:
            raise TunesafeError("--format is required for file and hf sources (imdb or beavertails)")
        if args.kind == "labelled":
            raise TunesafeError("--kind labelled is for the toy classifier; real tasks use a score model id")
        raw, source = data.load_rows(args.path if args.source == "file" else None,
                                     args.id if args.source == "hf" else None, args.split, args.shuffle_seed)
        polarity = None if args.kind == "prompts" else args.kind
        if args.format == "imdb":
            rows = data.imdb_records(raw, polarity, args.n, args.prefix_words, source=source)
        else:
            rows = data.beavertails_records(raw, polarity, args.n, source=source)
        if len(rows) < args.n:
            raise TunesafeError(f"{source}: only {len(rows)} {args.kind} records, {args.n} asked for")
    print(f"{args.out}: {write_jsonl(args.out, rows)} records")


def _alignment_data(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.rebound import alignment_sets as sets
    from tunesafe.rebound.data import load_rows

    if args.source == "toy":
        rows, source = sets.TOY_ROWS[args.format](args.n, args.seed), f"toy {args.format}"
    else:
        rows, source = load_rows(args.path if args.source == "file" else None,
                                 args.id if args.source == "hf" else None, args.split, hf_name=args.name)
    records = sets.alignment_records(args.format, rows, source)
    train, prompts = sets.split_records(records, args.n_train, args.n_prompts, args.seed, source)
    print(f"{args.out_train}: {write_jsonl(args.out_train, train)} records; "
          f"{args.out_prompts}: {write_jsonl(args.out_prompts, prompts)} prompts")


def _classifier(args: argparse.Namespace) -> None:
    import json

    from tunesafe.io import read_jsonl
    from tunesafe.rebound.classifier import train_classifier

    metrics = train_classifier(read_jsonl(args.data), args.tokenizer, args.out, epochs=args.epochs, lr=args.lr,
                               seed=args.seed)
    print(json.dumps(metrics))


def _evaluate(args: argparse.Namespace) -> None:
    import json

    from tunesafe.errors import TunesafeError
    from tunesafe.generation import SamplingSettings
    from tunesafe.io import write_json
    from tunesafe.rebound.grid import evaluate_cell

    parts = args.cell.split(":")
    if len(parts) != 5:
        raise TunesafeError(f"--cell {args.cell!r}: expected MODEL:TASK:N_POS:N_NEG:SEED")
    scorer, options = _scorer_and_options(args)
    sampling = SamplingSettings(args.temperature, args.top_p, args.top_k, args.max_new_tokens, args.seed)
    model, task, n_pos, n_neg, seed = parts
    labels = {"model": model, "task": task, "n_pos": int(n_pos), "n_neg": int(n_neg), "seed": int(seed),
              "scorer": args.scorer}
    metrics = evaluate_cell(args.model, args.base, args.prompts, scorer, sampling, args.generations, labels,
                            **options)
    write_json(args.out, metrics)
    print(json.dumps(metrics))


def _grid(args: argparse.Namespace) -> None:
    import json

    from tunesafe.errors import TunesafeError
    from tunesafe.generation import SamplingSettings
    from tunesafe.rebound.grid import grid_evaluator, run_grid

    model_name, sep, task = args.name.partition(":")
    if not sep or not model_name or not task:
        raise TunesafeError(f"--name {args.name!r}: expected MODEL:TASK")
    try:
        settings = json.loads(args.settings)
    except json.JSONDecodeError as e:
        raise TunesafeError(f"--settings is not valid JSON ({e.msg})") from None
    positive = {int(k): v for k, v in _pairs(args.positive, "--positive").items()}
    negative = {int(k): v for k, v in _pairs(args.negative, "--negative").items()}
    scorer, options = _scorer_and_options(args)

    def sampling(seed: int) -> SamplingSettings:
        return SamplingSettings(args.temperature, args.top_p, args.top_k, args.max_new_tokens, seed)

    evaluate = grid_evaluator(args.base, args.prompts, scorer, sampling, args.cells_dir, args.generations_dir,
                              model_name, task, args.scorer, **options)
    cells = run_grid(args.model, positive, negative, args.seeds, settings, evaluate, args.cells_dir,
                     args.chat_template)
    print(f"{args.cells_dir}: {cells} cells")


def _as_records(args: argparse.Namespace) -> None:
    from tunesafe.rebound.resistance import generations_to_records

    print(f"{args.out}: {generations_to_records(args.generations, args.out)} records")


def _resistance_table(args: argparse.Namespace) -> None:
    from tunesafe.errors import TunesafeError, check_range, key_values

    check_range("--tail", args.tail, 0, 1)  # a share of the run's steps
    from tunesafe.rebound.resistance import resistance_table
    from tunesafe.report.tables import to_markdown, write_table

    cells = []
    for spec in args.cell:
        model, sep, dataset = spec.partition(":")
        if not sep or not model or not dataset:
            raise TunesafeError(f"--cell {spec!r}: expected MODEL:DATASET")
        cells.append((model, dataset))
    df = resistance_table(args.root, cells, args.tail, _paper(args.paper),
                          key_values(args.paper_cell, "--paper-cell"))
    csv, md = write_table(df, args.out, floatfmt=".4f")
    print(to_markdown(df, ".4f"))
    print(f"wrote {csv} and {md}")


def _table(args: argparse.Namespace) -> None:
    from tunesafe.errors import check_range

    check_range("--epsilon", args.epsilon, 0, low_open=True)  # a KL threshold
    from tunesafe.rebound.report import write_report

    factors = {name: models.split(",") for name, models in _pairs(args.factor, "--factor").items()}
    print(write_report(args.metrics, args.epsilon, _paper(args.paper), args.out, args.figures,
                       factors))


def _paper(spec: str | None) -> dict:
    from tunesafe.report.paper import paper_numbers

    return paper_numbers(spec) or {}
