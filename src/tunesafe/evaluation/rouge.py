"""ROUGE-1 F1 between each response and its reference summary, averaged over rows.

Two implementations, chosen with ``implementation`` (config ``benchmarks.<name>.rouge``):

- ``rouge`` (the Safe Delta paper's, arXiv 2505.12038 Sec. 5): the ``rouge`` package as the
  official ``llama2/utility_evaluation/sum/show_result.py`` scores SAMSum:
  ``Rouge().get_scores(hyps, refs, avg=True)["rouge-1"]["f"]``, the mean of the per-row F1
  over lower-cased whitespace tokens, no stemming; an empty response is scored as ``" "``
  (the package rejects an empty hypothesis), as the official script does.
- ``rouge_score`` (default, the toy study's): Google's ``rouge-score``
  (``RougeScorer(["rouge1"], use_stemmer=True)``: lower-cased, non-alphanumerics dropped,
  Porter-stemmed unigrams). It reads systematically higher than ``rouge`` on the same text.

The result is in [0, 1]; every row needs a ``"reference"``.
"""

from __future__ import annotations

from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.evaluation.registry import Metric, check_rows, register

IMPLEMENTATIONS = ("rouge_score", "rouge")


def rouge1_f1(prediction: str, reference: str, scorer: Any = None) -> float:
    """ROUGE-1 F1 of one prediction against one reference (rouge-score, stemmed)."""
    if scorer is None:
        scorer = _scorer()
    return float(scorer.score(reference, prediction)["rouge1"].fmeasure)  # (target, prediction)


def _scorer() -> Any:
    from rouge_score import rouge_scorer  # imported lazily: nltk is slow to import

    return rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)


def rouge_package_f1(predictions: list[str], references: list[str]) -> float:
    """The official SAMSum score: the ``rouge`` package's averaged ROUGE-1 F (empty -> " ")."""
    from rouge import Rouge

    hyps = [p if p != "" else " " for p in predictions]  # official show_result.py
    return float(Rouge().get_scores(hyps, references, avg=True)["rouge-1"]["f"])


def score_rouge1(rows: list[dict[str, Any]], implementation: str = "rouge_score") -> dict[str, Any]:
    """``{"rouge1_f1", "n", "implementation"}``: the mean ROUGE-1 F1 of response against reference."""
    if implementation not in IMPLEMENTATIONS:
        raise TunesafeError(f"rouge1 implementation {implementation!r} is unknown (expected one of {', '.join(IMPLEMENTATIONS)})")
    check_rows(rows, ("response", "reference"), "rouge1")
    references = [str(row["reference"]) for row in rows]
    if implementation == "rouge":
        value = rouge_package_f1([row["response"] for row in rows], references)
    else:
        scorer = _scorer()
        scores = [rouge1_f1(row["response"], ref, scorer) for row, ref in zip(rows, references, strict=True)]
        value = sum(scores) / len(scores)
    return {"rouge1_f1": value, "n": len(rows), "implementation": implementation}


register(Metric(
    name="rouge1",
    description="mean ROUGE-1 F1 between response and reference summary",
    score=score_rouge1,
    required=("response", "reference"),
    options={"implementation": "rouge_score (stemmed, default) or rouge (the rouge package, as the Safe Delta code)"},
))
