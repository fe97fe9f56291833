"""MathIF correctness as the official evaluation judges it (arXiv 2505.14810, Sec. 3.2).

Why our own code: the paper's "correct" is whatever the official evaluator's grader says,
quirks included, and no package on the registries implements that grader. The official
``code/eval_if.py`` (TingchenFu/MathIF, since the commit "add correctness evaluation")
passes the text after the thinking (cut as :func:`..scoring.split_thinking` cuts it) to
``compute_score`` of ``code/prime_math/`` (PRIME's grader, itself built from OpenAI's
PRM800K grader and Hendrycks' MATH normalisation). This module restates the semantics of
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
evaluated as Python arithmetic first passes a shape check (:func:`_sympy_input_ok`,
:func:`_eval_arithmetic`) that bounds the work by construction: at most 200 tokens; numbers
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

import ast
import functools
import io
import keyword
import math
import operator
import re
import tokenize
from typing import Any

__all__ = ["extract", "grade_answer", "is_correct", "math_equal", "normalize_mathd", "normalize_prm"]


class _Unjudgeable(Exception):
    """Where the official ``math_equal`` raises (and ``compute_score`` returns wrong)."""


# ---------------------------------------------------------------- extraction (match_answer)

_LEAD_MARKERS = ("answer:", "answer is", "answers are")
_TRAIL_MARKERS = ("is answer", "is the answer", "are answers", "are the answers")
_LAST_MARKERS = ("be ", "is ", "are ", "=", ": ", "get ", "be\n", "is\n", "are\n", ":\n", "get\n")


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed`` (else ``\\fbox``): from its first ``{`` to the brace
    that brings the count back to zero; None when there is no such pair."""
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth, left = 0, None
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
            left = i if left is None else left
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return None if left is None else text[left + 1:i].strip()
    return None


def extract(response: str) -> tuple[bool, str]:
    """``(matched, answer)`` as the official ``match_answer``; ``matched`` carries the "answer
    must have a digit" rule but does not enter the verdict (``compute_score`` ignores it)."""
    matched = False
    for marker in _LEAD_MARKERS:
        at = response.lower().rfind(marker)
        if at != -1:
            matched, response = True, response[at + len(marker):].strip()
    for marker in _TRAIL_MARKERS:
        at = response.lower().rfind(marker)
        if at != -1:
            matched, response = True, response[:at].strip()
    boxed = last_boxed(response)
    if boxed:
        matched, response = True, boxed
    if ". " in response:
        response = response[:response.lower().rfind(". ")].strip()
    for marker in _LAST_MARKERS:
        at = response.lower().rfind(marker)
        if at != -1:
            matched, response = True, response[at + len(marker):].strip()
    return matched and any(c.isdigit() for c in response), response


# ----------------------------------------------------- Hendrycks' normalisation (math_normalize)

_WHOLE_TEXT = re.compile(r"^\\text\{(?P<text>.+?)\}$")


def _frac_braces(s: str) -> str:
    r"""``\frac12`` -> ``\frac{1}{2}``, ``\frac1{7}`` -> ``\frac{1}{7}``; the input unchanged when
    a ``\frac`` has fewer than two characters after it; IndexError when it has none."""
    head, *rest = s.split("\\frac")
    out = [head]
    for part in rest:
        out.append("\\frac")
        if part[0] == "{":
            out.append(part)
            continue
        if len(part) < 2:
            return s
        a, b = part[0], part[1]
        out.append("{" + a + "}" + (b if b == "{" else "{" + b + "}") + part[2:])
    return "".join(out)


def _slash_to_frac(s: str) -> str:
    pieces = s.split("/")
    if len(pieces) != 2:
        return s
    try:
        a, b = int(pieces[0]), int(pieces[1])
    except ValueError:
        return s
    return f"\\frac{{{a}}}{{{b}}}" if s == f"{a}/{b}" else s


def _sqrt_braces(s: str) -> str:
    r"""``\sqrt3`` -> ``\sqrt{3}``; IndexError when ``\sqrt`` ends the string."""
    if "\\sqrt" not in s:
        return s
    head, *rest = s.split("\\sqrt")
    return head + "".join("\\sqrt" + (p if p[0] == "{" else "{" + p[0] + "}" + p[1:]) for p in rest)


def _strip_mathd(s: str) -> str:
    for old, new in (("\n", ""), ("\\!", ""), ("\\\\", "\\"), ("tfrac", "frac"), ("dfrac", "frac"),
                     ("\\left", ""), ("\\right", ""), ("^{\\circ}", ""), ("^\\circ", ""), ("\\$", "")):
        s = s.replace(old, new)
    if "\\text{ " in s:  # units on the right; more than one such \text is an error (see caller)
        pieces = s.split("\\text{ ")
        if len(pieces) != 2:
            raise ValueError("several '\\text{ '")
        s = pieces[0]
    s = s.replace("\\%", "").replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _frac_braces(_sqrt_braces(s).replace(" ", ""))
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _slash_to_frac(s)


