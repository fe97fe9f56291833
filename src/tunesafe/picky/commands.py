"""The ``tunesafe picky`` commands: files in, files out, one function per command.

Each takes the parsed arguments of :mod:`tunesafe.picky.cli` and calls the arm's modules;
outputs are written atomically (a failed command leaves no partial file).
"""

from __future__ import annotations

import argparse
import json

from tunesafe.errors import TunesafeError, key_values


def variants(args: argparse.Namespace) -> None:
    from tunesafe.picky.data import write_variants

    counts = write_variants(args.inputs, args.per_input, args.seed, args.factors, args.out_dir, args.variants)
    print(json.dumps(counts))


def transform(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_jsonl
    from tunesafe.picky.data import transform_where

    where = key_values(args.where, "--where")
    rows = transform_where(read_jsonl(args.data), args.factors, where)
    print(f"{args.out}: {write_jsonl(args.out, rows)} records")


def pairs(args: argparse.Namespace) -> None:
    from tunesafe.io import write_jsonl
    from tunesafe.picky.data import domain_records
    from tunesafe.picky.pairs import benign_pairs, load_pairs

    rows = load_pairs(args.source, args.n, args.seed, args.split, args.path, args.id, args.subset)
    if args.benign:
        rows += benign_pairs(domain_records(args.benign, args.benign_per_input, args.seed), where="--benign")
    print(f"{args.out}: {write_jsonl(args.out, rows)} pairs")


def rm_train(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl
    from tunesafe.picky.pairs import check_pairs, classifier_rows
    from tunesafe.rebound.classifier import train_classifier

    rows = classifier_rows(check_pairs(read_jsonl(args.pairs), args.pairs))
    print(json.dumps(train_classifier(rows, args.tokenizer, args.out, epochs=args.epochs, lr=args.lr, seed=args.seed)))


def rm_score(args: argparse.Namespace) -> None:
    from tunesafe.io import read_jsonl, write_json
    from tunesafe.picky.pairs import check_pairs
    from tunesafe.picky.rm import score_files

    data = {name: read_jsonl(path) for name, path in key_values(args.variant, "--variant").items()}
    safety = check_pairs(read_jsonl(args.pairs), args.pairs)
    result = score_files(args.scorer, key_values(args.scorer_option, "--scorer-option"), data, safety)
    write_json(args.out, {**result, "pairs": args.pairs})
    print(json.dumps({k: round(v["mean_score"], 4) for k, v in result["variants"].items()}))


def table(args: argparse.Namespace) -> None:
    from tunesafe.picky.report import factors_table, rm_figure, rm_table
    from tunesafe.report.tables import write_table

    cells = []
    for spec in args.cell:
        model, sep, domain = spec.partition(":")
        if not sep:
            raise TunesafeError(f"--cell {spec!r}: expected MODEL:DOMAIN")
        cells.append((model, domain))
    factors = factors_table(args.root, cells, args.variants, args.seeds, args.metrics)
    write_table(factors, args.out_factors)
    rm_files = key_values(args.rm, "--rm")
    for key in rm_files:
        if key.count(":") != 2:
            raise TunesafeError(f"--rm {key!r}: expected REWARD_MODEL:MODEL:DOMAIN=PATH")
    rms = rm_table(rm_files, factors)
    write_table(rms, args.out_rm, floatfmt=".3f")
    rm_figure(rms, args.figure)
    print(rms.to_string())
