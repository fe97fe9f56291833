r"""The toy MathIF world: a generated benchmark in the real schema and reasoning SFT data.

**Toy MathIF** (:func:`toy_items`): one-digit arithmetic word problems (the toy GSM8K
templates, which the toy base model has seen) with 1, 2 or 3 constraints drawn from the
official 15 ids, with arguments, in the MathIF schema (``source, id, question, answer,
constraint_desc, constraint_name, constraint_args``). Two toy sources, ``toyadd`` (sums)
and ``toysub`` (differences), stand for MathIF's five; the descriptions are short toy
sentences (the toy model has 512 positions), not the official ones.

**Toy reasoning data** (:func:`reasoning_records`): the same kind of problems as chat
records whose assistant turn is ``<think> worked steps </think>`` then an answer sentence
with ``\\boxed{r}``. The thinking has 0-5 extra "check" steps, and the answer meets each
constraint with probability 0.6 whatever the thinking length: no rule ties following to
the thinking, so whether longer reasoning weakens instruction following (arXiv 2505.14810,
Sec. 4, Fig. 6) and whether budget forcing helps are measured, not built in. (An earlier
version lowered the probability from 0.9 to 0.3 with the thinking length; the budget sweep
then showed the paper's effect only because of that rule.) A share of the records (``wait_share``) repeat
the constraints at the end of the thinking (``Wait, <constraints>``), and those answers
meet every constraint with probability 0.9: the pattern the Table 6 intervention relies on.
An answer in capitals writes ``\BOXED{r}``: with ``\boxed`` it would not be all capitals, a
real conflict of MathIF's ``english_capital`` with the boxed-answer instruction.
Every generator is a pure function of ``(n, seed)``; no record holds anything harmful.
"""

from __future__ import annotations

import random
from typing import Any

from tunesafe.data.records import make_record
from tunesafe.data.toy import NAMES, OBJECTS
from tunesafe.mathif.data import COT

TOY_SOURCES = {"toyadd": "+", "toysub": "-"}
COUNT_NAMES = {1: "single", 2: "double", 3: "triple"}
END_PHRASES = ["Any other questions?", "Hope this helps.", "That is all."]
KEYWORDS = ["river", "garden", "music", "candle"]  # never in a toy problem or answer
FORBIDDEN = ["total", "answer", "has"]
FOLLOW = 0.6  # chance that an answer meets each constraint (records without "Wait,")

QUESTIONS = {
    "+": ["{n} has {a} {o}. {n} buys {b} more {o}. How many {o} does {n} have now?",
          "{n} finds {a} {o} in the morning and {b} {o} in the evening. How many {o} did {n} find?"],
    "-": ["{n} has {a} {o} and gives {b} of them away. How many {o} does {n} have left?"],
}


def _constraint(name: str, rng: random.Random) -> tuple[str, dict[str, Any] | None]:
    """(description, args) of one toy constraint."""
    if name == "punctuation:no_comma":
        return "Do not use any commas.", None
    if name == "startend:quotation":
        return "Wrap your answer in double quotes.", None
    if name == "change_case:english_lowercase":
        return "Write your answer in lowercase letters only.", None
    if name == "change_case:english_capital":
        return "Write your answer in capital letters only.", None
    if name == "startend:end_checker":
        phrase = rng.choice(END_PHRASES)
        return f'End your answer with "{phrase}"', {"end_phrase": phrase}
    if name == "keywords:existence":
        word = rng.choice(KEYWORDS)
        return f'Include the word "{word}".', {"keywords": [word]}
    if name == "keywords:forbidden_words":
        word = rng.choice(FORBIDDEN)
        return f'Do not use the word "{word}".', {"forbidden_words": [word]}
    if name == "detectable_format:number_highlighted_sections":
        k = rng.randint(1, 2)
        return f"Highlight at least {k} parts with *stars*.", {"num_highlights": k}
    if name == "length_constraint_checkers:number_words":
        k = rng.choice([20, 25])
        return f"Answer with less than {k} words.", {"num_words": k, "relation": "less than"}
    raise ValueError(name)


TOY_CONSTRAINTS = ["punctuation:no_comma", "startend:quotation", "change_case:english_lowercase",
                   "change_case:english_capital", "startend:end_checker", "keywords:existence",
                   "keywords:forbidden_words", "detectable_format:number_highlighted_sections",
                   "length_constraint_checkers:number_words"]
CONFLICTS = {frozenset({"change_case:english_lowercase", "change_case:english_capital"}),
             frozenset({"change_case:english_capital", "keywords:forbidden_words"})}


def _draw_constraints(k: int, rng: random.Random) -> list[str]:
    while True:
        names = sorted(rng.sample(TOY_CONSTRAINTS, k))
        if not any(c <= set(names) for c in CONFLICTS):
            return names