def normalize_mathd(answer: str) -> str:
    """Hendrycks' MATH normalisation (``math_normalize.normalize_answer``); on an error inside
    it, the answer stripped and without its enclosing ``\\text{}``, as the official returns."""
    answer = answer.strip()
    m = _WHOLE_TEXT.search(answer)
    if m is not None:
        answer = m.group("text").strip()
    try:
        return _strip_mathd(answer)
    except (ValueError, IndexError):
        return answer


# ----------------------------------------------- PRM800K's normalisation (prime_math._normalize)

_UNITS = ("degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week",
          "month", "year", "foot", "feet", "inch", "yard", "liter")
_UNIT_RES = tuple(re.compile(unit + r"(?:es)?s? *(?:\^[0-9]+)?") for unit in _UNITS)
_UNICODE_OPS = (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*"))


def _float_or_none(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _near_int(x: float) -> bool:
    try:
        return abs(x - int(round(x))) <= 1e-7
    except (OverflowError, ValueError):  # inf, nan
        return False


def _strip_thousands(s: str) -> str:
    """Drop commas between a digit and three digits that end the number (``1,000``)."""
    pattern = re.compile(r"([0-9]),([0-9]{3})($|[^0-9])")
    while True:
        t = pattern.sub(r"\1\2\3", s)
        if t == s:
            return t
        s = t


def _int_like(s: str) -> bool:
    x = _float_or_none(_strip_thousands(s))
    return x is not None and _near_int(x)


@functools.cache
def _latex_to_text():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text()


def _latex_plain(expr: str) -> str:
    expr = expr.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac").replace("\\frac", " \\frac")
    expr = _latex_to_text().latex_to_text(expr)
    for old, new in _UNICODE_OPS:
        expr = expr.replace(old, new)
    return expr.strip()


@functools.lru_cache(maxsize=65536)
def normalize_prm(expr: str) -> str:
    """PRM800K's normalisation (``prime_math._normalize``): units, ``%``, ``$``, the words
    million/billion/trillion, ``or``/``and`` as commas, LaTeX to text, lower case, integers."""
    m = _WHOLE_TEXT.search(expr)
    if m is not None:
        expr = m.group("text")
    for old, new in (("\\%", "%"), ("\\$", "$"), ("$", ""), ("%", ""), (" or ", " , "), (" and ", " , "),
                     ("million", "*10^6"), ("billion", "*10^9"), ("trillion", "*10^12")):
        expr = expr.replace(old, new)
    for unit in _UNIT_RES:
        expr = unit.sub("", expr)
    expr = re.sub(r"\^ *\\circ", "", expr)
    if expr and expr[0] == "{" and expr[-1] == "}":
        expr = expr[1:-1]
    expr = re.sub(r",\\! *", "", expr)
    value = _float_or_none(expr)
    if value is not None and _near_int(value):
        expr = str(int(round(value)))
    if "\\" in expr:
        try:
            expr = _latex_plain(expr)
        except Exception:  # noqa: BLE001 - the official keeps the text when pylatexenc fails
            pass
    expr = re.sub(r"- *", "-", expr)
    expr = re.sub(r"([0-9]) +([0-9])", r"\1+\2", expr)  # mixed numbers: 7 3/4 -> 7+3/4
    expr = expr.lower()
    if _int_like(expr):
        expr = str(int(float(expr.replace(",", ""))))
    return expr


# ----------------------------------------------------------------- sympy, bounded by shape

_MAX_TOKENS = 200
_MAX_LITERAL = 1000  # largest literal exponent, factorial or exponent-group number
_SAFE_BUILTINS = frozenset({"abs", "pow", "round", "divmod", "max", "min", "sum", "len"})
_POW = frozenset({"**", "^"})
_COMBINATORIAL = frozenset({"factorial", "factorial2", "subfactorial", "gamma", "binomial", "fibonacci",
                            "lucas", "prime", "primepi", "ff", "rf", "RisingFactorial", "FallingFactorial",
                            "catalan", "bell", "bernoulli", "euler", "harmonic", "partition", "totient"})


@functools.cache
def _sympy_namespace() -> dict[str, Any]:
    """The names ``parse_expr`` resolves (``from sympy import *`` plus builtin functions)."""
    import builtins
    import types

    import sympy

    namespace: dict[str, Any] = {}
    exec("from sympy import *", namespace)  # noqa: S102 - the namespace sympy itself builds
    namespace.update({k: v for k, v in vars(builtins).items() if isinstance(v, types.BuiltinFunctionType)})
    namespace.update(max=sympy.Max, min=sympy.Min)
    return namespace


def _mathematical(name: str) -> bool:
    """Whether a name sympy would resolve to an object is a harmless mathematical one."""
    import sympy

    namespace = _sympy_namespace()
    if name in _SAFE_BUILTINS or name not in namespace:  # the latter becomes a Symbol
        return True
    obj = namespace[name]
    if isinstance(obj, sympy.Basic) or (isinstance(obj, type) and issubclass(obj, sympy.Basic)):
        return True
    return getattr(obj, "__module__", "").startswith("sympy.functions")


def _small_number(tok: tokenize.TokenInfo, limit: float = _MAX_LITERAL) -> bool:
    if tok.type != tokenize.NUMBER:
        return False
    try:
        return abs(complex(tok.string.replace("_", ""))) <= limit
    except ValueError:
        return False


def _group_end(toks: list[tokenize.TokenInfo], i: int) -> int:
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].string in ("(", "[", "{"):
            depth += 1
        elif toks[j].string in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return j
    return len(toks)


def _big_exponent(number: str) -> bool:
    """A decimal exponent beyond 1e±400: sympy turns such a Float into a huge Rational."""
    m = re.search(r"[eE]([-+]?[0-9_]+)", number)
    return m is not None and not number.lower().startswith("0x") and abs(int(m.group(1).replace("_", ""))) > 400


def _group_start(toks: list[tokenize.TokenInfo], end: int) -> int:
    depth = 0
    for j in range(end, -1, -1):
        if toks[j].string == ")":
            depth += 1
        elif toks[j].string == "(":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _small_group(inner: list[tokenize.TokenInfo]) -> bool:
    """A short group without powers, products, factorials or large numbers (``(n-1)``)."""
    return len(inner) <= 8 and not any(t.string in ("**", "^", "!", "*", "(") for t in inner) and \
        not any(t.type == tokenize.NUMBER and not _small_number(t) for t in inner)


@functools.lru_cache(maxsize=65536)
def _sympy_input_ok(text: str, xor_is_power: bool = True) -> bool:
    """The shape check every string passes before sympy evaluates it (see the module doc);
    ``xor_is_power``: whether sympy will read ``^`` as a power (``convert_xor``)."""
    try:
        toks = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.COMMENT)]
    except (tokenize.TokenError, SyntaxError):
        return False  # sympy's own tokenizer fails on it too
    if len(toks) > _MAX_TOKENS:
        return False
    powers = _POW if xor_is_power else frozenset({"**"})
    for i, tok in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_START", -1):
            return False
        if tok.string == "!":  # sympy's factorial notation (an error token to Python's tokenizer)
            prev = toks[i - 1] if i > 0 else None
            if prev is None or not (prev.type == tokenize.NAME or _small_number(prev) or (
                    prev.string == ")" and _small_group(toks[_group_start(toks, i - 1) + 1:i - 1]))):
                return False
        elif tok.type == tokenize.NAME:
            if nxt is not None and nxt.string == "(" and tok.string in _COMBINATORIAL:
                inner = toks[i + 2:_group_end(toks, i + 1)]
                if any(t.string in _POW or (t.type == tokenize.NUMBER and not _small_number(t, 10**5)) for t in inner):
                    return False  # factorial(10**6) and the like: unbounded
            if tok.string.startswith("__") or (keyword.iskeyword(tok.string) and tok.string not in
                                              ("and", "or", "not", "in", "is", "None", "True", "False", "lambda")):
                return False
            if not _mathematical(tok.string):
                return False
        elif tok.type == tokenize.NUMBER and (len(tok.string) > 40 or _big_exponent(tok.string)):
            return False
        elif tok.type == tokenize.OP:
            if tok.string in (".", "...", ":=", "@", "<<", ">>"):
                return False
            if tok.string in powers:
                j = i + 1
                while j < len(toks) and toks[j].string in ("-", "+"):
                    j += 1
                if j >= len(toks):
                    return False
                operand = toks[j]
                if operand.type == tokenize.NUMBER:
                    end = j
                    if not _small_number(operand):
                        return False
                elif operand.type == tokenize.NAME:
                    end = j
                    if end + 1 < len(toks) and toks[end + 1].string == "(":
                        return False  # a called exponent: unbounded
                elif operand.string == "(":
                    end = _group_end(toks, j)
                    if not _small_group(toks[j + 1:end]):
                        return False
                else:
                    return False
                if end + 1 < len(toks) and toks[end + 1].string in powers:
                    return False  # a chain of powers
    return True


