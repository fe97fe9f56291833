"""MathIF scoring: thinking removal, HAcc, SAcc and correctness (arXiv 2505.14810, Sec. 3.2).

For each item the response is split into thinking and answer the way the official evaluator
does (TingchenFu/MathIF ``code/eval_if.py``, read, not copied): the answer is the piece after
``<think>`` (when present), then the piece after ``</think>`` (when present), and inside
``<answer>...</answer>`` when those tags are present. Each piece is the one right after the
first tag, as ``text.split(tag)[1]`` gives. The thinking is what comes before ``</think>``
(after ``<think>``); its length is recorded in tokens of the model's tokenizer when one is
given, else in whitespace-separated words.

- **HAcc** (hard accuracy): share of items whose every constraint is met;
- **SAcc** (soft accuracy): mean over items of the share of constraints met;
- **correctness**, by one of two judges (:data:`JUDGES`, config ``mathif.correctness``):

  - ``official`` (default, the paper's definition): the official evaluator's grader,
    PRIME's ``compute_score``, restated in :mod:`.grader`;
  - ``math_verify``: the final answer (last ``\\boxed{}``; else the text after the last
    ``answer is``; else after ``####``) equals the reference: the same text without
    spacing, the same plain number, the same value of two constant LaTeX expressions
    (:mod:`.fastnum`, 6 significant digits), else math-verify equivalence. Stricter on
    answers without a box and on equivalent forms sympy cannot read from LaTeX, more
    lenient on LaTeX equivalences; kept to compare the two.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from tunesafe.evaluation.math_answer import _last_boxed, _to_decimal
from tunesafe.mathif.checkers import check
from tunesafe.mathif.fastnum import latex_value, values_equal
from tunesafe.mathif.grader import is_correct as official_correct
from tunesafe.registry import Registry

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def split_thinking(response: str) -> tuple[str, str]:
    """``(thinking, answer)`` of a response, as the official evaluator cuts it."""
    thinking = response
    if THINK_CLOSE in thinking:
        thinking = thinking.split(THINK_CLOSE)[0]
    if THINK_OPEN in thinking:
        thinking = thinking.split(THINK_OPEN)[1]
    if THINK_CLOSE not in response and THINK_OPEN not in response:
        thinking = ""
    answer = response
    if THINK_OPEN in answer:
        answer = answer.split(THINK_OPEN)[1]
    if THINK_CLOSE in answer:
        answer = answer.split(THINK_CLOSE)[1]
    if "<answer>" in answer:
        answer = answer.split("<answer>")[1]
    if "</answer>" in answer:
        answer = answer.split("</answer>")[0]
    return thinking, answer


_ANSWER_IS = re.compile(r"answer is[:\s]*", flags=re.IGNORECASE)


def final_answer(text: str) -> str | None:
    """Last ``\\boxed{}`` content; else the rest of the line after the last ``answer is``;
    else the rest of the line after ``####``; None when there is none."""
    if "\\boxed" in text:
        boxed = _last_boxed(text)
        if boxed:
            return boxed
    matches = list(_ANSWER_IS.finditer(text))
    if matches:
        rest = text[matches[-1].end():].split("\n")[0].strip().rstrip(".").strip("$ ")
        if rest:
            return rest
    if "####" in text:
        rest = text.split("####")[-1].split("\n")[0].strip()
        if rest:
            return rest
    return None


def _normalise_reference(reference: str) -> str:
    """MathIF references mix LaTeX and Python: ``3.61e-10`` becomes ``3.61\\times10^{-10}``,
    ``np.arcsin(x)`` becomes ``\\arcsin(x)`` so math-verify can parse them."""
    m = re.fullmatch(r"\s*([-+]?\d+(?:\.\d+)?)[eE]([-+]?\d+)\s*", reference)
    if m:
        return f"{m.group(1)}\\times10^{{{int(m.group(2))}}}"
    return re.sub(r"\bnp\.([a-z]+)", r"\\\1", reference)


