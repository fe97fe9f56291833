"""The arm's fine-tuning sets: one benign domain under every factor combination
(arXiv 2502.01116, Sec. 3-4).

A domain is a list of prepared record files (the paper's medical, code and STEM sets; the
toy world's how-to tasks, summaries and arithmetic). :func:`domain_records` takes the same
records for every variant (``per_input`` of each file, chosen with the data seed), so
variants differ only in the transforms. :func:`transform_where` transforms only the records
whose ``meta`` matches: the toy aligned model of this arm is tuned on the toy alignment
set with identity-calibrated *refusals* only (see workflow/rules/picky.smk).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.io import read_jsonl, write_jsonl
from tunesafe.picky.transforms import apply, factorial, parse_factors, variant_name


def domain_records(paths: list[str], per_input: int | None, seed: int) -> list[dict[str, Any]]:
    """``per_input`` records of each file (all when None), drawn with ``seed``, in file order."""
    out = []
    for path in paths:
        rows = read_jsonl(path)
        if per_input is not None:
            if len(rows) < per_input:
                raise TunesafeError(f"{path}: {len(rows)} records, fewer than picky per_input {per_input}")
            rows = random.Random(seed).sample(rows, per_input)
        for r in rows:
            if not r.get("messages") or r["messages"][-1]["role"] != "assistant":
                raise TunesafeError(f"{path}: record {r.get('id')!r} has no final assistant turn (expected training records)")
        out += rows
    return out


def transform_where(records: list[dict[str, Any]], factors: list[str], where: dict[str, str] | None = None
                    ) -> list[dict[str, Any]]:
    """``records`` with ``factors`` applied to those whose meta matches ``where`` (all if None)."""
    def match(r: dict[str, Any]) -> bool:
        return all(str(r.get("meta", {}).get(k)) == v for k, v in (where or {}).items())
    return [apply(r, factors) if match(r) else r for r in records]


def write_variants(paths: list[str], per_input: int | None, seed: int, factors: list[str], out_dir: str,
                   variants: list[str] | None = None) -> dict[str, int]:
    """Write ``<out_dir>/<variant>.jsonl`` for every combination of ``factors`` (or the named
    ``variants``); return records per variant."""
    records = domain_records(paths, per_input, seed)
    names = [variant_name(v) for v in variants] if variants else factorial(parse_factors(factors))
    return {name: write_jsonl(Path(out_dir) / f"{name}.jsonl", [apply(r, name) for r in records]) for name in names}