class _ParseFailed(Exception):
    pass


@functools.lru_cache(maxsize=65536)
def _parse(text: str, mode: str) -> Any:
    """sympy ``parse_expr`` as the official code reaches it: ``mode`` ``plain`` (standard
    transformations: ``symbolic_equal``), ``implicit`` (plus implicit multiplication and
    application: ``are_equal_under_sympy``) or ``sympify`` (plus rationalised decimals and
    ``^`` as power, newlines dropped: what ``N`` does with a string). :class:`_ParseFailed`
    where sympy raises or where the input fails the shape check. sympy's own namespace is
    passed in, built once, instead of being rebuilt by every call."""
    from sympy.parsing import sympy_parser as sp

    transformations = sp.standard_transformations
    if mode == "implicit":
        transformations = transformations + (sp.implicit_multiplication_application,)
    elif mode == "sympify":
        transformations = transformations + (sp.rationalize, sp.convert_xor)
        text = text.replace("\n", "")
    if not _sympy_input_ok(text, mode != "plain"):
        raise _ParseFailed(text)
    try:
        return sp.parse_expr(text, transformations=transformations, global_dict=dict(_sympy_namespace()))
    except Exception as e:  # noqa: BLE001 - any sympy failure is "cannot parse", as officially
        raise _ParseFailed(text) from e


