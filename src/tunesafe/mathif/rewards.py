r"""MathIF's rewards for reasoning-oriented RL (arXiv 2505.14810, Sec. 4, training paradigms).

The paper trains reasoning models with RL on math problems and a rule-based reward, with
and without a format reward; these are the two rewards, registered in
:data:`tunesafe.train.rewards.REWARDS`:

- ``mathif_correct``: 1.0 when the answer is correct as the official MathIF evaluation
  judges it, else 0.0. The answer is the text after the thinking, cut as the official
  ``code/eval_if.py`` cuts it (:func:`tunesafe.mathif.scoring.split_thinking`), judged by
  the restated official grader (:func:`tunesafe.mathif.grader.is_correct`, PRIME's
  ``compute_score``). So the reward and the MathIF "correctness" column are one judgement.
- ``think_format``: 1.0 when the response has the reasoning-model format, else 0.0. The
  paper names a format reward but prints no rule we could read; the rule here is **our
  choice**, the R1-style one: after leading whitespace the response starts with
  ``<think>``, has exactly one ``<think>`` and exactly one ``</think>`` after it, and the
  text after ``</think>`` holds a ``\boxed{...}`` (or ``\fbox{...}``, as the grader reads
  boxes) with something other than whitespace in it. Nothing else is required: the answer text is free, so the format reward never
  pays for or against a MathIF constraint.

Our own code because these rules are the paper's (its grader) or ours, and no package
holds them.
"""

from __future__ import annotations

from typing import Any

from tunesafe.mathif.grader import is_correct
from tunesafe.mathif.grader.extract import last_boxed
from tunesafe.mathif.scoring import THINK_CLOSE, THINK_OPEN, split_thinking
from tunesafe.train.rewards import register


@register("mathif_correct")
def correctness_reward(response: str, reference: Any) -> float:
    """1.0 when the text after the thinking is correct for ``reference`` (official grader)."""
    if reference is None:
        return 0.0
    _, answer = split_thinking(response)
    return 1.0 if is_correct(answer, reference) else 0.0


@register("think_format")
def format_reward(response: str, reference: Any = None) -> float:
    r"""1.0 for ``<think>`` ... ``</think>`` then a non-empty ``\boxed{}`` (our rule, see above)."""
    text = response.lstrip()
    if not text.startswith(THINK_OPEN) or text.count(THINK_OPEN) != 1 or text.count(THINK_CLOSE) != 1:
        return 0.0
    after = text.split(THINK_CLOSE, 1)[1]
    boxed = last_boxed(after)
    return 1.0 if boxed is not None and boxed.strip() else 0.0
