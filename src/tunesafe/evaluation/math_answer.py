"""Accuracy of final math answers against a reference answer.

The predicted answer is read from the response the way GSM8K is scored, the convention
Safe Delta's math evaluation uses: the number after ``"####"`` (the GSM8K answer marker)
if there is one, else the last number in the text. Numbers may carry thousands commas
(``1,000``), a sign and decimals; they are compared numerically, so ``12.0`` equals ``12``.

When the response puts its answer in ``\\boxed{...}`` (the MATH / chain-of-thought
convention), the boxed expression is compared with ``math_verify`` instead: a boxed answer
may be LaTeX (``\\frac{1}{2}``, ``\\sqrt{2}``, ``50\\%``) that no number regex can read, and
math-verify parses both sides into sympy and checks them for mathematical equivalence
(``\\frac{1}{2}`` equals ``0.5``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from tunesafe.evaluation.registry import Metric, check_rows, register

# A number in running text: an optional minus (not after a word character, so "3-5" reads
# as 3 and 5), digits with or without thousands commas, optional decimals.
_NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")
# A reference (or a boxed content) that is one plain number, after $ and commas are dropped.
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_BOXED = re.compile(r"\\boxed\s*\{")


def _last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` in ``text`` (braces matched), or None."""
    starts = [m.end() for m in _BOXED.finditer(text)]
    if not starts:
        return None
    start = starts[-1]
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i].strip()
    return None  # unbalanced braces


def _to_decimal(text: str) -> Decimal | None:
    """``text`` as a Decimal when it is one plain number (``$``, commas, a final ``.`` allowed)."""
    s = text.strip().replace(",", "").replace("$", "").strip().rstrip(".")
    if not _PLAIN_NUMBER.fullmatch(s):
        return None
    try:
        return Decimal(s)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        return None


def extract_answer(text: str) -> str | None:
    """The predicted answer in ``text``, or None when there is none.

    The content of the last ``\\boxed{...}`` if any; else the first number after ``####``;
    else the last number in the text. Numbers come back without thousands commas.
    """
    if "\\boxed" in text:
        boxed = _last_boxed(text)
        if boxed:
            return boxed
    if "####" in text:
        m = _NUMBER.search(text.split("####", 1)[1])
        if m:
            return m.group().replace(",", "")
    numbers = _NUMBER.findall(text)
    return numbers[-1].replace(",", "") if numbers else None


def _verify(reference: str, prediction: str) -> bool:
    """math-verify equivalence of a reference and a (boxed) prediction."""
    from math_verify import parse, verify  # imported lazily: sympy is slow to import

    gold = parse(reference) or parse(f"${reference}$")
    pred = parse(f"\\boxed{{{prediction}}}")
    if not gold or not pred:
        return False
    return bool(verify(gold, pred))


def is_correct(response: str, reference: Any) -> bool:
    """True when the answer extracted from ``response`` equals ``reference``."""
    reference = str(reference).strip()
    predicted = extract_answer(response)
    if predicted is None:
        return False
    ref_number, pred_number = _to_decimal(reference), _to_decimal(predicted)
    if ref_number is not None and pred_number is not None and ref_number == pred_number:
        return True
    boxed = "\\boxed" in response and _last_boxed(response) == predicted
    if boxed or ref_number is None:
        return _verify(reference, predicted)
    return False


def score_math_accuracy(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"accuracy", "n", "n_no_answer"}`` over the rows' responses and references."""
    check_rows(rows, ("response", "reference"), "math_accuracy")
    n = len(rows)
    n_correct = sum(is_correct(row["response"], row["reference"]) for row in rows)
    n_no_answer = sum(extract_answer(row["response"]) is None for row in rows)
    return {"accuracy": n_correct / n, "n": n, "n_no_answer": n_no_answer}


register(Metric(
    name="math_accuracy",
    description="share of responses whose final answer (#### n, last number, or \\boxed{}) equals the reference",
    score=score_math_accuracy,
    required=("response", "reference"),
))
