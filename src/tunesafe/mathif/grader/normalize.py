"""MathIF official grader, part 2: the two answer normalisations, Hendrycks' MATH
(``math_normalize.normalize_answer``) and PRM800K's (``prime_math._normalize``).

See :mod:`tunesafe.mathif.grader` for the semantics restated and why this is our own code.
"""

from __future__ import annotations

import functools
import re

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