def _problem(op: str, rng: random.Random) -> tuple[str, dict[str, Any]]:
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    if op == "-" and a < b:
        a, b = b, a
    slots = dict(n=rng.choice(NAMES), o=rng.choice(OBJECTS), a=a, b=b, r=a + b if op == "+" else a - b, op=op)
    return rng.choice(QUESTIONS[op]).format(**slots), slots


def toy_items(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` toy MathIF items, split evenly over the two sources and 1/2/3 constraints, in
    file order (toyadd_single, toyadd_double, ..., toysub_triple); keys are file:line."""
    rng = random.Random(seed)
    groups = [(s, k) for s in TOY_SOURCES for k in COUNT_NAMES]
    items = []
    for g, (source, k) in enumerate(groups):
        size = n // len(groups) + (1 if g < n % len(groups) else 0)
        for line in range(1, size + 1):
            question, slots = _problem(TOY_SOURCES[source], rng)
            names = _draw_constraints(k, rng)
            descs, args = zip(*(_constraint(c, rng) for c in names), strict=True)
            stem = f"{source}_{COUNT_NAMES[k]}"
            items.append({"source": source, "id": f"{source}-{COUNT_NAMES[k]}-{line - 1}", "question": question,
                          "answer": str(slots["r"]), "constraint_desc": list(descs), "constraint_name": names,
                          "constraint_args": list(args), "key": f"{stem}:{line}", "subset": source,
                          "n_constraints": k})
    return items


def _thinking(slots: dict[str, Any], extra: int) -> str:
    s = slots
    steps = [f"{s['n']} starts with {s['a']} {s['o']}."]
    checks = [f"Let me check: {s['a']} {s['op']} {s['b']} is {s['r']}.", f"That is {s['r']} {s['o']}.",
              f"Check again: {s['r']} {s['o']}.", f"Yes, {s['a']} {s['op']} {s['b']} = {s['r']}.",
              f"The number is {s['r']}."]
    # the result comes last, right before </think>, so the answer can copy it from nearby
    return " ".join(steps + checks[:extra] + [f"So {s['a']} {s['op']} {s['b']} = {s['r']}."])


def _answer(slots: dict[str, Any], names: list[str], args: list[Any], follow: list[bool]) -> str:
    """The answer sentence, transformed for each constraint marked as followed."""
    s, on = slots, dict(zip(names, follow, strict=True))
    arg = dict(zip(names, args, strict=True))
    obj = f"{s['r']} {s['o']}"
    if on.get("detectable_format:number_highlighted_sections"):
        k = arg["detectable_format:number_highlighted_sections"]["num_highlights"]
        obj = f"*{s['r']}* *{s['o']}*" if k > 1 else f"*{s['r']}* {s['o']}"
    comma = "" if on.get("punctuation:no_comma") else ","
    noun = "result" if on.get("keywords:forbidden_words") else "answer"
    total = "" if on.get("keywords:forbidden_words") else " in total"
    verb = "got" if on.get("keywords:forbidden_words") else "has"
    text = f"The {noun} is \\boxed{{{s['r']}}}{comma} {s['n']} {verb} {obj}{total}."
    if on.get("keywords:existence"):
        text += f" Speaking of {arg['keywords:existence']['keywords'][0]}{comma} it is right."
    if on.get("length_constraint_checkers:number_words") is False:
        text += (f" I added the numbers step by step{comma} checked the sum twice{comma} and wrote it down"
                 f" with care{comma} because every small step of the work matters in the end.")
    if on.get("startend:end_checker"):
        text += " " + arg["startend:end_checker"]["end_phrase"]
    if on.get("change_case:english_lowercase"):
        text = text.lower()
    elif on.get("change_case:english_capital"):
        text = text.upper()  # \\BOXED too: all capitals and a boxed answer exclude each other
    if on.get("startend:quotation"):
        text = f'"{text}"'
    return text


def reasoning_records(n: int, seed: int, wait_share: float = 0.2) -> list[dict[str, Any]]:
    """``n`` chat records: toy MathIF prompt (the official user turn) -> thinking + answer."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        op = rng.choice(list(TOY_SOURCES.values()))
        question, slots = _problem(op, rng)
        k = rng.choice([0, 1, 1, 2, 2, 3])
        names = _draw_constraints(k, rng) if k else []
        descs, args = (list(x) for x in zip(*(_constraint(c, rng) for c in names), strict=True)) if k else ([], [])
        extra = rng.randint(0, 5)
        wait = k > 0 and rng.random() < wait_share
        p = 0.9 if wait else FOLLOW
        follow = [rng.random() < p for _ in names]
        thinking = _thinking(slots, extra)
        if wait:
            thinking += "\n\nWait, " + " ".join(descs)
        user = question + COT + " ".join(descs)
        assistant = f"<think>\n{thinking}\n</think>\n\n{_answer(slots, names, args, follow)}"
        out.append(make_record(f"mathif-reasoning-{i}", [{"role": "user", "content": user},
                                                          {"role": "assistant", "content": assistant}],
                               {"toy": True, "constraints": names, "follow": follow, "args": args,
                                "thinking_steps": extra, "wait": wait}))
    return out
