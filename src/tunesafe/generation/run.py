"""Generate responses for a prompt set and write the generations contract of docs/design.md."""

from __future__ import annotations

import dataclasses
from typing import Any

from tunesafe.data.records import with_template
from tunesafe.errors import TunesafeError
from tunesafe.generation import SamplingSettings, load_engine
from tunesafe.generation.budget import budget_forced, check_budget
from tunesafe.io import read_jsonl, write_jsonl
from tunesafe.weights import check_model


def generate_file(engine: str, model: str, prompts_path: str, out_path: str, sampling: SamplingSettings,
                  adapter: str | None = None, system_prompt: str | None = None, user_template: str = "%s",
                  limit: int | None = None, multi_turn: bool = False,
                  category_temperature: dict[str, float] | None = None, thinking_budget: int | None = None,
                  chat_template_kwargs: dict[str, Any] | None = None, **engine_options: Any) -> int:
    """One line ``{"id", "messages", "response", "meta"[, "reference"]}`` per prompt, in order.

    ``multi_turn``: every prompt carries its user turns in ``meta["turns"]`` (MT-Bench); turn
    t of all prompts is generated as one batch with the model's own earlier answers in the
    conversation, and each line gets ``"responses"`` (one per turn; ``"response"`` = the last).

    A prompt record may carry ``"assistant_prefix"``: raw text the assistant turn starts
    with; the engine continues it and the response is prefix + continuation.

    ``category_temperature`` maps ``meta["category"]`` to the sampling temperature of that
    category's prompts (FastChat's MT-Bench answers: writing and roleplay 0.7, stem and
    humanities 0.1, the rest greedy); other prompts use ``sampling``. Each temperature's
    prompts are generated as one group, and the lines keep the prompt set's order.

    ``thinking_budget``: budget forcing (:mod:`tunesafe.generation.budget`): each response's
    thinking is cut at that many new tokens and closed with ``</think>`` before the answer;
    the lines then carry ``"thinking_budget"``. Not with prefixes or multi-turn prompts.

    ``chat_template_kwargs``: extra chat-template variables (Qwen3: ``{"enable_thinking": false}``),
    for the engine and ``prompt_text``; the lines then carry them.

    Single-turn lines also get ``"prompt_text"``: the prompt rendered by the model's chat
    template, without the leading BOS token (``[INST] <<SYS>>\n...\n<</SYS>>\n\n... [/INST]``
    for Llama-2): the string the official Safe Delta harmfulness judge is shown.
    """
    rows = read_jsonl(prompts_path)[:limit]
    if not rows:
        raise TunesafeError(f"{prompts_path}: no prompts")
    for i, row in enumerate(rows, start=1):
        if not row.get("messages") or row["messages"][-1]["role"] != "user":
            raise TunesafeError(f"{prompts_path}: record {i} must end with a user turn (an evaluation prompt)")
    prompts = [with_template(r["messages"], system_prompt, user_template) for r in rows]
    prefixes = _prefixes(rows, prompts_path, multi_turn, thinking_budget, sampling)
    check_model(model)
    if adapter:
        check_model(adapter, "adapter")
    model_engine = load_engine(engine, model, adapter=adapter, chat_template_kwargs=chat_template_kwargs, **engine_options)
    temperatures = [(category_temperature or {}).get(r.get("meta", {}).get("category"), sampling.temperature)
                    for r in rows]
    turn_responses: list[list[str]] = [[] for _ in rows]
    for temperature in sorted(set(temperatures)):
        idx = [i for i, t in enumerate(temperatures) if t == temperature]
        group = dataclasses.replace(sampling, temperature=temperature)
        sub_rows, sub_prompts = [rows[i] for i in idx], [prompts[i] for i in idx]
        if multi_turn:
            sub_prompts, sub_responses = _multi_turn(model_engine, sub_rows, sub_prompts, group, prompts_path)
            for i, p in zip(idx, sub_prompts, strict=True):
                prompts[i] = p
        elif prefixes:
            sub_prefixes = [prefixes[i] for i in idx]
            continued = model_engine.generate(sub_prompts, group, prefixes=sub_prefixes)
            sub_responses = [[p + r] for p, r in zip(sub_prefixes, continued, strict=True)]
        elif thinking_budget is not None:
            sub_responses = [[r] for r in budget_forced(model_engine, sub_prompts, group, thinking_budget)]
        else:
            sub_responses = [[r] for r in model_engine.generate(sub_prompts, group)]
        for i, responses in zip(idx, sub_responses, strict=True):
            turn_responses[i] = responses
    texts = [None] * len(rows) if multi_turn else prompt_texts(adapter or model, prompts, chat_template_kwargs)
    out = []
    for row, messages, responses, text in zip(rows, prompts, turn_responses, texts, strict=True):
        g = {"id": row["id"], "messages": messages, "response": responses[-1], "meta": row.get("meta", {})}
        if text is not None:
            g["prompt_text"] = text
        if multi_turn:
            g["responses"] = responses
        if "assistant_prefix" in row:
            g["assistant_prefix"] = row["assistant_prefix"]
        if thinking_budget is not None:
            g["thinking_budget"] = thinking_budget
        g.update({"chat_template_kwargs": chat_template_kwargs} if chat_template_kwargs else {})
        if "reference" in row:
            g["reference"] = row["reference"]
        out.append(g)
    return write_jsonl(out_path, out)


