"""Budget forcing: cap the thinking at N tokens, close it, let the model answer.

MathIF (arXiv 2505.14810) controls the chain-of-thought length beside the "repeat the
constraints" intervention (Table 6): the thinking is stopped at a token budget, the closing
tag (``</think>``) is appended, and the model continues with its answer. The procedure is
the one of s1 (arXiv 2501.19393, Sec. 3.1, "budget forcing", its capping half).

Both engines run it the same way through :meth:`Engine.generate`'s ``prefixes``:

1. generate at most ``budget`` new tokens (the thinking part of the response);
2. :func:`forced_prefix` turns each first-pass text into the start of the answer turn: up to
   and including the closing tag when the model closed its thinking itself (the rest is
   generated again in pass 2, so a response that ended inside the budget is finished the
   same way as one that did not), else the whole text plus the closing tag;
3. continue every prefix with at most ``max_new_tokens - budget`` further tokens.

The response is prefix + continuation. The rule is paper semantics (a cut at a token count
and a literal tag), which no field package implements, hence our own code; it is engine
independent, so the hf and vllm engines stay thin.
"""

from __future__ import annotations

import dataclasses

from tunesafe.errors import TunesafeError
from tunesafe.generation import Engine, SamplingSettings

THINK_END = "</think>"


def forced_prefix(first_pass: str, close: str = THINK_END) -> str:
    """The answer turn's start after a first pass capped at the budget (see module doc)."""
    cut = first_pass.find(close)
    if cut >= 0:
        return first_pass[:cut + len(close)] + "\n\n"
    return first_pass.rstrip() + "\n" + close + "\n\n"


def check_budget(budget: int, sampling: SamplingSettings) -> None:
    if not 1 <= budget < sampling.max_new_tokens:
        raise TunesafeError(f"thinking budget {budget}: expected 1 <= budget < max_new_tokens "
                            f"({sampling.max_new_tokens}), so that the answer has tokens left")


def budget_forced(engine: Engine, prompts: list[list[dict[str, str]]], sampling: SamplingSettings,
                  budget: int, close: str = THINK_END) -> list[str]:
    """Responses whose thinking is cut at ``budget`` new tokens and closed with ``close``."""
    check_budget(budget, sampling)
    first = engine.generate(prompts, dataclasses.replace(sampling, max_new_tokens=budget))
    prefixes = [forced_prefix(text, close) for text in first]
    rest = dataclasses.replace(sampling, max_new_tokens=sampling.max_new_tokens - budget)
    answers = engine.generate(prompts, rest, prefixes=prefixes)
    return [p + a for p, a in zip(prefixes, answers, strict=True)]
