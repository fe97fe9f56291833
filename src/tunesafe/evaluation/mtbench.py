"""MT-Bench single-answer grading (Zheng et al., arXiv 2306.05685, Sec. 3), a judge metric.

Each assistant turn is rated 1-10 (``Rating: [[N]]``); the score is the mean over every
turn of every question, with the mean per turn number beside it. The judge gets our rubric
(``tunesafe/resources/judge/mtbench_single.txt``) or FastChat's own judge prompts; the
backends, reply parsing and storage are shared with the harmfulness judge
(:mod:`tunesafe.evaluation.judge`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.evaluation.judge import (
    JUDGE_OPTIONS,
    default_rubric,
    judge_settings,
    load_rubric,
    parse_rating,
    write_replies,
)
from tunesafe.evaluation.judges import load_judge
from tunesafe.evaluation.registry import Metric, register
from tunesafe.io import require_file


def _conversation(turns: Sequence[str], answers: Sequence[str]) -> str:
    parts = []
    for i, (question, answer) in enumerate(zip(turns, answers, strict=True), start=1):
        parts += [f"### User (turn {i}):\n{question}", f"### Assistant (turn {i}):\n{answer}"]
    return "\n\n".join(parts)


# FastChat llm_judge (common.py NEED_REF_CATS): the categories judged against a reference answer
REFERENCE_CATEGORIES = ("math", "reasoning", "coding")


def load_judge_prompts(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """FastChat's ``judge_prompts.jsonl``: one ``{"name", "type", "system_prompt",
    "prompt_template", "output_format", ...}`` per line, by name."""
    from tunesafe.io import iter_jsonl

    prompts = {}
    for lineno, row in iter_jsonl(require_file(path, "MT-Bench judge prompts")):
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("name", "system_prompt", "prompt_template")):
            raise TunesafeError(f"{path}:{lineno}: expected {{\"name\", \"system_prompt\", \"prompt_template\", ...}} (FastChat judge_prompts.jsonl)")
        prompts[row["name"]] = row
    needed = ["single-v1", "single-math-v1", "single-v1-multi-turn", "single-math-v1-multi-turn"]
    missing = [n for n in needed if n not in prompts]
    if missing:
        raise TunesafeError(f"{path}: no judge prompt named {missing[0]!r} (FastChat's single-answer prompts: {', '.join(needed)})")
    return prompts


def load_reference_answers(path: str | os.PathLike) -> dict[str, list[str]]:
    """FastChat's ``reference_answer/gpt-4.jsonl``: ``{"question_id", "choices": [{"turns": [...]}], ...}``
    per line; question id (as a string) -> the reference answer of each turn."""
    from tunesafe.io import iter_jsonl

    refs = {}
    for lineno, row in iter_jsonl(require_file(path, "MT-Bench reference answers")):
        try:
            refs[str(row["question_id"])] = [str(t) for t in row["choices"][0]["turns"]]
        except (KeyError, IndexError, TypeError):
            raise TunesafeError(f"{path}:{lineno}: expected {{\"question_id\", \"choices\": [{{\"turns\": [...]}}]}} "
                                "(FastChat reference_answer/*.jsonl)") from None
    return refs


def _fill(template: str, where: str, **fields: str) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as e:
        raise TunesafeError(f"{where}: judge prompt template has a placeholder we do not fill ({e}); "
                            f"expected only {', '.join('{' + k + '}' for k in fields)}") from None


def fastchat_items(rows: Sequence[dict[str, Any]], prompts: dict[str, dict[str, Any]],
                   references: dict[str, list[str]], reference_categories: Sequence[str]) -> list[dict[str, Any]]:
    """FastChat's single-answer grading (llm_judge/gen_judgment.py, common.py run_judge_single):
    turn 1 with ``single-v1`` (``{question}``, ``{answer}``), turn 2 with
    ``single-v1-multi-turn`` (``{question_1}``, ``{answer_1}``, ``{question_2}``,
    ``{answer_2}``); questions of the reference categories use the ``single-math-v1`` pair
    with ``{ref_answer_1}``, ``{ref_answer_2}`` from the reference file; the judge prompt's
    ``system_prompt`` is the judge's system turn."""
    items = []
    for i, row in enumerate(rows, start=1):
        qid, meta = str(row.get("id")), row.get("meta", {})
        turns, answers = meta["turns"], row.get("responses") or [row["response"]]
        ref = None
        if meta.get("category") in reference_categories:
            if qid not in references:
                raise TunesafeError(f"row {i}: question {qid} ({meta.get('category')}) has no reference answer in the reference file")
            ref = references[qid]
        ref_fields = {f"ref_answer_{k + 1}": r for k, r in enumerate(ref or [])}
        for t in range(len(turns)):
            if t == 0:
                name, fields = "single-v1", {"question": turns[0], "answer": answers[0]}
            else:
                name = "single-v1-multi-turn"
                fields = {"question_1": turns[0], "answer_1": answers[0], "question_2": turns[t], "answer_2": answers[t]}
            if ref is not None:
                name = name.replace("single-v1", "single-math-v1")
            prompt = prompts[name]
            items.append({"kind": "mtbench", "system": prompt["system_prompt"], "judge_prompt": name,
                          "prompt": _fill(prompt["prompt_template"], f"judge prompt {name}", **fields, **ref_fields),
                          "response": answers[t], "reference": ref[t] if ref and t < len(ref) else None,
                          "id": row.get("id"), "turn": t + 1})
    return items


