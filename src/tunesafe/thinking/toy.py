"""The toy IFEval of the When Thinking Fails arm (arXiv 2505.11423) and its SFT data.

**Toy IFEval** (:func:`toy_items`): the toy world's how-to requests (``tunesafe.data.toy``
``BENIGN_TASKS``, which the toy base model was trained on) with 1-3 constraints, in the
real ``google/IFEval`` schema (``key``, ``prompt``, ``instruction_id_list``, ``kwargs``
with every kwarg field present and ``None`` where unused). The constraint types are IFEval
ids that lm-evaluation-harness checks without NLTK data (no sentence tokenizer), and every
item also records ``constraint_spans``: the character span of each constraint sentence in
the prompt, the token set C of the paper's constraint attention (Sec. 5) without an
extractor model. The sentences are short toy wordings (the toy model has 512 positions).

**SFT data** (:func:`sft_records`): toy IFEval prompts answered directly, or (half of the
records, our choice) after a ``<think>`` plan of the task's steps, both answers meeting
every constraint as lm-eval checks it (all capitals can fail lm-eval's language check,
``langdetect`` on upper-case text: a real property of the checker, kept). The plan talks about the content only, as reasoning traces mostly do;
nothing in the data makes the thinking answers worse: whether CoT helps or hurts the toy
model comes out of training. Every generator is a pure function of ``(n, seed)``.
"""

from __future__ import annotations

import random
from typing import Any

from tunesafe.data.records import make_record
from tunesafe.data.toy import BENIGN_TASKS, BENIGN_TEMPLATES

# every kwarg field of google/IFEval's rows (absent ones are None there)
KWARG_FIELDS = ["num_highlights", "relation", "num_words", "num_placeholders", "prompt_to_repeat",
                "num_paragraphs", "num_sentences", "num_bullets", "section_spliter", "num_sections",
                "capital_relation", "capital_frequency", "keywords", "language", "let_relation",
                "letter", "let_frequency", "end_phrase", "forbidden_words", "keyword", "frequency",
                "nth_paragraph", "first_word", "postscript_marker"]
END_PHRASES = ["Is there anything else I can help with?", "Have a nice day.", "That is all."]
KEYWORDS = ["river", "music", "candle", "window"]
FORBIDDEN = ["first", "then", "finally"]
SYNONYMS = {"first": "to start", "then": "next", "finally": "at last"}
FILLER = "Take your time and enjoy every small part of the work."
TOY_TYPES = ["punctuation:no_comma", "change_case:english_lowercase", "change_case:english_capital",
             "startend:quotation", "startend:end_checker", "keywords:existence", "keywords:forbidden_words",
             "detectable_format:number_highlighted_sections", "length_constraints:number_words",
             "detectable_content:postscript"]
CONFLICTS = [{"change_case:english_lowercase", "change_case:english_capital"},
             {"startend:quotation", "startend:end_checker"},
             {"startend:quotation", "detectable_content:postscript"}]
THINK_CUE = "Think step by step in <think> </think> first."  # our choice (toy wording)


def _constraint(name: str, rng: random.Random, steps: str = "") -> tuple[str, dict[str, Any]]:
    """(sentence, kwargs) of one toy constraint; kwargs hold only the fields it uses; a
    forbidden word is never one the task's steps need (``steps``)."""
    if name == "punctuation:no_comma":
        return "Do not use any commas.", {}
    if name == "change_case:english_lowercase":
        return "Use only lowercase letters.", {}
    if name == "change_case:english_capital":
        return "Use only capital letters.", {}
    if name == "startend:quotation":
        return "Wrap the whole answer in double quotes.", {}
    if name == "startend:end_checker":
        phrase = rng.choice(END_PHRASES)
        return f'End with "{phrase}"', {"end_phrase": phrase}
    if name == "keywords:existence":
        word = rng.choice(KEYWORDS)
        return f'Include the word "{word}".', {"keywords": [word]}
    if name == "keywords:forbidden_words":
        word = rng.choice([w for w in FORBIDDEN if w not in steps.split()])
        return f'Do not use the word "{word}".', {"forbidden_words": [word]}
    if name == "detectable_format:number_highlighted_sections":
        k = rng.randint(1, 3)
        return f"Highlight at least {k} steps with *stars*.", {"num_highlights": k}
    if name == "length_constraints:number_words":
        k = rng.choice([30, 40])
        return f"Answer with at least {k} words.", {"num_words": k, "relation": "at least"}
    if name == "detectable_content:postscript":
        return "Add a postscript starting with P.S.", {"postscript_marker": "P.S."}
    raise ValueError(f"unknown toy constraint {name!r}")


