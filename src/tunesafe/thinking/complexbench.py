"""ComplexBench for the When Thinking Fails arm (arXiv 2505.11423, Sec. 3 and Table 1).

ComplexBench (thu-coai/ComplexBench, ``data/data_final.json``: a JSON list of 1150 items) asks
instructions with composed constraints; each item has ``scoring_questions``, each with a
``question`` (``question_en``), a ``rule`` (null: judged by an LLM) and ``dep``: the
``point_id`` of the questions it depends on. The metric is DRFR (dependency-aware
requirement following ratio), as the official ``evaluation/aggregation.py`` computes it:

- a question counts as satisfied only if its own verdict is yes and the *raw* verdict of
  every question in its ``dep`` is yes (the direct dependencies, each as judged itself; the
  official ``get_rely_judgment``);
- DRFR is the share of satisfied questions pooled over all questions of all items.

Verdicts come from two places, as in the official pipeline (``eval.sh``):

- questions without a rule: an LLM judge shown the official evaluation prompt (from a file
  the user supplies, with ``{input}``, ``{output}``, ``{question}``; instruction cut at 6000
  characters, answer at 4000, as ``llm_based_evaluation.py``) through our judge backends;
  the verdict is parsed as the official code does (:func:`parse_verdict`);
- questions with a rule: the official code first has an LLM extract the part of the answer
  the question is about (``llm_based_extraction.py``), then checks the rule on it
  (``con_rule.py``). Only the rule kinds of :mod:`.complexbench_rules` are restated here;
  a question whose rule kind is not among them is left unscored and counted
  (``n_rule_unscored``), never guessed.

The answer scored is the final answer (after the last ``</think>``), as for IFEval.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tunesafe.errors import TunesafeError

ITEM_KEYS = ("main_id", "instruction", "scoring_questions")
QUESTION_KEYS = ("question", "rule", "dep")
LANGUAGES = {"en": ("instruction_en", "question_en"), "zh": ("instruction", "question")}
MAX_INSTRUCTION, MAX_OUTPUT = 6000, 4000  # official llm_based_evaluation.get_payload


def check_items(items: Any, where: str) -> list[dict[str, Any]]:
    """The items of ``data_final.json``, checked: each key the scoring needs, deps in range."""
    if not isinstance(items, list):
        raise TunesafeError(f"{where}: expected a JSON list of ComplexBench items")
    for i, item in enumerate(items, 1):
        missing = [k for k in ITEM_KEYS if k not in item]
        if missing:
            raise TunesafeError(f"{where}: item {i}: missing {', '.join(missing)} (expected the ComplexBench schema)")
        questions = item["scoring_questions"]
        for j, q in enumerate(questions):
            missing = [k for k in QUESTION_KEYS if k not in q]
            if missing:
                raise TunesafeError(f"{where}: item {i} (main_id {item['main_id']}) question {j}: missing "
                                    f"{', '.join(missing)}")
            bad = [d for d in q["dep"] if not isinstance(d, int) or not 0 <= d < len(questions)]
            if bad:
                raise TunesafeError(f"{where}: item {i} (main_id {item['main_id']}) question {j}: dep {bad} "
                                    f"outside 0..{len(questions) - 1}")
    return items


def load_items(path: str, n: int | None = None) -> list[dict[str, Any]]:
    """The first ``n`` (all) items of a local ``data_final.json``."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            items = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise TunesafeError(f"{path}: cannot read ComplexBench items ({e})") from None
    items = check_items(items, path)
    return items[:n] if n else items


def as_prompt_items(items: list[dict[str, Any]], language: str = "en") -> list[dict[str, Any]]:
    """Items in the shape :func:`tunesafe.thinking.ifeval.prompts` takes (key, prompt)."""
    field = LANGUAGES[language][0]
    return [{"key": item["main_id"], "prompt": item.get(field) or item["instruction"], "instruction_id_list": []}
            for item in items]


def drfr_judgments(verdicts: list[bool | None], deps: list[list[int]]) -> list[bool | None]:
    """Per question: satisfied under the dependencies (official ``get_rely_judgment``): its own
    verdict, False if the raw verdict of any direct dependency is False. None (unscored)
    stays None unless a dependency is False."""
    out: list[bool | None] = []
    for verdict, dep in zip(verdicts, deps, strict=True):
        out.append(False if any(verdicts[d] is False for d in dep) else verdict)
    return out


