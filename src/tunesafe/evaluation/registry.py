"""The metric registries and the one entry point that scores a generations file.

Every metric the workflow knows is declared once in :data:`METRIC_INFO` (a
:class:`tunesafe.registry.Registry` of :class:`MetricInfo`, in the order of the tables'
columns): what it needs (generations, generations and an LLM judge, or the model itself
through lm-evaluation-harness), the headline key of its metrics file, the column title and
scale of the tables, and whether higher is better. The workflow's lists of benchmarks by
kind, the tables' columns (:mod:`tunesafe.report.tables`) and the config schema's metric
enum (checked by a test) all derive from it.

A metric that scores generations also has a :class:`Metric` (name, description,
``score(rows, **options) -> dict``) added with :func:`register`; adding such a metric means
one module that calls ``register(...)``, its import line in ``tunesafe/evaluation/__init__.py``
and its entry in :data:`METRIC_INFO` (plus the schema enum). :func:`evaluate_file` reads a
generations file (docs/design.md, "Data contracts": one JSON line per prompt with ``"id"``,
``"messages"``, ``"response"``, ``"meta"`` and, where a metric needs it, ``"reference"``),
checks the fields the metric needs line by line, and writes the flat metrics JSON
``{"<metric>": value, "n": count, ...settings}`` atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tunesafe.errors import TunesafeError
from tunesafe.io import iter_jsonl, write_json
from tunesafe.registry import Registry


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


@dataclass(frozen=True)
class MetricInfo:
    """What the workflow and the tables know about a metric.

    ``needs``: ``"generations"`` (scored from a generations file), ``"judge"`` (generations
    scored by an LLM judge, replies kept) or ``"model"`` (the model itself, through
    lm-evaluation-harness). ``key``: the headline value in its metrics file; ``title`` and
    ``scale``: its table column and the factor shown (shares in 0..1 in percent, judge
    scores on their own scale).
    """

    name: str
    needs: Literal["generations", "judge", "model"]
    key: str
    title: str
    scale: float
    higher_is_better: bool = True

    @property
    def judged(self) -> bool:
        return self.needs == "judge"

    @property
    def lm_eval(self) -> bool:
        return self.needs == "model"


METRIC_INFO: Registry[MetricInfo] = Registry("metric")
for _info in [
    MetricInfo("asr", "generations", "asr", "ASR (%)", 100, higher_is_better=False),
    MetricInfo("harmfulness", "judge", "harmfulness_score", "HS", 1, higher_is_better=False),
    MetricInfo("mmlu", "model", "mmlu", "MMLU (%)", 100),
    MetricInfo("mtbench", "judge", "mtbench_score", "MT-B", 1),
    MetricInfo("rouge1", "generations", "rouge1_f1", "ROUGE-1 F1 (%)", 100),
    MetricInfo("math_accuracy", "generations", "accuracy", "Accuracy (%)", 100),
]:
    METRIC_INFO.add(_info.name, _info)


def metric_names(needs: str) -> list[str]:
    """Names of the metrics that need ``needs`` (generations, judge, model), in column order."""
    return [name for name, info in METRIC_INFO.items() if info.needs == needs]


METRICS: Registry[Metric] = Registry("metric")


def register(metric: Metric) -> Metric:
    """Add the scorer ``metric`` to :data:`METRICS`; a name may be registered once and must
    be declared in :data:`METRIC_INFO`."""
    METRIC_INFO.get(metric.name)
    return METRICS.add(metric.name, metric)


def get_metric(name: str) -> Metric:
    """Return the registered metric ``name`` or raise a one-line error suggesting the closest."""
    return METRICS.get(name)


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
