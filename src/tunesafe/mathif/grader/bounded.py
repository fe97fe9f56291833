"""MathIF official grader, part 3: sympy and Python arithmetic, bounded by the input's shape.

The official grader runs ``parse_expr`` and ``eval`` under signal alarms; here every string
first passes a shape check that bounds the work (see "Deterministic verdicts" in
:mod:`tunesafe.mathif.grader`), so no verdict depends on the clock.
"""

from __future__ import annotations

import ast
import functools
import io
import keyword
import operator
import re
import tokenize
from typing import Any

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
