"""MathIF's official correctness grader, restated (tunesafe.mathif.grader).

Every expected verdict below was worked out by hand from the official rules (TingchenFu/
MathIF code/prime_math: match_answer, the two normalisations, grade_answer, math_equal,
symbolic_equal); the comment on each case names the rule that decides it.
"""

from __future__ import annotations

import pytest

from tunesafe.mathif.grader import (
    _sympy_input_ok,
    extract,
    is_correct,
    normalize_mathd,
    normalize_prm,
)


@pytest.mark.parametrize("text,expected", [
    ("so the answer is \\boxed{12}. Done", (True, "12")),  # after "answer is", then the box
    ("\\boxed{1} and then \\boxed{2}", (True, "2")),  # several boxes: the last
    ("7 is the answer", (True, "7")),  # before "is the answer"
    ("We get 4. Then we stop", (True, "4")),  # cut at the last ". ", then after "get "
    ("\\fbox{3}", (True, "3")),  # \fbox when there is no \boxed
    ("\\boxed{x = 5}", (True, "5")),  # after the last "="
    ("\\boxed{Evelyn}", (False, "Evelyn")),  # no digit: not "matched"
    ("The answer: 3 apples", (True, "3 apples")),
])
def test_extraction(text, expected):
    assert extract(text) == expected


@pytest.mark.parametrize("raw,expected", [
    ("\\left( 1, \\dfrac12 \\right)", "(1,\\frac{1}{2})"),  # \dfrac, \left/\right, spaces, \frac12
    ("5 \\text{ cm}", "5"),  # units after "\text{ "
    ("30^{\\circ}", "30"),  # degrees
    ("25\\%", "25"),  # percent
    ("k = 7", "7"),  # a short "k =" prefix
    ("3/4", "\\frac{3}{4}"),  # a/b
    ("0.5", "\\frac{1}{2}"),
    ("5 \\text{ a } + 3 \\text{ b }", "5 \\text{ a } + 3 \\text{ b }"),  # two "\text{ ": the error path
])
def test_hendrycks_normalisation(raw, expected):
    assert normalize_mathd(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ("12 hours", "12"),  # named unit, plural
    ("\\text{Evelyn}", "evelyn"),  # \text{} dropped, lower case
    ("1,000", "1000"),  # thousands comma
    ("11,\\! 111", "11111"),  # ",\!" dropped
    ("2.0", "2"),  # integer written as a float
    ("\\$5", "5"),
    ("\\frac{\\sqrt{21}}{5}", "sqrt(21)/5"),  # LaTeX to text (pylatexenc), then √ -> sqrt
])
def test_prm_normalisation(raw, expected):
    assert normalize_prm(raw) == expected