def _plain(text: str) -> str:
    """Spacing- and wrapper-free form for the exact-match fast path."""
    text = text.strip().strip("$").rstrip(".")
    return re.sub(r"\s+|\\!|\\,|\\;|\\ ", "", text)


@functools.lru_cache(maxsize=4096)
def _parsed(expr: str) -> tuple:
    """math-verify's parse of ``expr`` read as a boxed LaTeX answer (cached: each reference
    is parsed once per run, both settings share them)."""
    from math_verify import parse  # imported lazily: sympy is slow to import

    return tuple(parse(f"\\boxed{{{expr}}}"))


def math_verify_correct(answer: str, reference: Any) -> bool:
    """Whether the final answer in ``answer`` equals ``reference``: the same text once
    spacing is dropped, the same plain number, or math-verify equivalence."""
    predicted = final_answer(answer)
    if predicted is None:
        return False
    reference = str(reference).strip()
    if _plain(predicted) == _plain(reference):
        return True
    ref_number, pred_number = _to_decimal(_plain(reference)), _to_decimal(_plain(predicted))
    if ref_number is not None and pred_number is not None:
        return ref_number == pred_number
    ref_value, pred_value = latex_value(_normalise_reference(reference)), latex_value(_normalise_reference(predicted))
    if ref_value is not None and pred_value is not None:  # two constants: no sympy needed
        return values_equal(ref_value, pred_value)
    gold, pred = _parsed(_normalise_reference(_plain(reference))), _parsed(_normalise_reference(predicted))
    if not gold or not pred:
        return False
    numeric = _numeric_equal(gold[0], pred[0])
    if numeric is not None:
        return numeric
    from math_verify import verify

    try:
        return bool(verify(list(gold), list(pred)))
    except Exception:  # noqa: BLE001 - sympy failures count as not equal
        return False


def _numeric_equal(a: Any, b: Any) -> bool | None:
    """Fast path for two constant sympy expressions: equal to 6 significant digits (as
    math-verify's default rounding); None when either is not a constant number."""
    try:
        if a.free_symbols or b.free_symbols:
            return None
        x, y = complex(a.evalf()), complex(b.evalf())
    except (AttributeError, TypeError, ValueError):
        return None
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))


def word_count(text: str) -> int:
    return len(text.split())


JUDGES: Registry[Callable[[str, Any], bool]] = Registry("correctness judge")
JUDGES.add("official", official_correct)
JUDGES.add("math_verify", math_verify_correct)


def score_item(item: dict[str, Any], response: str, count_tokens: Callable[[str], int] = word_count,
               correctness: str = "official") -> dict[str, Any]:
    """``{"follow", "hard", "soft", "correct", "thinking_tokens"}`` of one response;
    ``correctness`` names the judge of "correct" (a key of :data:`JUDGES`)."""
    JUDGES.get(correctness)  # an unknown name: one line with the closest
    thinking, answer = split_thinking(response)
    names, args = item["constraint_name"], item.get("constraint_args") or [None] * len(item["constraint_name"])
    follow = [check(n, answer, a) for n, a in zip(names, args, strict=True)]
    return {
        "follow": follow,
        "hard": all(follow),
        "soft": sum(follow) / len(follow) if follow else 1.0,
        "correct": JUDGES[correctness](answer, item["answer"]),
        "thinking_tokens": count_tokens(thinking),
        "has_thinking_end": THINK_CLOSE in response,
    }


def summarise(items: Sequence[dict[str, Any]]) -> dict[str, float]:
    """HAcc, SAcc and correctness (shares in [0, 1]) over scored items."""
    n = len(items)
    return {
        "hacc": sum(i["hard"] for i in items) / n,
        "sacc": sum(i["soft"] for i in items) / n,
        "correct": sum(i["correct"] for i in items) / n,
        "n": n,
    }