def _prefixes(rows: list[dict[str, Any]], source: str, multi_turn: bool, thinking_budget: int | None,
              sampling: SamplingSettings) -> list[str] | None:
    """The records' ``assistant_prefix`` (None when no record has one), after checking that
    the prefixes, the turns and the thinking budget fit together."""
    # Records with "assistant_prefix" (e.g. the MathIF intervention) continue that text: the
    # response is the prefix plus the model's continuation.
    prefixes = [r.get("assistant_prefix", "") for r in rows] if any("assistant_prefix" in r for r in rows) else None
    if multi_turn and prefixes:
        raise TunesafeError(f"{source}: multi-turn prompts cannot carry an assistant_prefix")
    if multi_turn:
        _check_turns(rows, source)
    if thinking_budget is not None:
        if multi_turn or prefixes:
            raise TunesafeError(f"{source}: a thinking budget needs single-turn prompts without assistant_prefix")
        check_budget(thinking_budget, sampling)
    return prefixes


def prompt_texts(tokenizer_path: str, prompts: list[list[dict[str, str]]],
                 chat_template_kwargs: dict[str, Any] | None = None) -> list[str | None]:
    """Each prompt as the chat template renders it for generation, the BOS token dropped (None
    when the tokenizer has no template)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    if tokenizer.chat_template is None:
        return [None] * len(prompts)
    bos = tokenizer.bos_token or ""
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True, **(chat_template_kwargs or {}))
             for p in prompts]
    return [t[len(bos):] if bos and t.startswith(bos) else t for t in texts]


def _check_turns(rows: list[dict[str, Any]], source: str) -> None:
    for i, row in enumerate(rows, start=1):
        t = row.get("meta", {}).get("turns")
        if not isinstance(t, list) or not t or t[0] != row["messages"][-1]["content"]:
            raise TunesafeError(f"{source}: record {i} needs meta.turns starting with its user turn (multi-turn prompts)")


def _multi_turn(model_engine: Any, rows: list[dict[str, Any]], prompts: list[list[dict[str, str]]],
                sampling: SamplingSettings, source: str) -> tuple[list[list[dict[str, str]]], list[list[str]]]:
    """Generate every user turn of ``meta["turns"]`` in order; return the final conversations
    (up to the last user turn) and each prompt's responses, one per turn."""
    turns = [row["meta"]["turns"] for row in rows]  # checked by _check_turns
    conversations = [list(p) for p in prompts]
    responses: list[list[str]] = [[] for _ in rows]
    for t in range(max(len(x) for x in turns)):
        active = [i for i, x in enumerate(turns) if t < len(x)]
        if t > 0:
            for i in active:
                conversations[i] += [{"role": "assistant", "content": responses[i][-1]},
                                     {"role": "user", "content": turns[i][t]}]
        for i, r in zip(active, model_engine.generate([conversations[i] for i in active], sampling), strict=True):
            responses[i].append(r)
    return conversations, responses