def score_mtbench(rows: Sequence[dict[str, Any]], judge: str = "heuristic", judge_model: str | None = None,
                  base_url: str | None = None, api_key_env: str | None = None, rubric: str | None = None,
                  replies: str | None = None, engine: str | None = None,
                  max_new_tokens: str | None = None, judge_prompts: str | None = None,
                  references: str | None = None, reference_categories: str | None = None) -> dict[str, Any]:
    """Mean 1-10 rating over every turn, and per turn number; rows carry ``responses`` (one per turn).

    With ``judge_prompts`` (FastChat's ``judge_prompts.jsonl``) the judge gets FastChat's own
    prompts and, for the ``reference_categories`` (default math, reasoning, coding), the
    answers of ``references`` (FastChat's ``reference_answer/gpt-4.jsonl``); otherwise our
    rubric (``rubric``) with the question file's references."""
    for i, row in enumerate(rows, start=1):
        turns = row.get("meta", {}).get("turns")
        answers = row.get("responses") or [row["response"]]
        if not turns or len(answers) != len(turns):
            raise TunesafeError(f"row {i}: MT-Bench needs meta.turns and one response per turn in 'responses' "
                                f"(got {len(turns or [])} turns, {len(answers)} responses)")
    if judge_prompts:
        categories = [c for c in (reference_categories or ",".join(REFERENCE_CATEGORIES)).split(",") if c]
        refs = load_reference_answers(references) if references else {}
        items = fastchat_items(rows, load_judge_prompts(judge_prompts), refs, categories)
        return _grade_mtbench(items, judge, judge_model, base_url, api_key_env, replies, engine, max_new_tokens,
                              len(rows), judge_prompts="fastchat")
    template = load_rubric(rubric or default_rubric("mtbench_single"))
    items = []
    for row in rows:
        turns = row["meta"]["turns"]
        answers = row.get("responses") or [row["response"]]
        references = row.get("meta", {}).get("references") or [None] * len(turns)
        for t in range(len(turns)):
            reference = references[t] if t < len(references) else None
            prompt = (template.replace("{turn}", str(t + 1)).replace("{reference}", reference or "(none)")
                      .replace("{conversation}", _conversation(turns[: t + 1], answers[: t + 1])))
            items.append({"kind": "mtbench", "prompt": prompt, "response": answers[t], "reference": reference,
                          "id": row.get("id"), "turn": t + 1})
    return _grade_mtbench(items, judge, judge_model, base_url, api_key_env, replies, engine, max_new_tokens,
                          len(rows), judge_prompts="rubric")


def _grade_mtbench(items: list[dict[str, Any]], judge: str, judge_model: str | None, base_url: str | None,
                   api_key_env: str | None, replies: str | None, engine: str | None, max_new_tokens: str | None,
                   n_rows: int, judge_prompts: str) -> dict[str, Any]:
    """Grade every (question, turn) item; the mean rating overall and per turn number."""
    backend = load_judge(judge, judge_model=judge_model, base_url=base_url, api_key_env=api_key_env,
                         engine=engine, max_new_tokens=max_new_tokens)
    raw = backend.grade(items)
    ratings = [parse_rating(reply) for reply in raw]
    write_replies(replies, [{"id": it["id"], "turn": it["turn"], "judge_prompt": it.get("judge_prompt"), "rating": s,
                              "reply": reply} for it, s, reply in zip(items, ratings, raw, strict=True)])
    result: dict[str, Any] = {}
    parsed = [s for s in ratings if s is not None]
    result["mtbench_score"] = sum(parsed) / len(parsed) if parsed else None
    for t in sorted({it["turn"] for it in items}):
        turn = [s for it, s in zip(items, ratings, strict=True) if it["turn"] == t and s is not None]
        result[f"mtbench_turn{t}"] = sum(turn) / len(turn) if turn else None
    return {**result, "n": n_rows, "n_unparsed": len(ratings) - len(parsed), "judge_prompts": judge_prompts,
            **judge_settings(judge, judge_model)}


register(Metric("mtbench", "MT-Bench single-answer grading 1-10, mean over turns", score_mtbench,
                required=("response",),
                options={**JUDGE_OPTIONS,
                         "judge_prompts": "FastChat's judge_prompts.jsonl (single-v1, single-math-v1 and their "
                                          "-multi-turn forms); unset: our rubric",
                         "references": "FastChat's reference_answer/gpt-4.jsonl (with --judge-prompts)",
                         "reference_categories": "comma-separated categories judged against a reference "
                                                 "(default math,reasoning,coding as FastChat)"}))
