"""Size limits on the package: no module in src over 300 lines, no function over 80.

A module that must stay over the limit for now is listed in EXEMPT with its reason; an
exemption that is no longer needed fails the test, so the list cannot go stale.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 80
EXEMPT = {
    # the toy generators of every arm; being split by its owners (the rebound and Picky arms)
    "tunesafe/data/toy.py": "module",
}


def oversized(root: Path) -> list[tuple[str, str, int]]:
    """(module path relative to root, "module" or the function's qualified name, lines) for
    every module over MAX_MODULE_LINES and every function over MAX_FUNCTION_LINES (from its
    ``def`` line to its last line, docstring included)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            found.append((rel, "module", n))
        stack = [(node, "") for node in ast.parse(text).body]
        while stack:
            node, prefix = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{node.name}"
                if not isinstance(node, ast.ClassDef) and (n := node.end_lineno - node.lineno + 1) > MAX_FUNCTION_LINES:
                    found.append((rel, name, n))
                stack += [(child, f"{name}.") for child in node.body]
    return found


def test_no_module_over_300_lines_and_no_function_over_80():
    over = [f"{path}: {what} has {n} lines" for path, what, n in oversized(SRC) if EXEMPT.get(path) != what]
    assert not over, "over the size limits (split by responsibility): " + "; ".join(over)


def test_every_exemption_is_still_needed():
    needed = {(path, what) for path, what, _ in oversized(SRC)}
    stale = [f"{path} ({what})" for path, what in EXEMPT.items() if (path, what) not in needed]
    assert not stale, f"exemptions no longer needed, remove them from EXEMPT: {stale}"


def test_the_check_finds_a_long_module_and_a_long_method(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))  # def line + 80 = 81 lines
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text(f"class C:\n    def f(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n")
    (tmp_path / "pkg" / "short.py").write_text(f"def g():\n{body[: body.rfind(chr(10))]}\n")  # 80 lines
    (tmp_path / "pkg" / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert sorted(oversized(tmp_path)) == [("pkg/big.py", "module", 301), ("pkg/long.py", "C.f", 81)]
