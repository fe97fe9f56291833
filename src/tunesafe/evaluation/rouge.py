"""ROUGE-1 F1 between each response and its reference summary, averaged over rows.

Uses the ``rouge-score`` package (``RougeScorer(["rouge1"], use_stemmer=True)``, the
Google reference implementation: lower-cased, non-alphanumerics dropped, Porter-stemmed
unigrams). The result is in [0, 1]; every row needs a ``"reference"``.
"""

from __future__ import annotations

from typing import Any

from tunesafe.evaluation.registry import Metric, check_rows, register


def rouge1_f1(prediction: str, reference: str, scorer: Any = None) -> float:
    """ROUGE-1 F1 of one prediction against one reference."""
    if scorer is None:
        scorer = _scorer()
    return float(scorer.score(reference, prediction)["rouge1"].fmeasure)  # (target, prediction)


def _scorer() -> Any:
    from rouge_score import rouge_scorer  # imported lazily: nltk is slow to import

    return rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)


def score_rouge1(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"rouge1_f1", "n"}``: the mean ROUGE-1 F1 of response against reference."""
    check_rows(rows, ("response", "reference"), "rouge1")
    scorer = _scorer()
    scores = [rouge1_f1(row["response"], str(row["reference"]), scorer) for row in rows]
    return {"rouge1_f1": sum(scores) / len(scores), "n": len(scores)}


register(Metric(
    name="rouge1",
    description="mean ROUGE-1 F1 (stemmed) between response and reference summary",
    score=score_rouge1,
    required=("response", "reference"),
))
