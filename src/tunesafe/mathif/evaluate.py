"""MathIF evaluation of a responses file (arXiv 2505.14810, Sec. 3.2): HAcc, SAcc, correctness.

The 15 constraint checkers are :mod:`.checkers`, the per-item scores :mod:`.scoring`.
``tunesafe evaluate mathif --data D.jsonl --responses R.jsonl --out O.json`` scores one
response per MathIF item (R in D's order, ``{"response": str}`` per line; a generations
file fits) and writes ``{"hacc", "sacc", "correct", "n", ..., "items": [...]}`` with, per
item in D's order, ``key``, ``subset``, ``n_constraints``, ``follow`` (one bool per
constraint), ``hard``, ``soft``, ``correct`` and ``thinking_tokens``; ``correctness`` names
the judge of ``correct`` (``--correctness``: ``official``, the default, is the official
evaluator's grader; ``math_verify`` the math-verify judge, see :mod:`.scoring`).
"""

from __future__ import annotations

import os
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.mathif.scoring import JUDGES, score_item, summarise, word_count


def token_counter(tokenizer: str | None):
    """Thinking length counter: tokens of ``tokenizer`` (a model directory or hub id), else words."""
    if not tokenizer:
        return word_count, "words"
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(tokenizer)
    except Exception as e:  # noqa: BLE001 - one line naming the tokenizer
        raise TunesafeError(f"--tokenizer {tokenizer}: cannot load ({type(e).__name__}: {e})") from None
    return (lambda text: len(tok(text, add_special_tokens=False)["input_ids"]) if text else 0), "tokens"


def evaluate(data: str | os.PathLike, responses: str | os.PathLike, out: str | os.PathLike | None = None,
             tokenizer: str | None = None, setting: str | None = None,
             correctness: str = "official") -> dict[str, Any]:
    """Score the responses to the MathIF items in ``data``; write ``out`` when given.
    ``correctness`` is the judge of "correct" (a key of :data:`JUDGES`)."""
    from tunesafe.evaluation.registry import read_generations
    from tunesafe.io import write_json
    from tunesafe.mathif.data import load_mathif

    if correctness not in JUDGES:
        raise TunesafeError(f"--correctness {correctness!r}: expected one of {', '.join(JUDGES)}")
    items = load_mathif(data)
    rows, lines = read_generations(responses)
    if len(rows) != len(items):
        raise TunesafeError(f"{responses}: {len(rows)} responses for {len(items)} MathIF items in {data} (expected one line per item, in order)")
    count, unit = token_counter(tokenizer)
    scored = []
    for item, row, line in zip(items, rows, lines, strict=True):
        response = row.get("response")
        if not isinstance(response, str):
            raise TunesafeError(f"{responses}:{line}: expected a string 'response'")
        s = score_item(item, response, count, correctness)
        scored.append({"key": item["key"], "subset": item["subset"], "n_constraints": item["n_constraints"], **s})
    result = {**summarise(scored), "setting": setting, "correctness": correctness, "thinking_unit": unit,
              "items": scored}
    if out is not None:
        write_json(out, result)
    return result
