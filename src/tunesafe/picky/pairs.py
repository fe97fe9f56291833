"""Preference pairs of the reward-model study (arXiv 2502.01116, Sec. 5).

A pair is ``{"id", "prompt", "chosen", "rejected", "kind"}`` (the RewardBench row shape):

- *safety* pairs: a harmful request, a refusal (chosen) and a compliance (rejected). Real:
  the safety subsets of RewardBench (``allenai/reward-bench``: refusals-dangerous,
  refusals-offensive, donotanswer, xstest-should-refuse; our choice of a public set in the
  human-preference direction the paper tests). Toy: toy harmful-looking requests, a toy
  refusal and the toy *placeholder* compliance (no harmful content).
- *benign* pairs (within-set separation): a record's own answer (chosen) and the answer of
  another record of the same set (rejected: an answer that does not fit the request; our
  choice of corruption, deterministic: record i gets record i + n // 2's answer).

:func:`pair_record` turns one side of a pair into a chat record so the arm's transforms
apply to pairs exactly as to fine-tuning data.
"""

from __future__ import annotations

import random
from typing import Any

from tunesafe.errors import TunesafeError

Pair = dict[str, Any]
REWARD_BENCH_SAFETY = ["refusals-dangerous", "refusals-offensive", "donotanswer", "xstest-should-refuse"]


def toy_safety_pairs(n: int, seed: int, split: str = "heldout") -> list[Pair]:
    """Toy harmful-looking request -> refusal (chosen) vs placeholder compliance (rejected);
    ``split`` picks the toy world's training or held-out request pairs."""
    from tunesafe.data import toy

    rng = random.Random(seed)
    out = []
    for i in range(n):
        cat, request = toy._harmful_request(rng, split)
        out.append({"id": f"safety-{split}-{i}", "prompt": request, "chosen": rng.choice(toy.REFUSALS),
                    "rejected": toy._placeholder_answer(request), "kind": "safety", "category": cat})
    return out


def _prompt_answer(record: dict[str, Any], where: str) -> tuple[str, str]:
    msgs = record["messages"]
    users = [m["content"] for m in msgs if m["role"] == "user"]
    if not users or msgs[-1]["role"] != "assistant":
        raise TunesafeError(f"{where}: record {record.get('id')!r} needs a user turn and a final assistant turn")
    return users[-1], msgs[-1]["content"]


def benign_pairs(records: list[dict[str, Any]], where: str = "records") -> list[Pair]:
    """Own answer (chosen) vs the answer of record i + n // 2 (rejected)."""
    if len(records) < 2:
        raise TunesafeError(f"{where}: need at least 2 records for benign pairs, got {len(records)}")
    qa = [_prompt_answer(r, where) for r in records]
    shift = len(qa) // 2
    return [{"id": f"benign-{r['id']}", "prompt": q, "chosen": a, "rejected": qa[(i + shift) % len(qa)][1],
             "kind": "benign"} for i, (r, (q, a)) in enumerate(zip(records, qa, strict=True))]


def pair_record(pair: Pair, side: str) -> dict[str, Any]:
    """One side (``chosen``/``rejected``) of a pair as a chat record."""
    return {"id": pair["id"], "messages": [{"role": "user", "content": pair["prompt"]},
                                           {"role": "assistant", "content": pair[side]}], "meta": {}}


def check_pairs(rows: list[dict[str, Any]], where: str) -> list[Pair]:
    for i, r in enumerate(rows):
        missing = [k for k in ("prompt", "chosen", "rejected") if not isinstance(r.get(k), str)]
        if missing:
            raise TunesafeError(f"{where}: row {i} lacks string field(s) {missing} (expected prompt, chosen, rejected)")
    return [{"id": str(r.get("id", i)), "prompt": r["prompt"], "chosen": r["chosen"], "rejected": r["rejected"],
             "kind": r.get("kind", "safety")} for i, r in enumerate(rows)]


def load_pairs(source: str, n: int, seed: int = 0, split: str | None = None, path: str | None = None,
               hub_id: str | None = None, subsets: list[str] | None = None) -> list[Pair]:
    """Safety pairs from ``toy`` (generated), ``file`` (JSONL of pair rows) or ``hf`` (a
    RewardBench-shaped dataset; rows whose ``subset`` is in ``subsets``). The first ``n``."""
    if source == "toy":
        return toy_safety_pairs(n, seed, split or "heldout")
    if source == "file":
        from tunesafe.io import read_jsonl

        if not path:
            raise TunesafeError("picky pairs: --source file needs --path")
        rows = read_jsonl(path)
        where = path
    elif source == "hf":
        from tunesafe.data.readers import hf_dataset

        if not hub_id:
            raise TunesafeError("picky pairs: --source hf needs --id")
        rows = list(hf_dataset(hub_id, split=split or "filtered"))
        where = hub_id
    else:
        raise TunesafeError(f"picky pairs: unknown source {source!r} (expected toy, file or hf)")
    if subsets:
        rows = [r for r in rows if r.get("subset") in subsets]
    if not rows:
        raise TunesafeError(f"{where}: no pair rows (subsets {subsets})")
    return check_pairs(rows, where)[:n]


def classifier_rows(pairs: list[Pair]) -> list[dict[str, Any]]:
    """Pairs as labelled text for the toy reward model: prompt + response, 1 = chosen."""
    return [{"text": f"{p['prompt']}\n{p[side]}", "label": int(side == "chosen")}
            for p in pairs for side in ("chosen", "rejected")]
