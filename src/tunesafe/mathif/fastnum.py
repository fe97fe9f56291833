"""A fast numeric reading of simple constant LaTeX answers, before math-verify.

math-verify parses LaTeX with an ANTLR grammar into sympy: exact, but ~10-50 ms per
answer, which would dominate MathIF scoring. Most MathIF answers are constants built from
numbers, ``\\frac``, ``\\sqrt``, ``\\pi``, powers and products (``288 \\pi``,
``2\\sqrt{113}``, ``\\frac{3840}{289}``, ``3.61\\times10^{-10}``). :func:`latex_value`
reads such an answer as a complex number with a small rewrite to Python arithmetic and a
restricted ``eval`` (no names but ``sqrt`` and ``pi``, no attributes, no calls other than
``sqrt``); anything else (variables, sets, intervals, text) gives None and goes to
math-verify. Two constants are equal when they agree to 6 significant digits, math-verify's
default rounding.
"""

from __future__ import annotations

import ast
import cmath
import math
import re

_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_FRAC_DIGITS = re.compile(r"\\[dt]?frac\s*(\d)\s*(\d)")
_SQRT_N = re.compile(r"\\sqrt\s*\[([^\[\]{}]*)\]\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_ALLOWED = re.compile(r"[0-9.+\-*/() ]|sqrt|pi")
_IMPLICIT = re.compile(r"(?<=[0-9)i])\s*(?=[(sp])")  # 2(..), 2sqrt, 2pi, )( -> explicit *


def _to_python(latex: str) -> str | None:
    s = latex.strip().strip("$").rstrip(".")
    for token in ("\\left", "\\right", "\\!", "\\,", "\\;", "\\ ", "\\displaystyle"):
        s = s.replace(token, "")
    s = s.replace("\\cdot", "*").replace("\\times", "*").replace("\\pi", " pi ").replace("{,}", "")
    s = _FRAC_DIGITS.sub(r"\\frac{\1}{\2}", s)
    for _ in range(8):  # innermost first: each pass removes braces that hold no braces
        t = _SQRT_N.sub(r"((\2)**(1/(\1)))", s)
        t = _SQRT.sub(r"sqrt(\1)", t)
        t = _FRAC.sub(r"((\1)/(\2))", t)
        t = re.sub(r"\^\s*\{([^{}]*)\}", r"**(\1)", t)
        if t == s:
            break
        s = t
    s = re.sub(r"\^\s*(\d|pi)", r"**\1", s)
    if "{" in s or "}" in s or "\\" in s or "," in s or "**" + "*" in s:
        return None
    s = _IMPLICIT.sub("*", s.replace(" ", "")).replace(")(", ")*(")
    if _ALLOWED.sub("", s):
        return None
    return s or None


def _check(node: ast.AST) -> bool:
    if isinstance(node, ast.Expression):
        return _check(node.body)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow) and _check(node.left) and _check(node.right)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, ast.UAdd | ast.USub) and _check(node.operand)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "sqrt" and len(node.args) == 1 and not node.keywords and _check(node.args[0])
    if isinstance(node, ast.Name):
        return node.id in ("pi", "sqrt")
    return isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


def latex_value(latex: str) -> complex | None:
    """The value of a constant LaTeX answer, or None when it is not a simple constant."""
    expr = _to_python(latex)
    if expr is None:
        return None
    try:
        tree = ast.parse(expr, mode="eval")
        if not _check(tree):
            return None
        for node in ast.walk(tree):  # float arithmetic: a huge power overflows at once
            if isinstance(node, ast.Constant):
                node.value = float(node.value)
        value = eval(compile(tree, "<answer>", "eval"), {"__builtins__": {}}, {"sqrt": cmath.sqrt, "pi": math.pi})  # noqa: S307 - AST checked above
        return complex(value)
    except (SyntaxError, ZeroDivisionError, OverflowError, ValueError, TypeError, MemoryError):
        return None


def values_equal(x: complex, y: complex) -> bool:
    return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))
