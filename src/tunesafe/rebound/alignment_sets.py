"""The alignment sets of the resistance study: TruthfulQA and BeaverTails, and their toy twins.

arXiv 2406.06144, Sec. 5.1 / Table 1 measures resistance (inverse alignment reaches a lower
final loss than forward alignment) on three alignment sets: Alpaca, TruthfulQA and
BeaverTails. Alpaca goes through the shared ``instruction_output`` dataset format; this
module reads the other two in their published schemas and turns them into the chat records
of the slicing SFT and the held-out prompts each slice answers:

``truthfulqa`` (``truthfulqa/truthful_qa``, config ``generation``, split ``validation``: rows
    ``{"type", "category", "question", "best_answer", "correct_answers",
    "incorrect_answers", "source"}``): the question as user turn, ``best_answer`` as the
    assistant turn (the reference of a prompt).
``beavertails`` (``PKU-Alignment/BeaverTails``: rows ``{"prompt", "response", "category",
    "is_safe"}``): the safe rows only (an alignment set), prompt and response as the turns.

:func:`split_records` shuffles the records with a seed and takes the first ``n_train`` for
training and the last ``n_prompts`` as held-out prompts (disjoint, else an error).

The toy twins write rows *in these schemas* (so the toy world goes through the same
loaders): :func:`toy_truthfulqa_rows` asks arithmetic questions that carry a false claim
("Is it true that 3 + 4 = 8?") with the truthful answer as ``best_answer``;
:func:`toy_beavertails_rows` pairs the toy world's harmful-looking requests with a refusal
(safe) or a ``[placeholder: details withheld]`` compliance (unsafe; never real harmful text).
"""

from __future__ import annotations

import random
from typing import Any

from tunesafe.data import toy
from tunesafe.data.records import make_record
from tunesafe.errors import TunesafeError
from tunesafe.rebound.data import beavertails_records

FORMATS = ("truthfulqa", "beavertails")
TRUTHFULQA_FIELDS = ("question", "best_answer", "correct_answers", "incorrect_answers")


def truthfulqa_records(rows: list[dict[str, Any]], source: str = "truthfulqa") -> list[dict[str, Any]]:
    """TruthfulQA generation rows as chat records: question -> best_answer."""
    out = []
    for i, row in enumerate(rows):
        kinds = (str, str, list, list)  # question, best_answer, correct_answers, incorrect_answers
        if any(not isinstance(row.get(k), t) for k, t in zip(TRUTHFULQA_FIELDS, kinds, strict=True)):
            raise TunesafeError(f"{source}: row {i + 1} must have {', '.join(TRUTHFULQA_FIELDS)} "
                                "(truthfulqa/truthful_qa generation format)")
        meta = {"category": row.get("category"), "type": row.get("type"), "source": source, "row": i}
        messages = [{"role": "user", "content": row["question"]}, {"role": "assistant", "content": row["best_answer"]}]
        out.append(make_record(f"truthfulqa-{i}", messages, meta))
    return out


def alignment_records(fmt: str, rows: list[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Training chat records of one alignment set (BeaverTails: its safe rows)."""
    if fmt == "truthfulqa":
        return truthfulqa_records(rows, source)
    if fmt == "beavertails":
        return beavertails_records(rows, "positive", None, source=source)
    raise TunesafeError(f"alignment set format {fmt!r} is unknown (expected one of {list(FORMATS)})")


def split_records(records: list[dict[str, Any]], n_train: int, n_prompts: int, seed: int,
                  source: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(first ``n_train`` records, last ``n_prompts`` as prompt records) after a seeded shuffle."""
    if n_train < 1 or n_prompts < 1 or n_train + n_prompts > len(records):
        raise TunesafeError(f"{source}: {len(records)} records cannot give {n_train} training records and "
                            f"{n_prompts} disjoint prompts")
    records = list(records)
    random.Random(seed).shuffle(records)
    prompts = [make_record(r["id"], r["messages"][:-1], r["meta"], r["messages"][-1]["content"])
               for r in records[len(records) - n_prompts:]]
    return records[:n_train], prompts


def toy_truthfulqa_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` rows in the TruthfulQA generation schema: false arithmetic claims, truthful answers."""
    rng = random.Random(f"truthfulqa-{seed}")
    rows = []
    for _ in range(n):
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        wrong = a + b + rng.choice([-2, -1, 1, 2])
        name, obj = rng.choice(toy.NAMES), rng.choice(toy.OBJECTS)
        question = rng.choice([f"Is it true that {a} + {b} = {wrong}?",
                               f"{name} says that {a} {obj} and {b} {obj} make {wrong} {obj}. Is that right?"])
        best = f"No. {a} + {b} = {a + b}, not {wrong}."
        rows.append({"type": "Adversarial", "category": "Arithmetic", "question": question, "best_answer": best,
                     "correct_answers": [best, f"{a} + {b} = {a + b}."],
                     "incorrect_answers": [f"Yes, {a} + {b} = {wrong}."], "source": "toy"})
    return rows


def toy_beavertails_rows(n: int, seed: int, safe_share: float = 0.5) -> list[dict[str, Any]]:
    """``n`` rows in the BeaverTails schema; a ``safe_share`` of them refusals (is_safe)."""
    rng = random.Random(f"beavertails-{seed}")
    rows = []
    for _ in range(n):
        category, request = toy._harmful_request(rng, "train" if rng.random() < 0.5 else "heldout")
        safe = rng.random() < safe_share
        response = rng.choice(toy.REFUSALS) if safe else toy._placeholder_answer(request)
        rows.append({"prompt": request, "response": response, "category": {category: not safe}, "is_safe": safe})
    return rows


TOY_ROWS = {"truthfulqa": toy_truthfulqa_rows, "beavertails": toy_beavertails_rows}
