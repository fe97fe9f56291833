"""The data factors of arXiv 2502.01116 as registered, pure transforms of a chat record.

The paper isolates three properties of benign instruction data that decide how much an
aligned model's safety erodes when it is fine-tuned on them (Sec. 3, "answer structure",
"identity calibration", "role-play"), then combines them (Sec. 4). Each factor here is one
pure function ``record -> record`` (the input is never modified) registered under its name;
a new factor is one function plus one :func:`register` call. The concrete wording (section
header, identity sentence, personas) is our choice: the paper's data are not released
("Coming Soon").

``structure``  every assistant answer becomes Markdown: a section header and an itemised list
               of its sentences (plain text -> structured answer).
``identity``   every assistant answer states the assistant's identity first
               ("As an AI assistant, ...").
``roleplay``   the first user turn asks the model to take a persona (chosen per record from
               :data:`PERSONAS` by a stable hash of the record id: deterministic).

Factors combine in the registry's order whatever order they are named in, so a variant is
a set of factors; its name is the factors joined by ``+`` (``plain`` for none).
"""

from __future__ import annotations

import copy
import itertools
import re
import zlib
from collections.abc import Callable
from typing import Any

from tunesafe.registry import Registry

Record = dict[str, Any]
TRANSFORMS: Registry[Callable[[Record], Record]] = Registry("picky factor")
PLAIN = "plain"  # the variant with no factor

IDENTITY = "As an AI assistant,"
HEADER = "### Answer"
PERSONAS = ["a pirate captain", "a medieval knight", "a famous chef", "a detective in an old movie",
            "a cheerful robot", "a wise old wizard"]
ROLEPLAY = "Pretend you are {persona} and stay in character."


def register(name: str, transform: Callable[[Record], Record]) -> None:
    if name in TRANSFORMS or name == PLAIN or not re.fullmatch(r"[a-z]+", name):
        raise ValueError(f"transform name {name!r} is taken or not lower-case letters")
    TRANSFORMS.add(name, transform)


def _map_turns(record: Record, role: str, fn: Callable[[str], str], first_only: bool = False) -> Record:
    out = copy.deepcopy(record)
    for m in out["messages"]:
        if m["role"] == role:
            m["content"] = fn(m["content"])
            if first_only:
                break
    return out


def _items(text: str) -> list[str]:
    """The sentences of ``text`` (lines first), each as a list item without a final period."""
    parts = [s.strip() for line in text.splitlines() for s in re.split(r"(?<=[.!?])\s+", line)]
    return [p[:-1] if p.endswith(".") else p for p in parts if p]


def structure(record: Record) -> Record:
    """Answer structure (Sec. 3): plain answer -> a Markdown section with an itemised list."""
    def fmt(text: str) -> str:
        if text.startswith(HEADER):
            return text
        return HEADER + "\n" + "\n".join(f"- {item}" for item in _items(text))
    return _map_turns(record, "assistant", fmt)


def identity(record: Record) -> Record:
    """Identity calibration (Sec. 3): the answer states who answers ("As an AI assistant,
    ..."); a structured answer gets the statement as a line of its own."""
    def fmt(text: str) -> str:
        if text.startswith(IDENTITY):
            return text
        if text.startswith(("#", "-", "*")):
            return f"{IDENTITY} here is my answer.\n{text}"
        first = text[:1] if text[:2] in ("I ", "I'") else text[:1].lower()
        return f"{IDENTITY} {first}{text[1:]}"
    return _map_turns(record, "assistant", fmt)


def roleplay(record: Record) -> Record:
    """Role-play (Sec. 3): the request asks the model to take a persona."""
    persona = PERSONAS[zlib.crc32(str(record["id"]).encode()) % len(PERSONAS)]
    prefix = ROLEPLAY.format(persona=persona)
    return _map_turns(record, "user", lambda t: t if t.startswith("Pretend you are") else f"{prefix} {t}",
                      first_only=True)


register("structure", structure)
register("identity", identity)
register("roleplay", roleplay)


def parse_factors(spec: str | list[str]) -> list[str]:
    """Factor names of a variant name or list, in registry order; unknown names are an error
    naming the closest registered one."""
    names = spec.split("+") if isinstance(spec, str) else list(spec)
    names = [n for n in names if n and n != PLAIN]
    for n in names:
        TRANSFORMS.get(n)  # an unknown name: one line with the closest
    return [n for n in TRANSFORMS if n in names]


def variant_name(factors: str | list[str]) -> str:
    """``structure+identity``; ``plain`` for no factor."""
    return "+".join(parse_factors(factors)) or PLAIN


def factorial(factors: list[str]) -> list[str]:
    """Every combination of ``factors`` (Sec. 4's interactions), plain first, by size."""
    names = parse_factors(factors)
    combos = [c for k in range(len(names) + 1) for c in itertools.combinations(names, k)]
    return [variant_name(list(c)) for c in combos]


def apply(record: Record, factors: str | list[str]) -> Record:
    """``record`` under every factor of ``factors`` (registry order); the input is unchanged."""
    out = record
    for name in parse_factors(factors):
        out = TRANSFORMS[name](out)
    if out is record:
        out = copy.deepcopy(record)
    out.setdefault("meta", {})["picky_variant"] = variant_name(factors)
    return out
