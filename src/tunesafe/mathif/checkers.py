"""The 15 verifiable constraints of MathIF (arXiv 2505.14810, Sec. 3.1 and Table 1).

MathIF reuses 15 IFEval constraint types (length, lexical, format, affix). Each checker is a
pure function ``check(answer, **args) -> bool`` registered under the constraint id the data
uses (``constraint_name``); adding a constraint is one function plus one :func:`register`
call. The rules are pinned against the official evaluator (TingchenFu/MathIF,
``code/constraint_checker.py`` and ``code/eval_if.py``), read, not copied:

- the answer checked is the text after the thinking (:mod:`.scoring` removes it);
- an empty or whitespace-only answer fails every constraint (``response.strip() and ...``);
- falsy argument values are dropped before use (``{n: p for n, p in args.items() if p}``);
  a checker whose required argument is then missing is an error naming it (the official
  code would draw a random value instead; no MathIF item has a falsy argument);
- ``less than`` is ``<`` and ``at least`` is ``>=`` in every relation.

Differences from the official code, all without effect on the 420 MathIF items:

- keywords are matched literally (``re.escape``); the official code passes them to ``re`` as
  patterns, which is the same for the plain words the data holds;
- ``change_case:capital_word_frequency`` tokenizes with nltk's ``NLTKWordTokenizer`` (the
  Treebank word tokenizer that ``nltk.word_tokenize`` applies per sentence) on the whole
  text: ``word_tokenize`` first splits sentences with the punkt model, which needs a data
  download; the two differ only in how a sentence-final period is split off, which never
  turns a token into or out of an all-uppercase word;
- langdetect is made deterministic (``DetectorFactory.seed = 0``); the official code leaves
  it random, so its language checks can vary between runs on short texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.registry import Registry

LESS_THAN, AT_LEAST = "less than", "at least"


@dataclass(frozen=True)
class Checker:
    """One constraint: its id, its required and optional argument names, the check."""

    name: str
    check: Callable[..., bool]
    required: tuple[str, ...] = ()


CHECKERS: Registry[Checker] = Registry("MathIF constraint")


def register(name: str, *required: str) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Decorator: register ``check(answer, **args)`` as constraint ``name``."""

    def wrap(fn: Callable[..., bool]) -> Callable[..., bool]:
        CHECKERS.add(name, Checker(name, fn, tuple(required)))
        return fn

    return wrap


def get_checker(name: str) -> Checker:
    """The checker of constraint ``name``, or a one-line error naming it and the closest id."""
    return CHECKERS.get(str(name))


def check(name: str, answer: str, args: dict[str, Any] | None = None) -> bool:
    """Whether ``answer`` (the text after the thinking) meets constraint ``name`` with ``args``."""
    checker = get_checker(name)
    kwargs = {k: v for k, v in (args or {}).items() if v}  # falsy values dropped, as official
    missing = [k for k in checker.required if k not in kwargs]
    if missing:
        raise TunesafeError(f"constraint {name}: argument {missing[0]!r} is missing or empty (got {args!r})")
    if not answer.strip():
        return False
    try:
        return bool(checker.check(answer, **kwargs))
    except TypeError as e:
        raise TunesafeError(f"constraint {name}: bad arguments {args!r} ({e})") from None


def _compare(count: int, threshold: Any, relation: str, name: str) -> bool:
    if relation == LESS_THAN:
        return count < int(threshold)
    if relation == AT_LEAST:
        return count >= int(threshold)
    raise TunesafeError(f"constraint {name}: relation {relation!r} is not {LESS_THAN!r} or {AT_LEAST!r}")


# --- language (langdetect, deterministic) ------------------------------------------------

def detect_language(text: str) -> str | None:
    """langdetect's top language code, or None when it cannot decide (no letters, ...)."""
    import langdetect
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0
    try:
        return langdetect.detect(text)
    except langdetect.LangDetectException:
        return None


@register("language:response_language", "language")
def response_language(answer: str, language: str) -> bool:
    """langdetect's language equals ``language``; undecidable text passes (official)."""
    found = detect_language(answer)
    return found is None or found == language


# --- length ------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


@register("length_constraint_checkers:number_words", "num_words", "relation")
def number_words(answer: str, num_words: int, relation: str) -> bool:
    """Number of ``\\w+`` tokens (nltk's RegexpTokenizer(r"\\w+") in the official code)."""
    return _compare(len(_WORD.findall(answer)), num_words, relation, "number_words")


# --- keywords ----------------------------------------------------------------------------

@register("keywords:existence", "keywords")
def keyword_existence(answer: str, keywords: list[str]) -> bool:
    """Every keyword occurs, case-insensitive, as a substring (no word boundary)."""
    return all(re.search(re.escape(k), answer, flags=re.IGNORECASE) for k in keywords)


@register("keywords:frequency", "keyword", "frequency", "relation")
def keyword_frequency(answer: str, keyword: str, frequency: int, relation: str) -> bool:
    """Case-insensitive, non-overlapping substring count of the stripped keyword."""
    count = len(re.findall(re.escape(keyword.strip()), answer, flags=re.IGNORECASE))
    return _compare(count, frequency, relation, "keywords:frequency")


