"""IFEval for the When Thinking Fails arm (arXiv 2505.11423, Sec. 3 and Table 1).

Items are ``google/IFEval`` rows (``key, prompt, instruction_id_list, kwargs``). Each is
asked directly and with a think-then-answer prompt; greedy decoding; the constraints are
checked on the final answer only, the text after the last ``</think>`` (Sec. 3; a response
without ``</think>`` is its own final answer, our choice). Checking is lm-evaluation-
harness's IFEval (``lm_eval.tasks.ifeval.utils``: strict and loose, prompt and instruction
level), not our own checkers. Its import tries to download NLTK's ``punkt_tab``; where the
data is absent we import it without that attempt, and fail with one line naming the data
only when an item uses a type that needs it (:data:`NLTK_TYPES`). langdetect's seed is
fixed (0) so the case checkers give the same verdict on every run.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunesafe.data.records import make_record
from tunesafe.errors import TunesafeError

SCHEMA_KEYS = ("key", "prompt", "instruction_id_list", "kwargs")
# lm-eval's checkers that split sentences with NLTK's punkt_tab
NLTK_TYPES = {"length_constraints:number_sentences", "change_case:capital_word_frequency"}
CONDITIONS = ("direct", "cot", "selfselect", "fewshot")
# Sec. 3's CoT condition asks the model to reason before answering; the wording is our
# choice for the toy world (tunesafe.thinking.toy.THINK_CUE) and configurable (cot_cue).
DEFAULT_COT_CUE = "Think step by step in <think> </think> first."
# Sec. 6 mitigations, wordings our choice: self-selective reasoning (the model decides
# whether to think) and self-reflection (a second turn judges and revises the CoT answer)
DEFAULT_CUES = {
    "cot": DEFAULT_COT_CUE,
    "selfselect": "If this needs careful thought, think step by step in <think> </think> first; "
                  "otherwise answer directly.",
    "reflect": "Check whether your answer follows every instruction above. If it does not, "
               "rewrite it so that it does. Reply with the final answer only.",
}


def check_items(items: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    for i, item in enumerate(items, 1):
        missing = [k for k in SCHEMA_KEYS if k not in item]
        if missing:
            raise TunesafeError(f"{where}: row {i}: missing {', '.join(missing)} (expected the google/IFEval schema)")
        if len(item["kwargs"]) != len(item["instruction_id_list"]):
            raise TunesafeError(f"{where}: row {i}: kwargs has {len(item['kwargs'])} entries, "
                                f"instruction_id_list {len(item['instruction_id_list'])}")
    return items


def load_items(source: str, path: str | None = None, id: str | None = None, split: str = "train",
               n: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """IFEval items: the toy generator, a local JSONL in the IFEval schema, or a HF dataset;
    real items get ``constraint_spans`` located from their instructions (:mod:`.spans`)."""
    if source == "toy":
        from tunesafe.thinking.toy import toy_items

        return toy_items(n or 60, seed)
    from tunesafe.thinking.spans import with_spans

    if source == "file":
        from tunesafe.io import read_jsonl

        rows = read_jsonl(path)
        return with_spans(check_items(rows[:n] if n else rows, str(path)))
    from tunesafe.data.readers import hf_dataset

    rows = [dict(r) for r in hf_dataset(id, split=split)]
    return with_spans(check_items(rows[:n] if n else rows, f"{id}[{split}]"))


def prompts(items: list[dict[str, Any]], condition: str, cue: str | None = None,
            examples: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Evaluation prompt records of one condition, in item order (id = the item's key): the
    prompt, plus the condition's cue (``cue``, else :data:`DEFAULT_CUES`) unless direct.
    ``fewshot`` (Sec. 6, few-shot): the CoT prompt after the ``examples`` (chat records whose
    turns, CoT prompts with corrected answers, come first as earlier turns)."""
    if condition not in CONDITIONS:
        raise TunesafeError(f"condition {condition!r}: expected one of {', '.join(CONDITIONS)}")
    if condition == "fewshot" and not examples:
        raise TunesafeError("condition fewshot needs examples (chat records with a user and an assistant turn)")
    cue = cue or DEFAULT_CUES.get("cot" if condition == "fewshot" else condition)
    shots = [m for r in examples or [] for m in r["messages"] if m["role"] in ("user", "assistant")]
    out = []
    for item in items:
        user = item["prompt"] if condition == "direct" else f"{item['prompt']} {cue}"
        out.append(make_record(str(item["key"]), [*shots, {"role": "user", "content": user}],
                               {"condition": condition, "instruction_id_list": item["instruction_id_list"]}))
    return out


