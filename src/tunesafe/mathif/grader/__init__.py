"""MathIF correctness as the official evaluation judges it (arXiv 2505.14810, Sec. 3.2).

Four modules, one per step of the official grader: :mod:`.extract` (the answer out of the
response), :mod:`.normalize` (the two normalisations), :mod:`.bounded` (sympy and Python
arithmetic behind a shape check) and :mod:`.equality` (``grade_answer``, ``math_equal``);
this one holds ``compute_score``.

Why our own code: the paper's "correct" is whatever the official evaluator's grader says,
quirks included, and no package on the registries implements that grader. The official
``code/eval_if.py`` (TingchenFu/MathIF, since the commit "add correctness evaluation")
passes the text after the thinking (cut as :func:`..scoring.split_thinking` cuts it) to
``compute_score`` of ``code/prime_math/`` (PRIME's grader, itself built from OpenAI's
PRM800K grader and Hendrycks' MATH normalisation). This package restates the semantics of
``prime_math/__init__.py`` (``match_answer``, ``grade_answer`` with its two
normalisations, ``compute_score``), ``prime_math/grader.py`` (``math_equal``,
``symbolic_equal``) and ``prime_math/math_normalize.py`` (``normalize_answer``), written from
reading them; nothing is copied. The libraries they call do the same work here: sympy
(``parse_expr``, ``simplify``, ``N``) and pylatexenc (``LatexNodes2Text``).

Behaviours pinned here (each has a test in ``tests/test_mathif_grader.py``):

- **Extraction** (:func:`extract`): cut after the last ``answer:``, then ``answer is``, then
  ``answers are``; cut before the last ``is the answer``-style phrase; take the last
  ``\\boxed{}``/``\\fbox{}`` when it is not empty; drop what follows the last ``". "``; cut
  after the last ``be``/``is``/``are``/``=``/``:``/``get``. The official "answer must have
  a digit" rule only sets a *matched* flag that ``compute_score`` never reads: an answer
  without a digit (``\\text{Evelyn}``) is still graded, and so it is here.
- **Several boxes**: only the last counts.
- **Normalisation** (Hendrycks' and PRM800K's): ``\\text{}`` around the whole answer, units
  after ``\\text{ ``, named units anywhere (``cm``, ``degree``, ``hour`` ... with plural
  and power), ``^\\circ``, ``\\%``/``%``, ``$``, ``\\dfrac``/``\\tfrac``, ``\\left``/
  ``\\right``, well-formed thousands commas (``1,000``) and ``,\\!``, ``k=`` prefixes,
  ``a/b`` to ``\\frac{a}{b}``, ``0.5`` to ``\\frac{1}{2}``, LaTeX to text (pylatexenc 2.x),
  numbers within 1e-7 of an integer to that integer (so ``3.62e-10`` equals ``3.61e-10``).
- **Comparison** (``grade_answer``): equal normalised strings; then element-wise over
  tuples and intervals (same brackets required), unreduced fractions compared as strings,
  an integer never equal to a non-integer, the rest by sympy ``simplify(a - b) == 0`` on
  expressions with at most two distinct letters and no ``^{``/``^(``/big exponents (two
  integer literals are compared as integers, the verdict sympy's exact arithmetic gives).
- **``math_equal``** after that: ``$5`` and ``5%`` stripped; ``x_b`` read as the integer
  ``x`` (a non-numeric ``x`` makes the item wrong, as the official exception does); ``\\pi``
  replaced by a number and the result evaluated as Python arithmetic, tried with
  ``math.pi`` and with 3.14; numbers equal within a relative 1e-4, also after x100 or /100
  (percent leniency); brackets and tuples part by part; then sympy: ``parse_expr`` of each
  side, ``simplify(a - b) == 0``, else ``N(a)`` and ``N(b)`` within 1e-4. The official
  matrix branches test ``"\\begin{pmatrix}"`` in a non-raw string whose ``\\b`` is a
  backspace, so they never run: not restated.
- Consequences worth knowing: an answer is cut after its last ``=``, so the reference
  itself, boxed, is judged wrong where it contains one (3 of the 420 real items:
  ``$f(z)=z$`` and two Minerva equations); ``\\sqrt{4}`` is not 2 (no LaTeX evaluation,
  below).

**The LaTeX parser.** The official ``symbolic_equal`` also tries sympy's ``parse_latex``,
which works only when antlr4-python3-runtime 4.11 is installed; otherwise it raises and the
string stays unparsed. The official requirements pin no antlr4 (hydra-core there brings
4.9, math-verify here needs 4.13), so that step fails in the official environment as on
ours: this module pins that behaviour and never calls ``parse_latex``, on every machine.

**Deterministic verdicts.** The official code puts signal alarms around sympy (1 s in
``math_equal``, whose ``timeout=True`` from ``compute_score`` counts as 1; 10 s around
``grade_answer``'s sympy step); a verdict could then depend on the machine's load. Here no
clock is read: every string handed to sympy (``parse_expr``, ``sympify`` via ``N``) or
evaluated as Python arithmetic first passes a shape check (:func:`.bounded._sympy_input_ok`,
:func:`.bounded._eval_arithmetic`) that bounds the work by construction: at most 200 tokens; numbers
of at most 40 characters with decimal exponents up to 400; no string literals, attribute
access, names starting with ``__`` or non-mathematical callables (this also keeps model
output from running code, which the official ``eval`` and ``parse_expr`` allow); exponents
that are a small literal, an uncalled name or a small group without powers; no chains of
powers; factorials of small literals or small groups only; integer arithmetic capped in
size. What fails the check counts as an expression sympy could not parse, the official
outcome of a timeout. Plausible answers pass it and take milliseconds, far below the
official limits, so the official code would not time out on them either; answers that fail
it (``9**9**9``, ``473271!``, ``37E616``) are judged wrong, where the official code may
spend seconds and, rarely, find them equal (two overflowing values compare as equal).
"""

from __future__ import annotations

import functools
import math
from typing import Any

from tunesafe.mathif.grader.bounded import (
    _parse,
    _ParseFailed,
    _simplifies_to_zero,
    _sympy_input_ok,
)
from tunesafe.mathif.grader.equality import _Unjudgeable, grade_answer, math_equal
from tunesafe.mathif.grader.extract import extract, last_boxed
from tunesafe.mathif.grader.normalize import normalize_mathd, normalize_prm

__all__ = ["extract", "grade_answer", "is_correct", "last_boxed", "math_equal", "normalize_mathd", "normalize_prm",
           "_parse", "_simplifies_to_zero", "_sympy_input_ok"]

# ----------------------------------------------------------------------------- compute_score

@functools.lru_cache(maxsize=65536)
def _judge(extracted: str, truth: str) -> bool:
    if grade_answer(extracted, truth):
        return True
    try:
        if "\\pi" in extracted or "\\pi" in truth:
            verdicts = [math_equal(extracted, truth, pi=pi) for pi in (math.pi, 3.14)]
            return any(verdicts)
        return math_equal(extracted, truth)
    except (_Unjudgeable, _ParseFailed, ArithmeticError, TypeError, ValueError, RecursionError):
        return False


def is_correct(answer: str, reference: Any) -> bool:
    """Whether ``answer`` (the text after the thinking) is correct for ``reference``, as the
    official ``compute_score(answer, reference)[0]``."""
    return _judge(extract(str(answer))[1], str(reference))
