"""The metric registry and the one entry point that scores a generations file.

A metric is a :class:`Metric` (name, description, ``score(rows, **options) -> dict``) added
with :func:`register`; adding a metric means one module that calls ``register(...)`` and one
import line in ``tunesafe/evaluation/__init__.py``. :func:`evaluate_file` reads a
generations file (docs/design.md, "Data contracts": one JSON line per prompt with ``"id"``,
``"messages"``, ``"response"``, ``"meta"`` and, where a metric needs it, ``"reference"``),
checks the fields the metric needs line by line, and writes the flat metrics JSON
``{"<metric>": value, "n": count, ...settings}`` atomically.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.io import iter_jsonl, write_json


@dataclass(frozen=True)
class Metric:
    """One evaluation metric.

    ``score(rows, **options)`` takes the generation rows and returns the flat metrics dict
    (the value under the metric's key, ``"n"``, and the settings that produced it).
    ``required`` names the row fields every row must carry; ``options`` maps each keyword
    option ``score`` accepts to a one-line help text (the CLI turns them into ``--flags``).
    """

    name: str
    description: str
    score: Callable[..., dict[str, Any]]
    required: tuple[str, ...] = ("response",)
    options: dict[str, str] = field(default_factory=dict)


METRICS: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add ``metric`` to :data:`METRICS`; a name may be registered once."""
    if metric.name in METRICS:
        raise ValueError(f"metric {metric.name!r} is already registered")
    METRICS[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """Return the registered metric ``name`` or raise a one-line error suggesting the closest."""
    try:
        return METRICS[name]
    except KeyError:
        pass
    valid = sorted(METRICS)
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.4)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise TunesafeError(f"unknown metric {name!r}; {hint}(valid metrics: {', '.join(valid)})")


def check_rows(rows: Sequence[dict[str, Any]], fields: Sequence[str], metric: str,
               source: str | os.PathLike | None = None,
               lines: Sequence[int] | None = None) -> None:
    """Raise a one-line error for the first row that lacks one of ``fields`` or is empty.

    A row is located as ``<source>:<line>`` when ``source`` and ``lines`` are given (lines are
    1-based line numbers in the file), otherwise as ``row <i>`` (1-based position).
    ``"response"`` must be a string; ``"reference"`` must be a string or a number.
    """
    if not rows:
        where = f"{source}: no generations" if source is not None else "no rows"
        raise TunesafeError(f"{where} (expected one JSON line per prompt)")
    for i, row in enumerate(rows):
        if source is not None and lines is not None:
            where = f"{source}:{lines[i]}"
        else:
            where = f"row {i + 1}"
        for name in fields:
            if name not in row:
                raise TunesafeError(f"{where}: no {name!r} field; metric {metric} needs {', '.join(repr(f) for f in fields)} on every line")
            value = row[name]
            if name == "response" and not isinstance(value, str):
                raise TunesafeError(f"{where}: 'response' must be a string, got {type(value).__name__}")
            if name == "reference" and (isinstance(value, bool) or not isinstance(value, str | int | float)):
                raise TunesafeError(f"{where}: 'reference' must be a string or a number, got {type(value).__name__}")


def read_generations(path: str | os.PathLike) -> tuple[list[dict[str, Any]], list[int]]:
    """Read a generations file; return its rows and the 1-based line number of each row."""
    numbered = list(iter_jsonl(path))
    return [row for _, row in numbered], [lineno for lineno, _ in numbered]


def evaluate_file(metric_name: str, generations_path: str | os.PathLike,
                  out_path: str | os.PathLike, **options: Any) -> dict[str, Any]:
    """Score ``generations_path`` with metric ``metric_name``; write and return the metrics.

    Options whose value is ``None`` are dropped (the metric's default applies).
    """
    metric = get_metric(metric_name)
    options = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(options) - set(metric.options))
    if unknown:
        valid = ", ".join(sorted(metric.options)) or "none"
        raise TunesafeError(f"metric {metric.name} has no option {unknown[0]!r} (valid options: {valid})")
    generations_path = Path(generations_path)
    rows, lines = read_generations(generations_path)
    check_rows(rows, metric.required, metric.name, source=generations_path, lines=lines)
    result = metric.score(rows, **options)
    write_json(out_path, result)
    return result
