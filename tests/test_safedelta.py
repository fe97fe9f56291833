"""Safe Delta against a plain reference written from the formulas, and its properties."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from tunesafe.data import toy
from tunesafe.io import write_jsonl
from tunesafe.safedelta.algorithm import (
    EXCLUDE,
    HessianAccumulator,
    inverse_cholesky,
    quadratic_cost,
    safe_delta,
    select,
)

# --- the reference: per linear, no caching, no lazy updates ---------------------------------

def reference_hessian(xs: list[torch.Tensor]) -> torch.Tensor:
    """H = 2/N sum_n X_n X_n^T, conditioned (dead -> 1, + 1% mean diagonal)."""
    H = sum(2.0 / len(xs) * x.double().T @ x.double() for x in xs)
    diag = torch.diagonal(H)
    diag[diag == 0] = 1.0
    diag += 0.01 * diag.mean()
    return H


def reference_safe_delta(W, W_sft, H, s, compensate=True, block=2048, subblock=4):
    """Safe Delta from the formulas: H^-1 by a plain inverse, the OBS update applied at once
    to *all* later columns after every sub-block, selection by a Python sort."""
    U = torch.linalg.cholesky(torch.linalg.inv(H), upper=True)  # H^-1 = U^T U
    W, W_sft = W.double().clone(), W_sft.double()
    d_out, d_in = W.shape
    for i1 in range(0, d_in, block):
        i2 = min(i1 + block, d_in)
        b = i2 - i1
        kappa = [1.0 / float(U[j, j]) ** 2 for j in range(i1, i2)]
        # entry t = (row i, column j) = divmod(t, b); order by kappa, ties by column then row
        entries = sorted(range(d_out * b), key=lambda t: (kappa[t % b], t % b, t // b))
        entries = entries[: len(entries) - int(EXCLUDE * len(entries))]
        budget = sum(kappa) / b * (s / 2) * (d_out / 4096)
        chosen, spent = set(), 0.0
        for t in entries:
            i, j = divmod(t, b)
            spent += float(W_sft[i, i1 + j] - W[i, i1 + j]) ** 2 * kappa[j]
            if spent > budget:
                break
            chosen.add((i, j))
        mask = torch.zeros(d_out, b, dtype=torch.bool)
        for i, j in chosen:
            mask[i, j] = True
        for j1 in range(0, b, subblock):
            j2 = min(j1 + subblock, b)
            cols = slice(i1 + j1, i1 + j2)
            q = torch.where(mask[:, j1:j2], W_sft[:, cols], W[:, cols])
            if compensate:
                e = (W[:, cols] - q) / torch.diagonal(U)[cols]
                W[:, i1 + j2:] -= e @ U[cols, i1 + j2:]
            W[:, cols] = q
    return W.float()


def random_layer(d_out=24, d_in=40, samples=6, tokens=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(tokens, d_in, generator=g) for _ in range(samples)]
    W = torch.randn(d_out, d_in, generator=g) * 0.1
    W_sft = W + torch.randn(d_out, d_in, generator=g) * 0.02
    return xs, W, W_sft


def fast_U(xs):
    acc = HessianAccumulator(xs[0].shape[1])
    for x in xs:
        acc.add(x)
    return acc.H, inverse_cholesky(acc.H)


@pytest.mark.parametrize("s", [0.5, 5.0, 50.0])
@pytest.mark.parametrize("block", [2048, 16])
@pytest.mark.parametrize("compensate", [True, False])
def test_fast_path_equals_the_reference(s, block, compensate):
    xs, W, W_sft = random_layer()
    _, U = fast_U(xs)
    fast = safe_delta(W, W_sft, U, s, compensate=compensate, block=block)
    ref = reference_safe_delta(W, W_sft, reference_hessian(xs), s, compensate=compensate, block=block)
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-5)


def test_accumulated_hessian_is_the_mean_of_2_x_xT():
    xs, _, _ = random_layer()
    H, _ = fast_U(xs)
    torch.testing.assert_close(H.double(), sum(2.0 / len(xs) * x.double().T @ x.double() for x in xs), rtol=1e-5, atol=1e-5)


def test_zero_budget_returns_the_original_weights():
    xs, W, W_sft = random_layer()
    assert torch.equal(safe_delta(W, W_sft, fast_U(xs)[1], 0.0), W)


def test_huge_budget_selects_everything_outside_the_excluded_15_percent():
    xs, W, W_sft = random_layer()
    _, U = fast_U(xs)
    kappa = 1.0 / torch.diagonal(U) ** 2
    mask = select(W, W_sft, kappa, 1e12, W.shape[0])
    n_excluded = int(EXCLUDE * W.numel())
    assert int(mask.sum()) == W.numel() - n_excluded
    columns = torch.argsort(kappa, stable=True)
    excluded = mask[:, columns].T.reshape(-1)[-n_excluded:]
    assert not excluded.any(), "the largest-kappa entries are never selected"
    out = safe_delta(W, W_sft, U, 1e12)
    assert torch.equal(out[mask], W_sft[mask]), "selected entries take W_sft exactly"


@pytest.mark.parametrize("seed", range(5))
def test_selected_entries_equal_w_sft_and_compensation_lowers_the_safety_cost(seed):
    xs, W, W_sft = random_layer(seed=seed)
    H, U = fast_U(xs)
    s = 20.0
    mask = select(W, W_sft, 1.0 / torch.diagonal(U) ** 2, s, W.shape[0])
    assert mask.any() and not mask.all()
    with_scv = safe_delta(W, W_sft, U, s, block=W.shape[1])
    without = safe_delta(W, W_sft, U, s, compensate=False, block=W.shape[1])
    assert torch.equal(with_scv[mask], W_sft[mask]) and torch.equal(without[mask], W_sft[mask])
    assert torch.equal(without[~mask], W[~mask])
    H_damped = reference_hessian(xs)
    assert quadratic_cost(with_scv - W, H_damped) <= quadratic_cost(without - W, H_damped)


def test_a_singular_hessian_is_handled_by_the_conditioning():
    xs, W, W_sft = random_layer(d_in=12)
    xs = [torch.cat([x[:, :6], torch.zeros(x.shape[0], 6)], dim=1) for x in xs]  # 6 dead inputs
    xs = [x[:2] for x in xs[:1]]  # rank 2 of 12
    H, U = fast_U(xs)
    assert torch.linalg.matrix_rank(H) == 2
    assert torch.isfinite(U).all()
    out = safe_delta(W, W_sft, U, 5.0)
    assert torch.isfinite(out).all()
    assert torch.isfinite(inverse_cholesky(torch.zeros(5, 5))).all()


# --- the cached driver on a tiny model -----------------------------------------------------

def test_cached_hessians_and_apply_equal_the_reference_on_a_tiny_model(tmp_path, model_copy):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunesafe.safedelta.apply import apply
    from tunesafe.safedelta.hessian import compute_hessians, safety_samples
    from tunesafe.train.sft import TrainSettings, train

    safety = tmp_path / "safety.jsonl"
    write_jsonl(safety, toy.alignment(16, 0)[::2])  # refusals only
    data = tmp_path / "purebad.jsonl"
    write_jsonl(data, toy.purebad(8, 0))
    ft = tmp_path / "ft"
    train(str(model_copy), [str(data)], str(ft), TrainSettings(epochs=2, lr=1e-2, global_batch=4, micro_batch=4, max_length=96))
    hdir = tmp_path / "H"
    meta = compute_hessians(str(model_copy), str(safety), 6, str(hdir), max_length=96)
    assert meta["nsamples"] == 6 and sorted(meta["groups"]) == ["attn_in", "attn_out", "mlp_in", "mlp_out"]
    assert sorted(load_file(hdir / "layer_000.safetensors")) == ["attn_in", "attn_out", "mlp_in", "mlp_out"]
    out = tmp_path / "sd"
    apply(str(model_copy), str(ft), str(hdir), 200.0, str(out))

    # reference: one H per linear from its own hook, no cache
    tok = AutoTokenizer.from_pretrained(model_copy)
    model = AutoModelForCausalLM.from_pretrained(model_copy).eval()
    inputs: dict[str, list[torch.Tensor]] = {}

    def recorder(name):
        return lambda _m, inp, _out: inputs.setdefault(name, []).append(inp[0][0].detach())

    hooks = [m.register_forward_hook(recorder(n)) for n, m in model.named_modules()
             if isinstance(m, torch.nn.Linear) and ".layers." in n]
    with torch.no_grad():
        for messages in safety_samples(str(safety), 6):
            text = tok.apply_chat_template(messages, tokenize=False)
            model(input_ids=tok(text, add_special_tokens=False, truncation=True, max_length=96, return_tensors="pt")["input_ids"])
    for h in hooks:
        h.remove()
    aligned, tuned, result = (load_file(p / "model.safetensors") for p in (model_copy, ft, out))
    changed = 0
    for name, xs in inputs.items():
        key = f"{name}.weight"
        ref = reference_safe_delta(aligned[key], tuned[key], reference_hessian(xs), 200.0)
        torch.testing.assert_close(result[key], ref, rtol=0, atol=1e-5)
        changed += int((result[key] != aligned[key]).sum())
    assert changed > 0
    assert torch.equal(result["model.embed_tokens.weight"], aligned["model.embed_tokens.weight"])
    assert json.loads((out / "safedelta_summary.json").read_text())["scale"] == 200.0


def test_safety_templates_rotate_over_the_samples_after_the_seed_42_shuffle(tmp_path):
    """Official get_safe_data: shuffle with seed 42, take N, then template i % 4 (system prompt
    and user wrapper) for sample i; a sample's own system turn is replaced."""
    import random

    from tunesafe.safedelta.hessian import safety_samples

    rows = [{"id": str(i), "messages": [{"role": "system", "content": "own"}, {"role": "user", "content": f"q{i}"},
                                        {"role": "assistant", "content": f"a{i}"}], "meta": {}} for i in range(10)]
    path = tmp_path / "safety.jsonl"
    write_jsonl(path, rows)
    templates = [{"system_prompt": "P", "user_template": "%s"}, {"system_prompt": "A", "user_template": "AOA: %s"},
                 {"system_prompt": "M", "user_template": "Q: %s. Think."}, {"system_prompt": "P", "user_template": "%s"}]
    order = list(range(10))
    random.Random(42).shuffle(order)  # the rows the official code takes, in its order
    samples = safety_samples(str(path), 6, 42, templates)
    for i, (k, messages) in enumerate(zip(order[:6], samples, strict=True)):
        expected_user = [f"q{k}", f"AOA: q{k}", f"Q: q{k}. Think.", f"q{k}"][i % 4]
        assert messages[0] == {"role": "system", "content": templates[i % 4]["system_prompt"]}
        assert messages[1]["content"] == expected_user
        assert messages[2]["content"] == f"a{k}" and len(messages) == 3


