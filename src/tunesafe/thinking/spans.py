"""Constraint spans of real IFEval prompts: the set C of the constraint attention (Sec. 5).

When Thinking Fails (arXiv 2505.11423, Sec. 5) measures attention on the constraint tokens
of each prompt but does not say, in what we could read, how they were found. This module is
**our choice**: a sentence of the prompt belongs to C when it states one of the item's
instructions, found from the item itself (``instruction_id_list`` and ``kwargs``):

1. the sentences that contain one of the instruction's string kwarg values (a keyword, a
   forbidden word, the end phrase, the postscript marker, ...) or one of its numbers (the
   word count, the number of bullets, ...), as a whole word;
2. failing that, the last sentence that contains a cue phrase of the instruction type
   (:data:`CUES`: "comma" for ``punctuation:no_comma``, "lowercase" for
   ``change_case:english_lowercase``, ...); the last, since IFEval states the task first and
   the constraints after it.

``prompt_to_repeat`` (the request itself) and ``language`` (an ISO code) are not searched for.
Sentences are split at ``.``, ``!``, ``?`` followed by whitespace, and at line breaks. An
instruction found nowhere adds nothing; the spans of an item are its sentences' character
ranges, sorted, each once (the toy IFEval records exact spans instead; see :mod:`.toy`).
"""

from __future__ import annotations

import re
from typing import Any

# per IFEval instruction type, lower-case phrases that name it in a prompt (our choice)
CUES: dict[str, tuple[str, ...]] = {
    "change_case:capital_word_frequency": ("capital",),
    "change_case:english_capital": ("capital", "uppercase", "upper case"),
    "change_case:english_lowercase": ("lowercase", "lower case"),
    "combination:repeat_prompt": ("repeat",),
    "combination:two_responses": ("two different responses", "two responses", "******"),
    "detectable_content:number_placeholders": ("placeholder",),
    "detectable_content:postscript": ("postscript", "p.s."),
    "detectable_format:constrained_response": ("my answer is",),
    "detectable_format:json_format": ("json",),
    "detectable_format:multiple_sections": ("section",),
    "detectable_format:number_bullet_lists": ("bullet",),
    "detectable_format:number_highlighted_sections": ("highlight",),
    "detectable_format:title": ("title",),
    "keywords:existence": ("keyword", "include"),
    "keywords:forbidden_words": ("do not include", "not use", "avoid", "without"),
    "keywords:frequency": ("times", "at least", "less than"),
    "keywords:letter_frequency": ("letter",),
    "language:response_language": ("language",),
    "length_constraints:nth_paragraph_first_word": ("paragraph",),
    "length_constraints:number_paragraphs": ("paragraph",),
    "length_constraints:number_sentences": ("sentence",),
    "length_constraints:number_words": ("word",),
    "punctuation:no_comma": ("comma",),
    "startend:end_checker": ("end your", "finish your", "end with"),
    "startend:quotation": ("quotation", "double quote"),
}
NOT_SEARCHED = {"prompt_to_repeat", "language"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text`` (stripped, non-empty)."""
    out, start = [], 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append((start + lead, start + len(piece.rstrip())))
        start = m.end() if m else len(text)
    return out


def _values(kwargs: dict[str, Any]) -> list[str]:
    """The kwarg values searched for: strings and numbers (lists flattened), except
    :data:`NOT_SEARCHED`."""
    out: list[str] = []
    for key, value in kwargs.items():
        if key in NOT_SEARCHED or value is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, bool):
                continue
            if isinstance(v, (int, float, str)) and str(v).strip():
                out.append(str(v).strip())
    return out


def _has(sentence: str, needle: str) -> bool:
    """``needle`` in ``sentence``, case-insensitive, as a whole word where it starts/ends
    with a word character."""
    left = r"\b" if needle[:1].isalnum() else ""
    right = r"\b" if needle[-1:].isalnum() else ""
    return re.search(left + re.escape(needle.lower()) + right, sentence.lower()) is not None


def constraint_spans(item: dict[str, Any]) -> list[list[int]]:
    """Sorted ``[start, end]`` character spans of ``item["prompt"]`` stating its instructions."""
    prompt = item["prompt"]
    ranges = sentences(prompt)
    found: set[tuple[int, int]] = set()
    for name, kwargs in zip(item["instruction_id_list"], item["kwargs"], strict=True):
        values = _values(kwargs or {})
        hits = [r for r in ranges if any(_has(prompt[r[0]:r[1]], v) for v in values)]
        if not hits:
            cued = [r for r in ranges if any(_has(prompt[r[0]:r[1]], c) for c in CUES.get(name, ()))]
            hits = cued[-1:]
        found.update(hits)
    return [list(r) for r in sorted(found)]


def with_spans(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items with ``constraint_spans`` (located as above) where they have none."""
    return [item if "constraint_spans" in item else {**item, "constraint_spans": constraint_spans(item)}
            for item in items]