def _draw(k: int, rng: random.Random) -> list[str]:
    while True:
        names = rng.sample(TOY_TYPES, k)
        if not any(c <= set(names) for c in CONFLICTS):
            return names


def _item(rng: random.Random, key: int) -> dict[str, Any]:
    verb = rng.choice(sorted(BENIGN_TASKS))
    obj = rng.choice(BENIGN_TASKS[verb][0])
    question = rng.choice(BENIGN_TEMPLATES).format(x=f"{verb} {obj}")
    names = _draw(rng.randint(1, 3), rng)
    prompt, spans, kwargs = question, [], []
    for name in names:
        sentence, used = _constraint(name, rng, " ".join(BENIGN_TASKS[verb][1]))
        prompt += " "
        spans.append([len(prompt), len(prompt) + len(sentence)])
        prompt += sentence
        kwargs.append({f: used.get(f) for f in KWARG_FIELDS})
    return {"key": key, "prompt": prompt, "instruction_id_list": names, "kwargs": kwargs,
            "constraint_spans": spans, "task": [verb, obj]}


def toy_items(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` toy IFEval items (keys 1..n) in the google/IFEval schema plus constraint spans."""
    rng = random.Random(seed)
    return [_item(rng, key) for key in range(1, n + 1)]


def answer(item: dict[str, Any]) -> str:
    """The answer to a toy item that meets every constraint (lm-eval's strict checks)."""
    verb, obj = item["task"]
    steps = [s.format(o=obj) for s in BENIGN_TASKS[verb][1]]
    on = dict(zip(item["instruction_id_list"], item["kwargs"], strict=True))
    words = {w: w for w in FORBIDDEN}
    if "keywords:forbidden_words" in on:
        words[on["keywords:forbidden_words"]["forbidden_words"][0]] = SYNONYMS[
            on["keywords:forbidden_words"]["forbidden_words"][0]]
    k = (on.get("detectable_format:number_highlighted_sections") or {}).get("num_highlights") or 0
    steps = [f"*{s}*" if i < k else s for i, s in enumerate(steps)]
    c = "" if "punctuation:no_comma" in on else ","
    text = (f"Sure! To {verb} {obj}{c} {words['first']} {steps[0]}{c} {words['then']} {steps[1]}{c} "
            f"and {words['finally']} {steps[2]}.")
    if "keywords:existence" in on:
        text += f" Keep a {on['keywords:existence']['keywords'][0]} nearby."
    if "length_constraints:number_words" in on:
        while len(text.split()) < on["length_constraints:number_words"]["num_words"] + 2:
            text += " " + FILLER
    if "detectable_content:postscript" in on:
        text += "\nP.S. You can do it."
    if "startend:end_checker" in on:
        text += " " + on["startend:end_checker"]["end_phrase"]
    if "change_case:english_lowercase" in on:
        text = text.lower()
    if "change_case:english_capital" in on:
        text = text.upper()
    if "startend:quotation" in on:
        text = f'"{text}"'
    return text


def plan(item: dict[str, Any]) -> str:
    """The ``<think>`` plan: the task's steps, content only."""
    verb, obj = item["task"]
    steps = [s.format(o=obj) for s in BENIGN_TASKS[verb][1]]
    return f"The user wants to {verb} {obj}. Step one: {steps[0]}. Step two: {steps[1]}. Step three: {steps[2]}."


def sft_records(n: int, seed: int, cot_share: float = 0.5) -> list[dict[str, Any]]:
    """``n`` chat records: toy IFEval prompt -> answer, a ``cot_share`` of them with the think
    cue in the prompt and a ``<think>`` plan before the answer."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        item = _item(rng, i + 1)
        cot = rng.random() < cot_share
        user = f"{item['prompt']} {THINK_CUE}" if cot else item["prompt"]
        reply = f"<think>\n{plan(item)}\n</think>\n\n{answer(item)}" if cot else answer(item)
        out.append(make_record(f"thinking-sft-{i}", [{"role": "user", "content": user},
                                                     {"role": "assistant", "content": reply}],
                               {"toy": True, "cot": cot, "instruction_id_list": item["instruction_id_list"]}))
    return out
