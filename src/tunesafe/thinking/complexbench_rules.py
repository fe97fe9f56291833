"""ComplexBench rule checks, restated from the official ``evaluation/con_rule.py`` and
``rule_based_evaluation.py`` (thu-coai/ComplexBench), for the kinds listed in :data:`KINDS`.

Own code because the semantics are the official scorer's and no package ships them. A rule
question is checked on what an LLM extractor returned for it (:func:`extracted_parts`):
``all`` (the whole answer), ``None`` (nothing) or parts joined by ``||``. The kinds restated
(each as the official code treats it, quirks included: ASCII punctuation in a keyword is
mapped to its full-width form before matching; a length counts characters or
whitespace-separated words, either of the part or of the part without surrounding quotes):

- ``model_length``, ``model_length_word``, ``model_keyword``, ``model_forbidden_word``,
  ``model_startswith``, ``model_endswith``: on the first extracted part;
- ``keyword``, ``forbidden_word``, ``startswith``, ``endswith``, ``length``, ``length_word``,
  ``match``: on the first part (or ""), as is or without surrounding quotes.

Any other kind (``*_each``, counted keywords, JSON, punctuation sets, combined rules) gives
``None``: unscored, counted by the caller, never guessed.
"""

from __future__ import annotations

import ast
import string

# official extract_and_replace_punctuation_zh: ASCII punctuation -> these, position by position
_FULL = ("！\"＃＄％＆'（）＊+，-。/：；<=>？@[＼]＾_`{|}~")
_TO_FULL = str.maketrans(string.punctuation, _FULL)
KINDS = ("model_length", "model_length_word", "model_keyword", "model_forbidden_word", "model_startswith",
         "model_endswith", "keyword", "forbidden_word", "startswith", "endswith", "length", "length_word", "match")
_EXTRACT_MARK = "【模型回复中评分问题的评测对象】\n"


def full_width(text: str) -> str:
    return text.translate(_TO_FULL).replace("“", '"').replace("”", '"')


def unquote(text: str) -> str:
    """The official ``decom``: leading newlines dropped, one pair of surrounding quotes removed."""
    text = text.lstrip("\n")
    if len(text) >= 2 and text[0] in "\"“`" and text[-1] in "\"”`":
        return text[1:-1]
    return text


def extracted_parts(answer: str, extraction: str) -> list[str]:
    """The parts of ``answer`` a rule is checked on, from the extractor's reply (official
    ``preprocess``)."""
    if _EXTRACT_MARK in extraction:
        extraction = extraction.rsplit(_EXTRACT_MARK, 1)[1]
    for note in ("\n\n请注意", "\n\n**注意", "\n\n注意"):
        extraction = extraction.rsplit(note, 1)[0]
    for marker in ("评分对象：", "评测对象：", "："):
        if marker in extraction:
            extraction = extraction.rsplit(marker, 1)[1]
            break
    if extraction.startswith("all"):
        return [answer]
    if "None" in extraction:
        return []
    return [p.strip() for p in extraction.split("||")]


def _list(arg: str) -> list[str]:
    return [x.strip() for x in arg.strip().strip("[]").split(",")]


def _span(arg: str) -> tuple[int, int]:
    low, high = ast.literal_eval(arg.strip())
    return int(low), int(high)


def _starts(text: str, head: str) -> bool:
    head = full_width(head)
    return any(text.startswith(head + end) for end in ("", "。", "？"))


def _ends(text: str, tail: str) -> bool:
    tail = full_width(tail)
    return any(text.endswith(tail + end) for end in ("", "。", "？"))


def _plain(kind: str, arg: str, text: str) -> bool:
    """The official ``rule`` for one kind on one text."""
    empty = text == "" or "None" in text
    if kind == "forbidden_word":
        return empty or not any(full_width(w) in full_width(text) for w in _list(arg))
    if empty:
        return False
    text = full_width(text)
    if kind == "keyword":
        return all(full_width(w) in text for w in _list(arg))
    if kind == "match":
        return text in (arg, arg + "。", arg + ".")
    if kind == "startswith":
        return _starts(text, arg)
    if kind == "endswith":
        return _ends(text, arg)
    low, high = _span(arg)
    size = len(text.split()) if kind == "length_word" else len(text)
    return low <= size <= high


def check(rule: str, parts: list[str]) -> bool | None:
    """Verdict of ``rule`` (``kind:argument``) on the extracted ``parts``; None for a kind not
    restated here."""
    kind, sep, arg = rule.partition(":")
    if not sep or kind not in KINDS or "\n" in arg:
        return None
    nothing = not parts or parts == [""]
    if kind == "model_forbidden_word":
        return nothing or not any(full_width(w) in parts[0] for w in _list(arg))
    if kind.startswith("model_") and nothing:
        return False
    first = parts[0] if parts else ""
    if kind in ("model_length", "model_length_word"):
        low, high = _span(arg)
        sizes = [len(t.split()) if kind == "model_length_word" else len(t) for t in (first, unquote(first))]
        return any(low <= n <= high for n in sizes)
    if kind == "model_keyword":
        return all(full_width(w) in first for w in _list(arg))
    if kind == "model_startswith":
        return _starts(full_width(first), arg)
    if kind == "model_endswith":
        return _ends(full_width(first), arg)
    if not parts:
        return _plain(kind, arg, "")
    return _plain(kind, arg, unquote(first)) or _plain(kind, arg, first)