@register("keywords:forbidden_words", "forbidden_words")
def forbidden_words(answer: str, forbidden_words: list[str]) -> bool:
    """No forbidden word occurs as a whole word (``\\b...\\b``), case-insensitive."""
    return not any(re.search(r"\b" + re.escape(w) + r"\b", answer, flags=re.IGNORECASE)
                   for w in set(forbidden_words))


# --- format ------------------------------------------------------------------------------

_STAR_BULLET = re.compile(r"^\s*\*[^\*].*$", flags=re.MULTILINE)
_DASH_BULLET = re.compile(r"^\s*-.*$", flags=re.MULTILINE)


@register("detectable_format:number_bullet_lists", "num_bullets")
def number_bullet_lists(answer: str, num_bullets: int) -> bool:
    """Lines starting with ``*`` then a non-``*`` character, plus lines starting with ``-``
    (leading whitespace allowed; ``\\s*`` may span blank lines), equal ``num_bullets``."""
    n = len(_STAR_BULLET.findall(answer)) + len(_DASH_BULLET.findall(answer))
    return n == int(num_bullets)


_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_DOUBLE_HIGHLIGHT = re.compile(r"\*\*[^\n\*]*\*\*")


@register("detectable_format:number_highlighted_sections", "num_highlights")
def number_highlighted_sections(answer: str, num_highlights: int) -> bool:
    """Non-blank ``*...*`` spans plus non-blank ``**...**`` spans, at least ``num_highlights``
    (``**bold**`` counts once: the single-star pattern only finds its two blank ``**``)."""
    n = sum(1 for h in _HIGHLIGHT.findall(answer) if h.strip("*").strip())
    n += sum(1 for h in _DOUBLE_HIGHLIGHT.findall(answer) if h[2:-2].strip())
    return n >= int(num_highlights)


@register("detectable_format:multiple_sections", "section_spliter", "num_sections")
def multiple_sections(answer: str, section_spliter: str, num_sections: int) -> bool:
    """Split on ``\\s?<splitter>\\s?\\d+\\s?`` (splitter stripped, used as a pattern as in the
    official code); the number of pieces minus one is at least ``num_sections``."""
    pattern = r"\s?" + section_spliter.strip() + r"\s?\d+\s?"
    return len(re.split(pattern, answer)) - 1 >= int(num_sections)


# --- case --------------------------------------------------------------------------------

@register("change_case:english_capital")
def english_capital(answer: str) -> bool:
    """``str.isupper()`` and langdetect says English (undecidable passes)."""
    if not answer.isupper():
        return False
    found = detect_language(answer)
    return found is None or found == "en"


@register("change_case:english_lowercase")
def english_lowercase(answer: str) -> bool:
    """``str.islower()`` and langdetect says English (undecidable passes)."""
    if not answer.islower():
        return False
    found = detect_language(answer)
    return found is None or found == "en"


_WORD_TOKENIZER = None


def word_tokens(text: str) -> list[str]:
    """Treebank word tokens (nltk's NLTKWordTokenizer; no punkt data needed)."""
    global _WORD_TOKENIZER
    if _WORD_TOKENIZER is None:
        from nltk.tokenize import NLTKWordTokenizer

        _WORD_TOKENIZER = NLTKWordTokenizer()
    return _WORD_TOKENIZER.tokenize(text)


@register("change_case:capital_word_frequency", "capital_frequency", "capital_relation")
def capital_word_frequency(answer: str, capital_frequency: int, capital_relation: str) -> bool:
    """Number of tokens with ``str.isupper()`` (``"A"``, ``"NASA"``, ``"X2"``), < or >=."""
    count = sum(1 for w in word_tokens(answer) if w.isupper())
    return _compare(count, capital_frequency, capital_relation, "capital_word_frequency")


# --- punctuation, combination, affixes -----------------------------------------------------

@register("punctuation:no_comma")
def no_comma(answer: str) -> bool:
    """No ASCII comma ``,`` at all (a full-width ``，`` is not one)."""
    return "," not in answer


@register("combination:repeat_prompt", "prompt_to_repeat")
def repeat_prompt(answer: str, prompt_to_repeat: str) -> bool:
    """The stripped, lower-cased answer starts with the stripped, lower-cased prompt."""
    return answer.strip().lower().startswith(prompt_to_repeat.strip().lower())


@register("startend:end_checker", "end_phrase")
def end_checker(answer: str, end_phrase: str) -> bool:
    """The answer, stripped of whitespace and then of surrounding ``"``, lower-cased, ends
    with the stripped, lower-cased phrase."""
    return answer.strip().strip('"').lower().endswith(end_phrase.strip().lower())


@register("startend:quotation")
def quotation(answer: str) -> bool:
    """The stripped answer is longer than one character and starts and ends with ``"``."""
    s = answer.strip()
    return len(s) > 1 and s[0] == '"' and s[-1] == '"'
