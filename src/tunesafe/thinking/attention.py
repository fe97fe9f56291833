"""Constraint attention (When Thinking Fails, arXiv 2505.11423, Sec. 5).

For an item, C is the token set of its constraint text (from the character spans the item
records: ``constraint_spans``, offsets into ``prompt``: exact in the toy IFEval, located from
the instructions for real IFEval, :mod:`.spans`; an item with no span is skipped). One teacher-forced forward pass
with eager attention over the rendered prompt + the model's own response gives, per layer
l and answer token t, the attention mass on C averaged over heads,
``a_l(t) = mean_h sum_{j in C} A_{l,h}[t, j]``; averaged over the answer tokens it is
``beta_l`` (the answer: the text after the last ``</think>``, the whole response when
direct). Teacher forcing gives the same attention rows as generation did, in one pass.

``beta_l`` shrinks with context length alone (softmax over more keys), and the CoT answer
sits behind the thinking, so we also report a length-normalised variant (our choice): each
``a_l(t)`` divided by the share of C under uniform attention, ``|C| / (t + 1)`` (causal
context of token t), before averaging.

Per item the drop ``beta_direct - beta_cot`` per layer is split by how CoT changed the
item's prompt-level strict result: ``fixes`` (direct failed, CoT passed), ``breaks``
(direct passed, CoT failed), and ``all``. Hugging Face models only (eager attention).
"""

from __future__ import annotations

from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.thinking.ifeval import final_answer


def token_sets(offsets: list[tuple[int, int]], spans: list[tuple[int, int]], answer_start: int) -> tuple[list[int], list[int]]:
    """(C, answer tokens): positions whose character range overlaps a constraint span, and
    positions starting at or after ``answer_start`` (offsets of the full text)."""
    c = [i for i, (a, b) in enumerate(offsets) if b > a and any(a < e and b > s for s, e in spans)]
    ans = [i for i, (a, b) in enumerate(offsets) if b > a and a >= answer_start]
    return c, ans


def beta(attentions: list[Any], c: list[int], answer: list[int]) -> tuple[list[float], list[float]]:
    """(beta_l, normalised beta_l) per layer from attentions [1, heads, T, T] per layer."""
    import torch

    rows, cols = torch.tensor(answer), torch.tensor(c)
    uniform = len(c) / (rows.float() + 1)                     # [A]: |C| / context length
    raw, norm = [], []
    for layer in attentions:
        mass = layer[0].mean(0)[rows][:, cols].sum(-1).float()  # [A]: mean over heads, sum over C
        raw.append(mass.mean().item())
        norm.append((mass / uniform).mean().item())
    return raw, norm


def _locate(item: dict[str, Any], gen: dict[str, Any]) -> tuple[str, list[tuple[int, int]], int]:
    """Full text, constraint spans in it, and where the final answer starts."""
    prompt_text = gen.get("prompt_text")
    if not prompt_text:
        raise TunesafeError(f"generation {gen.get('id')!r}: no prompt_text (expected `tunesafe generate` output)")
    at = prompt_text.find(item["prompt"])
    if at < 0:
        raise TunesafeError(f"generation {gen.get('id')!r}: the item's prompt is not in prompt_text")
    spans = [(at + s, at + e) for s, e in item["constraint_spans"]]
    response = gen["response"]
    answer = final_answer(response)
    start = len(prompt_text) + (response.rfind(answer) if answer else len(response))
    return prompt_text + response, spans, start


def item_betas(model: Any, tokenizer: Any, item: dict[str, Any], gen: dict[str, Any]) -> dict[str, Any] | None:
    """beta per layer (raw, normalised) of one generation; None when C or the answer is empty."""
    import torch

    text, spans, start = _locate(item, gen)
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False, return_tensors="pt")
    offsets = [tuple(o) for o in enc.pop("offset_mapping")[0].tolist()]
    c, answer = token_sets(offsets, spans, start)
    if not c or not answer:
        return None
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"].to(model.device), output_attentions=True)
    raw, norm = beta(list(out.attentions), c, answer)
    return {"beta": raw, "beta_norm": norm, "n_c": len(c), "n_answer": len(answer), "length": len(offsets)}


def run(model_ref: str, items: list[dict[str, Any]], gens: dict[str, list[dict[str, Any]]],
        passed: dict[str, dict[str, bool]], limit: int | None = None) -> list[dict[str, Any]]:
    """Per item: betas of both conditions and the case (fixes, breaks, same)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_ref)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_ref, attn_implementation="eager").to(device).eval()
    by_id = {c: {str(g["id"]): g for g in rows} for c, rows in gens.items()}
    out = []
    for item in items[:limit] if limit else items:
        if "constraint_spans" not in item:
            raise TunesafeError(f"item {item['key']}: no constraint_spans (`tunesafe thinking prepare` adds them)")
        key = str(item["key"])
        betas = {c: item_betas(model, tokenizer, item, by_id[c][key]) for c in ("direct", "cot")}
        if None in betas.values():
            continue
        d, t = passed["direct"][key], passed["cot"][key]
        case = "fixes" if t and not d else "breaks" if d and not t else "same"
        out.append({"key": item["key"], "case": case, **{c: b for c, b in betas.items()}})
    return out


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per case (all, fixes, breaks) and layer: n, mean beta direct / CoT and the drop, raw and
    normalised."""
    out = []
    for case in ("all", "fixes", "breaks"):
        mine = [r for r in rows if case == "all" or r["case"] == case]
        if not mine:
            continue
        for layer in range(len(mine[0]["direct"]["beta"])):
            row: dict[str, Any] = {"case": case, "layer": layer, "n": len(mine)}
            for kind in ("beta", "beta_norm"):
                d = sum(r["direct"][kind][layer] for r in mine) / len(mine)
                c = sum(r["cot"][kind][layer] for r in mine) / len(mine)
                row.update({f"{kind}_direct": d, f"{kind}_cot": c, f"{kind}_drop": d - c})
            out.append(row)
    return out