def drfr(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """DRFR (percent) pooled over every scored question of ``rows`` (``judged``: the
    dependency-aware verdicts), plus the counts."""
    scored = [v for r in rows for v in r["judged"] if v is not None]
    unscored = sum(v is None for r in rows for v in r["judged"])
    return {"drfr": 100.0 * sum(scored) / len(scored) if scored else float("nan"), "n_items": len(rows),
            "n_questions": len(scored) + unscored, "n_rule_unscored": unscored}


def parse_verdict(reply: str) -> bool:
    """The official verdict parse: exactly one "答案：是"/"答案：否" decides; otherwise yes only if
    "是" occurs and "否" does not."""
    import re

    found = re.findall(r"答案：是|答案：否", reply)
    if len(found) == 1:
        return "是" in found[0]
    return "是" in reply and "否" not in reply


def fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` replaced by its value in one pass (the official
    prompts' placeholders; other braces are left alone, and a value's own braces too)."""
    import re

    for name in values:
        if "{" + name + "}" not in template:
            raise TunesafeError(f"ComplexBench prompt file has no {{{name}}} placeholder")
    pattern = re.compile("|".join(re.escape("{" + n + "}") for n in values))
    return pattern.sub(lambda m: values[m.group(0)[1:-1]], template)


def prompt_rows(items: list[dict[str, Any]], language: str = "en") -> list[dict[str, Any]]:
    """Items with the fields the arm's prompt builder reads: ``key`` (main_id), ``prompt`` (the
    instruction in ``language``) and an empty ``instruction_id_list``."""
    return [{**item, **p} for item, p in zip(items, as_prompt_items(items, language), strict=True)]


def score_rows(items: list[dict[str, Any]], responses: list[dict[str, Any]], grade: Callable[[list[str]], list[str]],
               judge_prompt: str, extract_prompt: str, language: str = "en") -> list[dict[str, Any]]:
    """Per item: each question's raw verdict (True/False, None: rule kind not restated) and
    its dependency-aware verdict. ``grade`` sends prompts to the judge and returns its replies
    (one call for every judge and extraction prompt); ``judge_prompt`` is the official
    evaluation prompt ({input}, {output}, {question}), ``extract_prompt`` the official
    extraction prompt ({instruction}, {response}, {question})."""
    from tunesafe.thinking.complexbench_rules import KINDS, check, extracted_parts
    from tunesafe.thinking.ifeval import final_answer

    instruction_field, question_field = LANGUAGES[language]
    by_id = {str(r["id"]): r for r in responses}
    prompts: list[str] = []
    plan = []  # per item: (answer, [(question, index into prompts or None)])
    for item in items:
        r = by_id.get(str(item["main_id"]))
        if r is None:
            raise TunesafeError(f"no response with id {item['main_id']!r} (expected one per main_id)")
        answer = final_answer(r["response"])
        instruction = (item.get(instruction_field) or item["instruction"])[:MAX_INSTRUCTION]
        shown = answer[:MAX_OUTPUT] if answer else "None"
        asks = []
        for q in item["scoring_questions"]:
            question = q.get(question_field) or q["question"]
            if q["rule"] is None:
                prompts.append(fill(judge_prompt, input=instruction, output=shown, question=question))
            elif q["rule"].partition(":")[0] in KINDS:
                prompts.append(fill(extract_prompt, instruction=instruction, response=shown, question=question))
            else:
                asks.append((q, None))
                continue
            asks.append((q, len(prompts) - 1))
        plan.append((answer, asks))
    replies = grade(prompts) if prompts else []
    rows = []
    for item, (answer, asks) in zip(items, plan, strict=True):
        verdicts: list[bool | None] = []
        for q, at in asks:
            if at is None:
                verdicts.append(None)
            elif q["rule"] is None:
                verdicts.append(parse_verdict(replies[at]))
            else:
                verdicts.append(check(q["rule"], extracted_parts(answer, replies[at])))
        deps = [q["dep"] for q in item["scoring_questions"]]
        rows.append({"key": item["main_id"], "verdicts": verdicts, "judged": drfr_judgments(verdicts, deps),
                     "rules": [q["rule"] for q in item["scoring_questions"]]})
    return rows