def test_safety_sample_without_eos_ends_with_the_answer_and_is_not_truncated(tiny_tokenizer_dir):
    from transformers import AutoTokenizer

    from tunesafe.safedelta.hessian import sample_ids

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Do a bad thing."},
                {"role": "assistant", "content": "I cannot help with that. " * 20}]
    with_eos, without = sample_ids(tok, messages, None, True), sample_ids(tok, messages, None, False)
    assert with_eos[-1] == tok.eos_token_id and without[-1] != tok.eos_token_id
    assert tok.decode(without).rstrip().endswith("I cannot help with that.")
    assert len(sample_ids(tok, messages, 16, False)) == 16 and len(without) > 16


@pytest.mark.parametrize("chunk", [4, 8, 2048])
def test_lazy_update_granularity_does_not_change_the_result(chunk):
    xs, W, W_sft = random_layer(d_in=40)
    _, U = fast_U(xs)
    torch.testing.assert_close(safe_delta(W, W_sft, U, 20.0, chunk=chunk, block=16),
                               safe_delta(W, W_sft, U, 20.0, chunk=16, block=16), rtol=0, atol=1e-6)


def test_a_lora_finetune_is_merged_before_safe_delta(tmp_path, model_copy):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tunesafe.safedelta.apply import apply
    from tunesafe.safedelta.hessian import compute_hessians
    from tunesafe.train.sft import TrainSettings, train

    data = tmp_path / "purebad.jsonl"
    write_jsonl(data, toy.purebad(8, 0))
    adapter = tmp_path / "lora"
    train(str(model_copy), [str(data)], str(adapter), TrainSettings(
        method="lora", epochs=2, lr=5e-2, global_batch=4, micro_batch=4, max_length=96,
        lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}))
    safety = tmp_path / "safety.jsonl"
    write_jsonl(safety, toy.alignment(8, 0)[::2])
    compute_hessians(str(model_copy), str(safety), 4, str(tmp_path / "H"), max_length=96)
    apply(str(model_copy), str(adapter), str(tmp_path / "H"), 1e12, str(tmp_path / "sd"))

    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(model_copy), adapter).merge_and_unload()
    W_sft = merged.state_dict()["model.layers.0.self_attn.q_proj.weight"]
    W = load_file(model_copy / "model.safetensors")["model.layers.0.self_attn.q_proj.weight"]
    out = load_file(tmp_path / "sd" / "model.safetensors")["model.layers.0.self_attn.q_proj.weight"]
    assert not torch.allclose(W_sft, W)
    selected = out == W_sft
    assert 0.84 < selected.float().mean() < 0.86, "a huge s takes W_sft everywhere outside the excluded 15%"
    k_out = load_file(tmp_path / "sd" / "model.safetensors")["model.layers.0.self_attn.k_proj.weight"]
    k_orig = load_file(model_copy / "model.safetensors")["model.layers.0.self_attn.k_proj.weight"]
    assert torch.allclose(k_out, k_orig, atol=1e-6), "k_proj had no adapter: its delta is zero"


