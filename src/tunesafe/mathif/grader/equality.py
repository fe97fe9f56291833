"""MathIF official grader, part 4: equality of two answers, PRIME's ``grade_answer`` and
``math_equal`` (with ``symbolic_equal``).

See :mod:`tunesafe.mathif.grader` for the semantics restated and why this is our own code.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tunesafe.mathif.grader.bounded import (
    _eval_arithmetic,
    _parse,
    _ParseFailed,
    _sympy_equal,
)
from tunesafe.mathif.grader.normalize import (
    _float_or_none,
    _int_like,
    _strip_thousands,
    normalize_mathd,
    normalize_prm,
)


class _Unjudgeable(Exception):
    """Where the official ``math_equal`` raises (and ``compute_score`` returns wrong)."""


# ------------------------------------------------------------------------------ grade_answer

_BRACKETS = "()[]"


def _is_plain_fraction(s: str) -> bool:
    return re.search(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$", s) is not None


def _elements(expr: str) -> list[str]:
    """Elements of a tuple or interval (one level, no inner brackets), else ``[expr]``."""
    expr = _strip_thousands(expr)
    if not expr:
        return []
    if len(expr) > 2 and expr[0] in _BRACKETS and expr[-1] in _BRACKETS and \
            not any(c in expr[1:-1] for c in _BRACKETS):
        return [e.strip() for e in expr[1:-1].split(",")]
    return [expr]


def grade_answer(given: str, truth: str) -> bool:
    """PRM800K's ``grade_answer``: equal under either normalisation, else element by element."""
    if normalize_mathd(truth) == normalize_mathd(given):
        return True
    truth_n, given_n = normalize_prm(truth), normalize_prm(given)
    if truth_n == given_n:
        return True
    if not given_n:
        return False
    truth_el, given_el = _elements(truth_n), _elements(given_n)
    if len(truth_el) > 1 and (truth_n[0] != given_n[0] or truth_n[-1] != given_n[-1]):
        return False
    if len(truth_el) != len(given_el):
        return False
    for t, g in zip(truth_el, given_el, strict=True):
        if _is_plain_fraction(t) and _is_plain_fraction(g):
            ok = t == g  # an unreduced fraction is not the reduced one
        elif _int_like(t) != _int_like(g):
            ok = False  # an integer answer needs an integer
        else:
            ok = _sympy_equal(t, g)
        if not ok:
            return False
    return True




def _with_pi(s: str, pi: float) -> Any:
    """Each ``\\pi`` -> ``*pi`` after a digit, else ``1*pi``; then evaluated when that makes a
    Python arithmetic expression, else the substituted string (``handle_pi``)."""
    at = s.find("\\pi")
    while at != -1:
        s = s[:at] + ("*" if at > 0 and s[at - 1].isdigit() else "1*") + f"{pi}" + s[at + 3:]
        at = s.find("\\pi", at + 1)
    try:
        return _eval_arithmetic(s)
    except _ParseFailed:
        return s


def _prepare(answer: Any, pi: float) -> Any:
    """The official ``normalize`` of ``math_equal``: ``$5`` -> ``5``, ``5%`` -> ``5``, ``x_b``
    -> ``int(x)`` (:class:`_Unjudgeable` when ``x`` is no number), ``\\pi`` evaluated."""
    if not isinstance(answer, str):
        return answer
    if re.match(r"\$\d+(\.\d+)?", answer):
        return answer[1:]
    if re.match(r"^\d+(\.\d+)?%$", answer) or re.match(r"^\d+(\.\d+)?\\%$", answer):
        return answer.replace("\\%", "").replace("%", "")
    if "_" in answer:
        try:
            return int(float(answer.split("_")[0]))
        except (ValueError, OverflowError) as e:
            raise _Unjudgeable(answer) from e
    if "\\pi" in answer:
        return _with_pi(answer, pi)
    return answer


def _as_number(x: Any) -> float | None:
    s = str(x)
    return _float_or_none(s.replace("{,}", "") if "{,}" in s else s.replace(",", ""))


_INTERVALS = ((r"^Interval\((.*)\)$", "[", "]"), (r"^Interval\.Ropen\((.*)\)$", "[", ")"),
              (r"^Interval\.Lopen\((.*)\)$", "(", "]"), (r"^Interval\.open\((.*)\)$", "(", ")"))


def _sympy_interval_to_brackets(s: str) -> str:
    for pattern, left, right in _INTERVALS:
        m = re.match(pattern, s)
        if m:
            return left + m.group(1) + right
    return s


