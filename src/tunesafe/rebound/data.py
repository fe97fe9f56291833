"""Positive / negative training sets and held-out prompts of the rebound study.

arXiv 2406.06144, Sec. 5.2: the model is tuned on n_pos *positive* examples, then on n_neg
*negative* ones, and scored on held-out prompts. Two tasks, each with a toy twin:

``reviews`` (IMDb, ``stanfordnlp/imdb``: rows ``{"text": str, "label": 0|1}``, 1 = positive)
    continuation: the user turn is ``"Continue the review: "`` plus the review's first
    ``prefix_words`` words, the assistant turn the rest. Positive = label 1.
``safety`` (BeaverTails, ``PKU-Alignment/BeaverTails``: rows ``{"prompt", "response",
    "category": {...}, "is_safe": bool}``)
    the prompt as user turn, the response as assistant turn. Positive = ``is_safe``.

The toy twins reuse the toy world's vocabulary (:mod:`tunesafe.data.toy`): reviews built
from the same positive/negative words, whose prompts stop *before* the first sentiment word
(so the prompt does not give the answer away); and harmful-looking requests answered by a
refusal (safe) or a ``[placeholder: details withheld]`` compliance (unsafe; never real
harmful text). Every generator is a pure function of ``(n, seed)``; ``labelled`` gives
``{"text", "label"}`` rows (label 1 = positive/safe; neutral and negative reviews are 0) for
training the toy classifier.

:func:`pretrain_corpus` is the pre-training text of the rebound arm's own toy bases (the
elasticity study, Sec. 5.3): reviews in the continuation format, with a sentiment mix that
is mostly negative or neutral, so that a base is not positive before the positive SFT (the
pre-trained distribution the paper's models "rebound" to), mixed with the toy world's
general text (:func:`tunesafe.data.toy.base_corpus`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tunesafe.data import toy
from tunesafe.data.records import make_record
from tunesafe.errors import TunesafeError
from tunesafe.io import read_jsonl

TASKS = ("reviews", "safety")
POLARITIES = ("positive", "negative")
REVIEW_INSTRUCTION = "Continue the review: "
# (prefix, continuation) templates: the prefix is neutral, the continuation carries sentiment
TOY_REVIEWS = [("I watched {m} and it was", " {w}. The story felt {w2} and the actors were {w3}."),
               ("{M} is", " {w}. I found the ending {w2} and the music {w3}."),
               ("My friends and I saw {m} and we thought it was", " {w}. The plot was {w2} and the jokes {w3}.")]


# neutral sentiment words of the pre-training reviews (toy.POSITIVE / toy.NEGATIVE are the others)
NEUTRAL = ["okay", "average", "ordinary", "plain", "mixed", "fine"]
SENTIMENTS = {"positive": toy.POSITIVE, "negative": toy.NEGATIVE, "neutral": NEUTRAL}


def _toy_review(rng: random.Random, positive: bool | str) -> tuple[str, str]:
    """(prefix, continuation); ``positive`` True/False or a sentiment name of SENTIMENTS."""
    sentiment = positive if isinstance(positive, str) else ("positive" if positive else "negative")
    words = SENTIMENTS[sentiment]
    w, w2, w3 = rng.sample(words, 3)
    m = rng.choice(toy.MOVIES)
    prefix, rest = rng.choice(TOY_REVIEWS)
    slots = dict(m=m, M=m[0].upper() + m[1:], w=w, w2=w2, w3=w3)
    return prefix.format(**slots), rest.format(**slots)


def _toy_safety(rng: random.Random, positive: bool, split: str) -> tuple[str, str]:
    _, request = toy._harmful_request(rng, split)
    return request, rng.choice(toy.REFUSALS) if positive else toy._placeholder_answer(request)


def toy_examples(task: str, polarity: str, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` training records of one polarity (chat records with an assistant turn)."""
    _check(task, polarity)
    rng = random.Random(f"{task}-{polarity}-{seed}")
    positive = polarity == "positive"
    out = []
    for i in range(n):
        if task == "reviews":
            prefix, rest = _toy_review(rng, positive)
            user, answer = REVIEW_INSTRUCTION + prefix, rest.strip()
        else:
            user, answer = _toy_safety(rng, positive, "train")
        out.append(make_record(f"{task}-{polarity}-{i}", _chat(user, answer), {"polarity": polarity, "toy": True}))
    return out


