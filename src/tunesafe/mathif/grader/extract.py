"""MathIF official grader, part 1: the answer's extraction (PRIME ``match_answer``).

See :mod:`tunesafe.mathif.grader` for the semantics restated and why this is our own code.
"""

from __future__ import annotations

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