def reflection_prompts(cot_prompts: list[dict[str, Any]], cot_generations: list[dict[str, Any]],
                       text: str | None = None) -> list[dict[str, Any]]:
    """Self-reflection (Sec. 6): the CoT prompt, the CoT final answer as the assistant turn,
    then a user turn asking to check every instruction and revise; in prompt order."""
    by_id = {str(g["id"]): g for g in cot_generations}
    out = []
    for p in cot_prompts:
        g = by_id.get(str(p["id"]))
        if g is None:
            raise TunesafeError(f"no CoT generation with id {p['id']!r} (expected one per prompt)")
        messages = [*p["messages"], {"role": "assistant", "content": final_answer(g["response"])},
                    {"role": "user", "content": text or DEFAULT_CUES["reflect"]}]
        out.append(make_record(p["id"], messages, {**p["meta"], "condition": "reflect"}))
    return out


def final_answer(response: str) -> str:
    """The text after the last ``</think>``, stripped (the whole response when there is none)."""
    return response.rsplit("</think>", 1)[-1].strip()


def _punkt_present() -> bool:
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab")
        return True
    except LookupError:
        return False


@contextlib.contextmanager
def _no_download() -> Iterator[None]:
    """lm-eval's ifeval modules call ``nltk.download`` at import; without the data and network
    that is a slow failure, so the import runs with downloads switched off."""
    import nltk

    original = nltk.download
    nltk.download = lambda *a, **k: False
    try:
        yield
    finally:
        nltk.download = original


def lm_eval_ifeval(items: list[dict[str, Any]]) -> Any:
    """``lm_eval.tasks.ifeval.utils``, after checking the NLTK data the items need."""
    needed = sorted({t for it in items for t in it["instruction_id_list"]} & NLTK_TYPES)
    present = _punkt_present()
    if needed and not present:
        raise TunesafeError(f"NLTK data 'punkt_tab' missing (needed by {', '.join(needed)}): run "
                            "`tunesafe thinking nltk-data --out DIR` where the network allows, then score with --nltk-data DIR")
    # lm-eval's case checkers ask langdetect for the language; langdetect samples, so two
    # runs can disagree on the same text unless its seed is fixed (lm-eval leaves it unset)
    from langdetect import DetectorFactory

    DetectorFactory.seed = 0
    name = "lm_eval.tasks.ifeval.utils"
    if name in sys.modules or present:
        return importlib.import_module(name)
    try:
        with _no_download():
            return importlib.import_module(name)
    except ImportError as e:
        raise TunesafeError(f"lm-eval's IFEval checkers do not import ({e}): pip install "
                            "'lm-eval[ifeval]' (immutabledict, langdetect, nltk)") from None


def score_rows(items: list[dict[str, Any]], responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per item: lm-eval's ``process_results`` on the final answer, plus the answer length."""
    utils = lm_eval_ifeval(items)
    by_id = {str(r["id"]): r for r in responses}
    rows = []
    for item in items:
        r = by_id.get(str(item["key"]))
        if r is None:
            raise TunesafeError(f"no response with id {item['key']!r} (expected one per item key)")
        answer = final_answer(r["response"])
        doc = {k: item[k] for k in SCHEMA_KEYS}
        res = utils.process_results(doc, [answer])
        rows.append({"key": item["key"], "instruction_id_list": item["instruction_id_list"], **res,
                     "response_chars": len(r["response"]), "thinking_chars": len(r["response"]) - len(answer)})
    return rows


def aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """IFEval's four accuracies (percent), n, and instruction-level strict accuracy per type."""
    def mean(xs: list[bool]) -> float:
        return 100.0 * sum(xs) / len(xs) if xs else float("nan")

    out: dict[str, Any] = {}
    for level in ("strict", "loose"):
        out[f"prompt_level_{level}_acc"] = mean([r[f"prompt_level_{level}_acc"] for r in rows])
        out[f"inst_level_{level}_acc"] = mean([x for r in rows for x in r[f"inst_level_{level}_acc"]])
    per_type: dict[str, list[bool]] = {}
    for r in rows:
        for t, ok in zip(r["instruction_id_list"], r["inst_level_strict_acc"], strict=True):
            per_type.setdefault(t, []).append(ok)
    out["per_type_strict"] = {t: mean(v) for t, v in sorted(per_type.items())}
    out["per_type_n"] = {t: len(v) for t, v in sorted(per_type.items())}
    out["n"] = len(rows)
    return out


def fetch_nltk_data(target: str | Path) -> None:
    """Download NLTK's ``punkt_tab`` into ``target`` (the network must allow it)."""
    import nltk

    if not nltk.download("punkt_tab", download_dir=str(target), quiet=True, raise_on_error=True):
        raise TunesafeError(f"NLTK data 'punkt_tab' could not be downloaded into {target}")