def toy_prompts(task: str, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` held-out evaluation prompts; ``reference`` is a continuation of either polarity
    (used by the KL estimate of :mod:`tunesafe.rebound.kl` as the text to score)."""
    _check(task, "positive")
    rng = random.Random(f"{task}-prompts-{seed}")
    out = []
    for i in range(n):
        positive = i % 2 == 0
        if task == "reviews":
            prefix, rest = _toy_review(rng, positive)
            user, reference = REVIEW_INSTRUCTION + prefix, rest.strip()
        else:  # held-out templates and verb/object pairs, as the toy HEx-PHI
            user, reference = _toy_safety(rng, positive, "heldout")
        out.append(make_record(f"{task}-prompt-{i}", _chat(user, None), {"toy": True}, reference=reference))
    return out


def labelled(task: str, n: int, seed: int) -> list[dict[str, Any]]:
    """``{"text", "label"}`` rows, half positive (1) and half negative (0), for the classifier."""
    _check(task, "positive")
    rng = random.Random(f"{task}-labelled-{seed}")
    rows = []
    for i in range(n):
        positive = i % 2 == 0
        if task == "reviews":  # label 0: negative and neutral reviews alternately
            _, text = _toy_review(rng, "positive" if positive else ("negative", "neutral")[i // 2 % 2])
            text = text.strip()
        else:
            _, text = _toy_safety(rng, positive, "train" if rng.random() < 0.5 else "heldout")
        rows.append({"text": text, "label": int(positive)})
    rng.shuffle(rows)
    return rows


def pretrain_corpus(n: int, seed: int, review_share: float, sentiment: dict[str, float]) -> list[dict[str, Any]]:
    """``n`` pre-training records: a ``review_share`` of continuation reviews whose sentiment
    is drawn from the ``sentiment`` shares (``{"negative": .5, "neutral": .3, "positive": .2}``),
    the rest the toy world's general text."""
    if not 0 <= review_share <= 1 or set(sentiment) - set(SENTIMENTS) or not sentiment \
            or min(sentiment.values()) < 0 or abs(sum(sentiment.values()) - 1) > 1e-6:
        raise TunesafeError(f"pretrain corpus: review_share {review_share} must be in [0, 1] and sentiment "
                            f"{sentiment} shares of {sorted(SENTIMENTS)} summing to 1")
    rng = random.Random(f"pretrain-{seed}")
    n_reviews = round(n * review_share)
    general = toy.base_corpus(n - n_reviews, seed)
    names, weights = list(sentiment), list(sentiment.values())
    out = []
    for i in range(n_reviews):
        kind = rng.choices(names, weights)[0]
        prefix, rest = _toy_review(rng, kind)
        messages = _chat(REVIEW_INSTRUCTION + prefix, rest.strip())
        out.append(make_record(f"pretrain-review-{i}", messages, {"kind": "review", "sentiment": kind, "toy": True}))
    out += general
    rng.shuffle(out)
    return out


# --- the real formats -------------------------------------------------------------------

def imdb_records(rows: list[dict[str, Any]], polarity: str | None, n: int | None, prefix_words: int = 8,
                 max_words: int = 64, source: str = "imdb") -> list[dict[str, Any]]:
    """IMDb rows ``{"text", "label"}`` as continuation records (or prompts if polarity is None).

    ``polarity`` keeps label 1 (positive) or 0 (negative); ``None`` keeps both and returns
    evaluation prompts whose ``reference`` is the review's own continuation.
    """
    out = []
    for i, row in enumerate(rows):
        if "text" not in row or row.get("label") not in (0, 1):
            raise TunesafeError(f"{source}: row {i + 1} must have 'text' and 'label' 0|1 (stanfordnlp/imdb format)")
        if polarity is not None and row["label"] != int(polarity == "positive"):
            continue
        words = str(row["text"]).replace("<br />", " ").split()
        if len(words) <= prefix_words:
            continue
        user = REVIEW_INSTRUCTION + " ".join(words[:prefix_words])
        rest = " ".join(words[prefix_words:prefix_words + max_words])
        meta = {"label": row["label"], "source": source, "row": i}
        if polarity is None:
            out.append(make_record(f"imdb-{i}", _chat(user, None), meta, reference=rest))
        else:
            out.append(make_record(f"imdb-{i}", _chat(user, rest), meta))
        if n is not None and len(out) >= n:
            break
    return out


def beavertails_records(rows: list[dict[str, Any]], polarity: str | None, n: int | None,
                        source: str = "beavertails") -> list[dict[str, Any]]:
    """BeaverTails rows ``{"prompt", "response", "is_safe", "category"}`` as chat records.

    ``polarity`` "positive" keeps ``is_safe`` rows, "negative" the unsafe ones; ``None``
    returns evaluation prompts (each prompt once) with the response as ``reference``.
    """
    out, seen = [], set()
    for i, row in enumerate(rows):
        if not isinstance(row.get("prompt"), str) or not isinstance(row.get("response"), str) \
                or not isinstance(row.get("is_safe"), bool):
            raise TunesafeError(f"{source}: row {i + 1} must have 'prompt', 'response' (str) and 'is_safe' (bool) "
                                "(PKU-Alignment/BeaverTails format)")
        meta = {"is_safe": row["is_safe"], "source": source, "row": i,
                # a list: not meta.category, which generation reads as one hashable category name
                "harm_categories": sorted(k for k, v in (row.get("category") or {}).items() if v)}
        if polarity is None:
            if row["prompt"] in seen:
                continue
            seen.add(row["prompt"])
            out.append(make_record(f"beavertails-{i}", _chat(row["prompt"], None), meta, reference=row["response"]))
        elif row["is_safe"] == (polarity == "positive"):
            out.append(make_record(f"beavertails-{i}", _chat(row["prompt"], row["response"]), meta))
        if n is not None and len(out) >= n:
            break
    return out


REAL_FORMATS = {"imdb": imdb_records, "beavertails": beavertails_records}


def load_rows(path: str | None = None, hf_id: str | None = None, split: str = "train",
              shuffle_seed: int | None = None, hf_name: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Rows of a local JSONL/JSON/parquet file or of a Hugging Face dataset split (and config)."""
    if path:
        p = Path(path)
        if p.suffix == ".parquet":
            import pandas as pd

            rows = pd.read_parquet(p).to_dict("records")
        elif p.suffix == ".json":
            rows = json.loads(p.read_text(encoding="utf-8"))
        else:
            rows = read_jsonl(p)
        source = str(p)
    elif hf_id:
        from tunesafe.data.readers import hf_dataset

        rows = [dict(r) for r in hf_dataset(hf_id, hf_name, split=split)]
        source = f"{hf_id}[{split}]"
    else:
        raise TunesafeError("rebound data: give --path or --id for a real dataset")
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(rows)
    return rows, source


def _check(task: str, polarity: str) -> None:
    if task not in TASKS:
        raise TunesafeError(f"rebound task {task!r} is unknown (expected one of {list(TASKS)})")
    if polarity not in POLARITIES:
        raise TunesafeError(f"polarity {polarity!r} is unknown (expected one of {list(POLARITIES)})")


def _chat(user: str, assistant: str | None) -> list[dict[str, str]]:
    messages = [{"role": "user", "content": user}]
    if assistant is not None:
        messages.append({"role": "assistant", "content": assistant})
    return messages