def math_equal(prediction: Any, reference: Any, include_percentage: bool = True,
               tolerance: float = 1e-4, pi: float = math.pi) -> bool:
    """The official ``math_equal`` (ToRA/PRIME): string, numeric (relative ``tolerance``,
    percent variants), bracket-wise, comma-wise, ``Point``, then sympy."""
    prediction, reference = _prepare(prediction, pi), _prepare(reference, pi)
    if isinstance(prediction, str) and len(prediction) > 1000:
        prediction = prediction[:1000]
    if isinstance(prediction, str) and isinstance(reference, str):
        if prediction.strip().lower() == reference.strip().lower() or \
                prediction.replace(" ", "") == reference.replace(" ", ""):
            return True
    p_num, r_num = _as_number(prediction), _as_number(reference)
    if p_num is not None and r_num is not None:
        targets = [r_num / 100, r_num, r_num * 100] if include_percentage else [r_num]
        return any(math.isclose(t, p_num, rel_tol=tolerance) for t in targets)
    if not prediction and prediction not in (0, False):
        return False
    reference, prediction = str(reference).strip(), str(prediction).strip()
    prediction = _sympy_interval_to_brackets(prediction)
    p_str, r_str = prediction, reference
    if (prediction.startswith("[") and prediction.endswith("]") and not reference.startswith("(")) or \
            (prediction.startswith("(") and prediction.endswith(")") and not reference.startswith("[")):
        p_str, r_str = p_str.strip("[]()"), r_str.strip("[]()")
    for ch in "{}()":
        p_str, r_str = p_str.replace(ch, ""), r_str.replace(ch, "")
    if p_str == r_str:
        return True
    if prediction and reference and prediction[0] in "([" and prediction[-1] in ")]" and \
            prediction[0] == reference[0] and prediction[-1] == reference[-1]:
        p_parts, r_parts = prediction[1:-1].split(","), reference[1:-1].split(",")
        if len(p_parts) == len(r_parts) and _all_equal(p_parts, r_parts, include_percentage, tolerance):
            return True
    if "," in prediction and "," in reference:
        p_parts = [x.strip() for x in prediction.split(",")]
        r_parts = [x.strip() for x in reference.split(",")]
        if len(p_parts) == len(r_parts):
            return _all_equal(p_parts, r_parts, include_percentage, tolerance)
    if prediction.startswith("Point"):
        if not reference:
            raise _Unjudgeable("empty reference")
        if reference[0] == "(" and reference[-1] == ")":
            p_parts = prediction[prediction.find("(") + 1:-1].split(",")
            r_parts = reference[1:-1].split(",")
            if len(p_parts) == len(r_parts) and _all_equal(p_parts, r_parts, include_percentage, tolerance):
                return True
    return _symbolic_equal(prediction, reference, tolerance)


def _all_equal(predictions: list[str], references: list[str], include_percentage: bool, tolerance: float) -> bool:
    """Part-wise ``math_equal`` (default pi, as officially); every part is judged, so an
    unjudgeable part makes the item wrong even after a mismatch."""
    verdicts = [math_equal(p, r, include_percentage, tolerance) for p, r in zip(predictions, references, strict=True)]
    return all(verdicts)


def _symbolic_equal(a: str, b: str, tolerance: float) -> bool:
    """``parse_expr`` each side (left a string when it fails; ``parse_latex`` is pinned off,
    see the module doc), then ``simplify(a - b) == 0``, else ``N(a)`` close to ``N(b)``."""
    import sympy

    def parsed(s: str) -> Any:
        try:
            return _parse(s, "plain")
        except _ParseFailed:
            return s

    x, y = parsed(a), parsed(b)
    try:
        if sympy.simplify(x - y) == 0:
            return True
    except Exception:  # noqa: BLE001 - str - str and other failures: not equal, as officially
        pass
    try:
        return math.isclose(_numeric(x), _numeric(y), rel_tol=tolerance)
    except Exception:  # noqa: BLE001 - no number on either side: not equal, as officially
        return False


def _numeric(x: Any) -> Any:
    """sympy ``N(x)``: ``sympify(x, rational=True).evalf(15)``; a string goes through
    :func:`_parse` (``sympify`` mode), so it passes the shape check first."""
    import sympy

    if isinstance(x, str):
        return _parse(x, "sympify").evalf(15)
    return sympy.N(x)
