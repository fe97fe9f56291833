"""Evaluation: score a generations file with a registered metric, write flat metrics JSON.

Metrics: ``asr`` (keyword attack success rate), ``harmfulness`` and ``mtbench`` (LLM judges,
:mod:`.judge`, :mod:`.mtbench`), ``rouge1`` (ROUGE-1 F1 against the
reference summary) and ``math_accuracy`` (final-answer accuracy). To add one, write a
module that calls :func:`register` and add it to the import of metric modules below.
"""

# The metric modules are imported for their side effect: each registers its metric.
from tunesafe.evaluation import asr, judge, math_answer, mtbench, rouge  # noqa: F401
from tunesafe.evaluation.registry import METRICS, Metric, evaluate_file, get_metric, register

__all__ = ["METRICS", "Metric", "evaluate_file", "get_metric", "register"]