_INT_LITERAL = re.compile(r"-?(?:0|[1-9][0-9]{0,39})")  # a Python integer literal sympy reads exactly


def _sympy_equal(truth: str, given: str) -> bool:
    """PRM800K's ``are_equal_under_sympy``: ``simplify((truth) - (given)) == 0`` when the
    difference has at most two distinct letters and no ``^{``, ``^(`` or big exponent."""
    expr = f"({truth})-({given})"
    letters = {c for c in expr.replace("sqrt", "").replace("frac", "") if c.isalpha()}
    if len(letters) > 2 or "^{" in expr or "^(" in expr:
        return False
    if re.search(r"\^[0-9]+\^", expr) or re.search(r"\^[0-9][0-9]+", expr):
        return False
    if _INT_LITERAL.fullmatch(truth) and _INT_LITERAL.fullmatch(given):
        return int(truth) == int(given)  # what sympy's exact Integer arithmetic gives, without sympy
    return _simplifies_to_zero(expr.replace("^", "**"))


@functools.lru_cache(maxsize=65536)
def _simplifies_to_zero(expr: str) -> bool:
    import sympy

    try:
        return sympy.simplify(_parse(expr, "implicit")) == 0
    except Exception:  # noqa: BLE001 - the official counts any failure as not equal
        return False


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


# ---------------------------------------------------------------------- math_equal (grader.py)

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
           ast.BitXor: operator.xor, ast.BitOr: operator.or_, ast.BitAnd: operator.and_}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert, ast.Not: operator.not_}
_NUMBER_TYPES = (int, float, complex)


def _arith(node: ast.AST) -> Any:
    """Value of a literal/arithmetic Python expression; ``_ParseFailed`` for anything else
    (names, calls, strings) or an integer result too large to be a plausible answer."""
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, _NUMBER_TYPES):
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        values = [_arith(e) for e in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else (
            values if isinstance(node, ast.List) else set(values))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        operand = _arith(node.operand)
        if not isinstance(operand, _NUMBER_TYPES):
            raise _ParseFailed("unary operator on a container")
        return _UNARY[type(node.op)](operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _arith(node.left), _arith(node.right)
        if not (isinstance(left, _NUMBER_TYPES) and isinstance(right, _NUMBER_TYPES)):
            raise _ParseFailed("arithmetic on a container")
        if isinstance(node.op, ast.Pow) and isinstance(left, int) and isinstance(right, int) and \
                abs(right) > 64 and abs(left) > 1:
            raise _ParseFailed("integer power too large")
        return _BINOPS[type(node.op)](left, right)
    raise _ParseFailed(type(node).__name__)


def _eval_arithmetic(text: str) -> Any:
    """What the official ``eval`` of a ``\\pi``-substituted answer gives, for arithmetic on
    literals (tuples, lists and sets of them included); ``_ParseFailed`` otherwise."""
    try:  # eval drops leading spaces and tabs, ast.parse does not
        tree = ast.parse(text.lstrip(" \t"), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise _ParseFailed(text) from e
    try:
        return _arith(tree)
    except (ArithmeticError, TypeError, ValueError, RecursionError) as e:
        raise _ParseFailed(text) from e


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
