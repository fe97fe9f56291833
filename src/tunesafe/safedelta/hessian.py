"""Safety Hessians of an aligned model, computed once and cached (Safe Delta, Sec. 4.1).

Inputs to decoder layer l come from the *unmodified aligned model*, so H depends only on
(aligned model, safety set, N) and serves every fine-tune of that model. Linears that read
the same input share one Hessian (q/k/v; gate/up), so a Llama layer has four, not seven.

The safety samples follow the official ``get_safe_data`` (ColinLu50/SafeDelta,
``llama2/safedelta/safedelta_runner.py``): the set is shuffled with seed 42, the first N are
taken, and *then* prompt templates are given to them in turn (official: pure_bad, aoa, math,
pure_bad; a template is a system prompt and a user wrapper, ``templates``). The official
code appends no EOS to the answer and truncates nothing; ``eos=False`` and
``max_length=None`` do the same (the toy config keeps the chat template's EOS and a cap).

Cache format (a directory):

- ``meta.json``: ``{"model", "model_type", "nsamples", "max_length", "percdamp",
  "groups": {group: [linears]}, "num_layers", "safety_set_sha256"}``;
- ``layer_<l>.safetensors`` (l zero-padded to 3 digits): one fp32 tensor per group,
  key = group name, value = U, the upper Cholesky factor of the conditioned H^-1
  (shape (d_in, d_in)); U is all that the selection and compensation need, so the
  per-fine-tune cost of the Cholesky factorisations is paid once here.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from tunesafe.data.records import with_template
from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path, read_jsonl
from tunesafe.safedelta.algorithm import PERCDAMP, HessianAccumulator, inverse_cholesky
from tunesafe.safedelta.arch import architecture
from tunesafe.weights import check_model


def safety_set_from_generations(generations: list[dict[str, Any]], system_prompts: list[str]) -> list[dict[str, Any]]:
    """Chat records (request -> the aligned model's own answer), the official safety set's
    recipe (``other_self_gen.json``); ``system_prompts`` are given to the samples in turn."""
    if not generations:
        raise TunesafeError("no generations to build the safety set from")
    records = []
    for i, g in enumerate(generations):
        turns = [m for m in g["messages"] if m["role"] != "system"]
        if "response" in g:  # a generations file; else chat records that end with the answer
            turns = [*turns, {"role": "assistant", "content": g["response"]}]
        if turns[-1]["role"] != "assistant":
            raise TunesafeError(f"safety sample {i + 1} ({g['id']}) has neither a response nor a final assistant turn")
        if system_prompts:
            turns = [{"role": "system", "content": system_prompts[i % len(system_prompts)]}, *turns]
        records.append({"id": g["id"], "messages": turns,
                        "meta": dict(g.get("meta", {}), safety_set=True)})
    return records


def apply_safety_template(messages: list[dict[str, str]], template: dict[str, str | None]) -> list[dict[str, str]]:
    """A safety sample in one prompt template: its system turn replaced by the template's
    ``system_prompt`` (none when empty) and its first user turn wrapped in ``user_template``."""
    turns = [m for m in messages if m["role"] != "system"]
    return with_template(turns, template.get("system_prompt"), template.get("user_template") or "%s")


def safety_samples(path: str, nsamples: int, seed: int = 42,
                   templates: list[dict[str, str | None]] | None = None) -> list[list[dict[str, str]]]:
    """``nsamples`` conversations of the safety set, shuffled with ``seed`` (official: 42),
    then sample i put in ``templates[i % len(templates)]`` (after the shuffle, as official)."""
    rows = read_jsonl(path)
    if len(rows) < nsamples:
        raise TunesafeError(f"{path}: {len(rows)} safety samples, fewer than nsamples={nsamples}")
    random.Random(seed).shuffle(rows)
    samples = [r["messages"] for r in rows[:nsamples]]
    if templates:
        samples = [apply_safety_template(m, templates[i % len(templates)]) for i, m in enumerate(samples)]
    return samples


def sample_ids(tokenizer, messages: list[dict[str, str]], max_length: int | None, eos: bool) -> list[int]:
    """Token ids of one safety sample: the chat template's rendering (with its end-of-turn
    EOS), or with ``eos=False`` the prompt's rendering followed by the answer and no EOS (the
    official concatenation of prompt and response tokens); truncated to ``max_length`` if set."""
    if eos or messages[-1]["role"] != "assistant":
        text = tokenizer.apply_chat_template(messages, tokenize=False)
    else:
        prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        text = prompt + " " + messages[-1]["content"].strip()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids[:max_length] if max_length else ids


def _get(module: torch.nn.Module, path: str) -> Any:
    for part in path.split("."):
        module = getattr(module, part)
    return module


def _accumulate_into(acc: HessianAccumulator):
    """A forward hook that adds the linear's input of one sample, (1, T, d_in), to ``acc``."""

    def hook(_module, inputs, _output):
        acc.add(inputs[0][0])  # (T, d_in)

    return hook


@torch.no_grad()
def compute_hessians(model_path: str, safety_path: str, nsamples: int, out_dir: str, max_length: int | None = 512,
                     seed: int = 42, device: str | None = None, templates: list[dict[str, str | None]] | None = None,
                     eos: bool = True) -> dict[str, Any]:
    """One forward pass of the aligned model per safety sample; hooks accumulate H."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    check_model(model_path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(device).eval()
    arch = architecture(model.config.model_type)
    layers = _get(model, arch.layers)

    acc: dict[tuple[int, str], HessianAccumulator] = {}
    handles = []
    for li, layer in enumerate(layers):  # li: decoder layer index l
        for group, names in arch.groups.items():
            linear = _get(layer, names[0])  # one hook per group: its linears share the input
            acc[li, group] = HessianAccumulator(linear.in_features, device)
            handles.append(linear.register_forward_hook(_accumulate_into(acc[li, group])))
    for messages in tqdm(safety_samples(safety_path, nsamples, seed, templates), desc="safety hessian", mininterval=10):
        ids = torch.tensor([sample_ids(tokenizer, messages, max_length, eos)], device=device)  # (1, T): no padding
        model(input_ids=ids, use_cache=False)
    for h in handles:
        h.remove()

    digest = hashlib.sha256(Path(safety_path).read_bytes()).hexdigest()
    meta = {"model": str(model_path), "model_type": model.config.model_type, "nsamples": nsamples,
            "max_length": max_length, "eos": eos, "templates": templates or [], "seed": seed,
            "percdamp": PERCDAMP, "num_layers": len(layers),
            "groups": {g: list(n) for g, n in arch.groups.items()}, "safety_set_sha256": digest}
    with atomic_path(out_dir, directory=True) as tmp:
        for li in range(len(layers)):
            tensors = {g: inverse_cholesky(acc.pop((li, g)).H).cpu().contiguous() for g in arch.groups}
            save_file(tensors, str(tmp / f"layer_{li:03d}.safetensors"))
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
