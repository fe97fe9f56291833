r"""MathIF's RL rewards (tunesafe.mathif.rewards): hand-written completions, values by hand."""

from __future__ import annotations

import pytest

from tunesafe.errors import TunesafeError
from tunesafe.train.rewards import REWARD_MODULES, get_reward

CORRECT = [
    # (response, reference, reward): the answer after </think> is what counts
    ("<think>\n3 + 4 = 7\n</think>\n\nThe answer is \\boxed{7}.", "7", 1.0),
    ("<think>\n3 + 4 = 7\n</think>\n\nThe answer is \\boxed{8}.", "7", 0.0),
    # the thinking says 7 but the answer is wrong: 0 (only the text after </think> is judged)
    ("<think>\nso \\boxed{7}\n</think>\n\nThe answer is \\boxed{6}.", "7", 0.0),
    # the box is only in the thinking; the answer "6" is judged: 0
    ("<think>\\boxed{7}</think>\n\nThe answer is 6.", "7", 0.0),
    # a bare answer after the thinking: correct; judged with the thinking in front, the
    # grader would cut after the thinking's last "=" and read "7 </think> 7"
    ("<think>\n3 + 4 = 7\n</think>\n\n7", "7", 1.0),
    # no thinking at all: the whole response is the answer
    ("The answer is \\boxed{\\frac{1}{2}}", "0.5", 1.0),
    # the last box counts
    ("<think>x</think> \\boxed{7} no, \\boxed{9}", "9", 1.0),
    ("<think>x</think> \\boxed{7} no, \\boxed{9}", "7", 0.0),
    # no reference: nothing to be right about
    ("<think>x</think> \\boxed{7}", None, 0.0),
]

FORMAT = [
    ("<think>\nsteps\n</think>\n\nThe answer is \\boxed{7}.", 1.0),
    ("  \n<think>steps</think>\\boxed{x+1}", 1.0),          # leading whitespace is allowed
    ("<think>steps</think> The answer is 7.", 0.0),          # no box
    ("<think>steps</think> \\boxed{ }", 0.0),                # empty box
    ("<think>steps \\boxed{7}", 0.0),                        # never closed; the box is inside
    ("steps</think> \\boxed{7}", 0.0),                       # never opened
    ("Sure. <think>steps</think> \\boxed{7}", 0.0),          # text before <think>
    ("<think>a</think><think>b</think> \\boxed{7}", 0.0),    # two thinking blocks
    ("<think>a</think> \\boxed{7} </think>", 0.0),           # a second </think>
    ("<think>a \\boxed{7}</think> done", 0.0),               # the box only in the thinking
    ("<THINK>a</THINK> \\BOXED{7}", 0.0),                    # tags and box are case-sensitive
]


@pytest.mark.parametrize(("response", "reference", "expected"), CORRECT)
def test_correctness_reward(response, reference, expected):
    assert get_reward("mathif_correct")(response, reference) == expected


@pytest.mark.parametrize(("response", "expected"), FORMAT)
def test_format_reward(response, expected):
    assert get_reward("think_format")(response, None) == expected


def test_unknown_reward_names_the_closest():
    with pytest.raises(TunesafeError, match=r"unknown reward 'think_fromat'; did you mean 'think_format'"):
        get_reward("think_fromat")


def test_reward_modules_register_both():
    from tunesafe.train.rewards import REWARDS

    get_reward("mathif_correct")
    assert REWARD_MODULES == ["tunesafe.mathif.rewards"]
    assert {"mathif_correct", "think_format"} <= set(REWARDS.names())