@pytest.mark.parametrize("answer,reference,ok", [
    # extraction and boxes
    ("The answer is \\boxed{62}.", "62", True),
    ("\\boxed{62} then \\boxed{61}", "62", False),  # several boxes: only the last counts
    ("\\boxed{61} then \\boxed{62}", "62", True),
    ("The answer is 5.", "5", True),  # no box; "5." is the float 5
    ("\\boxed{Evelyn}", "\\text{Evelyn}", True),  # no digit, still graded
    ("\\boxed{ellipse}", "\\text{ellipse}", True),
    ("", "5", False),
    # normalisation
    ("\\boxed{5 \\text{ cm}}", "5", True),  # units after \text{
    ("\\boxed{12 hours}", "12", True),  # named units
    ("\\boxed{\\dfrac{3}{4}}", "\\frac{3}{4}", True),
    ("\\boxed{30}", "30^\\circ", True),  # degrees
    ("\\boxed{30^{\\circ}}", "30", True),
    ("\\boxed{25\\%}", "25", True),  # percent
    ("\\boxed{1,000}", "1000", True),  # thousands comma
    ("\\boxed{11111111100}", "11,\\! 111,\\! 111,\\! 100", True),
    ("\\boxed{1,00}", "100", True),  # math_equal drops every comma of a number
    # fractions and integers
    ("\\boxed{0.5}", "\\frac{1}{2}", True),
    ("\\boxed{1/2}", "\\frac{1}{2}", True),
    ("\\boxed{\\sqrt{21}/5}", "\\frac{\\sqrt{21}}{5}", True),  # equal once both are LaTeX-to-text
    ("\\boxed{2/4}", "\\frac{1}{2}", False),  # unreduced: fractions compare as strings
    ("\\boxed{\\frac{4}{2}}", "2", False),  # an integer needs an integer
    # numbers: tolerance 1e-4 relative, and the percent leniency of math_equal
    ("\\boxed{3.14159}", "3.1416", True),
    ("\\boxed{3.15}", "3.1416", False),
    ("\\boxed{200}", "2", True),
    ("\\boxed{0.02}", "2", True),
    ("\\boxed{3.6100001e-10}", "3.61e-10", True),  # scientific notation, within 1e-4
    ("\\boxed{3.62e-10}", "3.61e-10", True),  # within 1e-7 of an integer: both normalise to 0
    ("\\boxed{3.61e10}", "36100000000", True),  # integer-valued floats normalise to the integer
    ("\\boxed{3.62e10}", "3.61e10", False),
    # intervals and tuples
    ("\\boxed{(1, 2)}", "(1,2)", True),
    ("\\boxed{(2, 1)}", "(1,2)", False),  # order matters
    ("\\boxed{[1,2)}", "(1,2)", False),  # brackets must match
    ("\\boxed{Interval(1, 2)}", "[1, 2]", True),
    ("\\boxed{1.0, 2}", "1,2", True),  # comma-separated answers part by part
    ("\\boxed{1.0, 3}", "1,2", False),  # sympy's Interval read as [a, b]
    # pi: math.pi, and 3.14 as a second try
    ("\\boxed{6.2832}", "2\\pi", True),
    ("\\boxed{6.28}", "2\\pi", True),  # only with pi = 3.14
    ("\\boxed{6.3}", "2\\pi", False),
    ("\\boxed{628.32}", "2\\pi", True),  # 2\pi evaluated to a number, then the x100 leniency
    # symbolic
    ("\\boxed{x^2+2x+1}", "(x+1)^2", True),  # simplify(a - b) == 0
    ("\\boxed{xy}", "yx", True),  # two letters: implicit multiplication
    ("\\boxed{xyz}", "zyx", False),  # three letters: no sympy in grade_answer, symbols differ
    ("\\boxed{a+b+c}", "c+b+a", True),  # math_equal's symbolic step has no letter limit
    ("\\boxed{a_1+b_1+c_1}", "c_1+b_1+a_1", False),  # "_" not after a number: official error
    ("\\boxed{4210_5}", "4210_{5}", True),  # a base subscript: the number before "_"
    ("\\boxed{2^{10}}", "1024", False),  # "^{" is never evaluated
    ("\\boxed{2.5^(2)}", "6.25", True),  # "^(" skips grade_answer's sympy; N() reads ^ as power
    ("\\boxed{\\sqrt{4}}", "2", False),  # parse_latex pinned off: LaTeX is not evaluated
])
def test_official_verdicts(answer, reference, ok):
    assert is_correct(answer, reference) is ok


def test_model_output_never_runs_as_code(capsys):
    # the official parse_expr would call print; the shape check refuses the name
    assert is_correct("\\boxed{print(123)}", "1") is False
    assert capsys.readouterr().out == ""
    assert not _sympy_input_ok("open(1)") and not _sympy_input_ok("x.__class__")


@pytest.mark.parametrize("text,ok", [
    ("(x+1)**2 - x**2", True), ("2**10", True), ("sqrt(2)*pi", True), ("x**pi", True),
    ("9**9**9", False),  # a chain of powers
    ("2**(10*10)", False),  # an exponent group with a product
    ("2**100000", False),  # a large literal exponent
    ("100000!", False), ("factorial(10**6)", False),
    ("x" + "+x" * 150, False),  # more than 200 tokens
    ("3.7e35 + x", True), ("37E616 + x", False),  # a decimal exponent beyond 400
])
def test_bounded_sympy_input(text, ok):
    assert _sympy_input_ok(text) is ok


def test_unbounded_answer_is_wrong_not_slow():
    # the official code would spend its 1 s alarm on 9**9**9; here it is refused by shape
    assert is_correct("\\boxed{9**9**9}", "1") is False