# --- the safety set, the rest of the model, a mismatched cache --------------------------------

def test_the_safety_set_from_generations_rotates_the_system_prompts_and_needs_an_answer():
    """The official safety set (other_self_gen.json): the aligned model's own answers to
    harmful-looking requests; the system prompts are handed to the samples in turn and the
    generation's own system turn is dropped."""
    from tunesafe.errors import TunesafeError
    from tunesafe.safedelta.hessian import safety_set_from_generations

    gens = [{"id": f"g{i}", "messages": [{"role": "system", "content": "old"}, {"role": "user", "content": f"q{i}"}],
             "response": f"a{i}", "meta": {"k": i}} for i in range(5)]
    records = safety_set_from_generations(gens, ["A", "B"])
    assert [r["messages"][0] for r in records] == [{"role": "system", "content": s} for s in "ABABA"]
    assert [[m["content"] for m in r["messages"][1:]] for r in records] == [[f"q{i}", f"a{i}"] for i in range(5)]
    assert [r["messages"][2]["role"] for r in records] == ["assistant"] * 5
    assert records[3]["meta"] == {"k": 3, "safety_set": True} and records[3]["id"] == "g3"
    plain = safety_set_from_generations(gens[:1], [])
    assert plain[0]["messages"] == [{"role": "user", "content": "q0"}, {"role": "assistant", "content": "a0"}]
    chat = [{"id": "c", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]
    assert safety_set_from_generations(chat, ["S"])[0]["messages"][-1] == {"role": "assistant", "content": "a"}
    with pytest.raises(TunesafeError, match=r"safety sample 2 \(x\) has neither a response nor a final assistant"):
        safety_set_from_generations([gens[0], {"id": "x", "messages": [{"role": "user", "content": "q"}]}], ["S"])
    with pytest.raises(TunesafeError, match="no generations"):
        safety_set_from_generations([], ["S"])


@pytest.fixture
def perturbed_finetune(tmp_path, model_copy):
    """A 'fine-tune' with every tensor moved (embeddings and norms too) and 2 safety Hessians."""
    import shutil

    from safetensors.torch import save_file

    from tunesafe.safedelta.hessian import compute_hessians

    ft = tmp_path / "ft"
    shutil.copytree(model_copy, ft)
    g = torch.Generator().manual_seed(3)
    state = load_file(model_copy / "model.safetensors")
    save_file({k: v + 0.01 * torch.randn(v.shape, generator=g) for k, v in state.items()},
              ft / "model.safetensors", metadata={"format": "pt"})
    safety = tmp_path / "safety.jsonl"
    write_jsonl(safety, toy.alignment(4, 0))
    compute_hessians(str(model_copy), str(safety), 2, str(tmp_path / "H"), max_length=48)
    return model_copy, ft, tmp_path / "H"


def test_apply_takes_the_rest_of_the_model_from_the_finetune_when_asked(tmp_path, perturbed_finetune):
    """keep_aligned_rest=False: embeddings, norms and the head come from the fine-tune; the
    decoder linears are Safe Delta's either way."""
    from tunesafe.safedelta.apply import apply

    aligned, ft, hdir = perturbed_finetune
    apply(str(aligned), str(ft), str(hdir), 5.0, str(tmp_path / "kept"))
    summary = apply(str(aligned), str(ft), str(hdir), 5.0, str(tmp_path / "rest"), keep_aligned_rest=False)
    assert summary["keep_aligned_rest"] is False
    W, W_ft = load_file(aligned / "model.safetensors"), load_file(ft / "model.safetensors")
    kept, rest = load_file(tmp_path / "kept" / "model.safetensors"), load_file(tmp_path / "rest" / "model.safetensors")
    linears = [k for k in W if ".layers." in k and k.endswith("_proj.weight")]
    others = [k for k in W if k not in linears]
    assert len(linears) == 14 and "model.embed_tokens.weight" in others and "model.norm.weight" in others
    for k in others:
        assert torch.equal(kept[k], W[k]) and torch.equal(rest[k], W_ft[k]), k
    for k in linears:
        assert torch.equal(kept[k], rest[k]), k
        assert not torch.equal(rest[k], W_ft[k]) and not torch.equal(rest[k], W[k]), k


def test_hessians_of_another_model_are_an_error_naming_both(tmp_path, perturbed_finetune):
    from tunesafe.errors import TunesafeError
    from tunesafe.safedelta.apply import apply

    aligned, ft, hdir = perturbed_finetune
    meta = json.loads((hdir / "meta.json").read_text())
    (hdir / "meta.json").write_text(json.dumps({**meta, "num_layers": 32}))
    with pytest.raises(TunesafeError, match=r"H: Hessians of a llama with 32 layers do not fit .*model \(llama, 2 layers\)"):
        apply(str(aligned), str(ft), str(hdir), 5.0, str(tmp_path / "out"))
    (hdir / "meta.json").write_text(json.dumps({**meta, "model_type": "mistral"}))
    with pytest.raises(TunesafeError, match="Hessians of a mistral with 2 layers"):
        apply(str(aligned), str(ft), str(hdir), 5.0, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
