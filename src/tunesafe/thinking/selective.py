"""Classifier-selective reasoning (When Thinking Fails, arXiv 2505.11423, Sec. 6).

A per-model classifier, trained on half of the items, predicts from the instruction alone
whether thinking helps; on the other half the model answers with CoT only where it says
yes, directly elsewhere. Both answers already exist (the direct and CoT generations), so
the mitigation costs no generation here: it picks, per held-out item, the scored result of
the chosen condition.

Our choices (the paper's classifier details were not readable here): the label of an item
is 1 when CoT's instruction-level strict share beats the direct one (ties: direct, the
cheaper answer); the classifier is scikit-learn's logistic regression on TF-IDF word and
bigram features of the prompt plus one indicator per instruction type; the split is a
seeded random half.
"""

from __future__ import annotations

import random
from typing import Any

from tunesafe.errors import TunesafeError


def _share(row: dict[str, Any]) -> float:
    xs = row["inst_level_strict_acc"]
    return sum(xs) / len(xs) if xs else 0.0


def labels(direct: dict[str, dict[str, Any]], cot: dict[str, dict[str, Any]], keys: list[str]) -> list[int]:
    """1 where CoT's instruction-level strict share is higher than direct's."""
    return [int(_share(cot[k]) > _share(direct[k])) for k in keys]


def _features(items: list[dict[str, Any]]) -> list[str]:
    # the instruction types as tokens beside the prompt's words
    return [item["prompt"] + " " + " ".join(t.replace(":", "__") for t in item["instruction_id_list"])
            for item in items]


def classifier_selective(items: list[dict[str, Any]], direct_rows: list[dict[str, Any]],
                         cot_rows: list[dict[str, Any]], seed: int = 0,
                         extra: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Prompt- and instruction-level strict accuracy (percent) on the held-out half: direct,
    CoT, classifier-selective, the oracle choice and every ``extra`` condition (the other
    mitigations' score rows); the classifier's held-out accuracy."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    direct = {str(r["key"]): r for r in direct_rows}
    cot = {str(r["key"]): r for r in cot_rows}
    keys = [str(i["key"]) for i in items]
    missing = [k for k in keys if k not in direct or k not in cot]
    if missing:
        raise TunesafeError(f"no direct/CoT score row for item key {missing[0]!r}")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    train, test = sorted(order[: len(order) // 2]), sorted(order[len(order) // 2:])
    y = labels(direct, cot, keys)
    vec = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"[A-Za-z_]+")
    x = vec.fit_transform(_features(items))
    y_train = [y[i] for i in train]
    if len(set(y_train)) < 2:  # one class only: the classifier is that constant
        pred = [y_train[0]] * len(test)
    else:
        clf = LogisticRegression(max_iter=1000, random_state=seed).fit(x[train], y_train)
        pred = clf.predict(x[test]).tolist()
    choice = {keys[i]: bool(p) for i, p in zip(test, pred, strict=True)}
    oracle = {keys[i]: bool(y[i]) for i in test}
    out: dict[str, Any] = {"n_train": len(train), "n_test": len(test),
                           "classifier_acc": 100.0 * sum(int(p) == y[i] for i, p in zip(test, pred, strict=True)) / len(test),
                           "cot_chosen": 100.0 * sum(choice.values()) / len(test)}
    sources = {name: {str(r["key"]): r for r in rows} for name, rows in (extra or {}).items()}
    for name, by_key in sources.items():
        if any(k not in by_key for k in choice):
            raise TunesafeError(f"{name}: no score row for some held-out item (expected one per item key)")
    picks = [("direct", {k: direct for k in choice}), ("cot", {k: cot for k in choice}),
             ("classifier_selective", {k: cot if c else direct for k, c in choice.items()}),
             ("oracle", {k: cot if c else direct for k, c in oracle.items()})]
    picks += [(name, dict.fromkeys(choice, by_key)) for name, by_key in sources.items()]
    for name, pick in picks:
        rows = [pick[k][k] for k in pick]
        out[f"{name}_prompt_strict"] = 100.0 * sum(bool(r["prompt_level_strict_acc"]) for r in rows) / len(rows)
        flat = [x for r in rows for x in r["inst_level_strict_acc"]]
        out[f"{name}_inst_strict"] = 100.0 * sum(flat) / len(flat)
    return out
