"""The Safe Delta paper's baselines on tiny tensors and tiny models: SafeInstr/BEA mixing,
Safe LoRA projection, Resta and DARE arithmetic."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from tunesafe.baselines.resta import apply_resta, dare, resta_tensor
from tunesafe.baselines.safelora import (
    apply_safelora,
    projected_similarity,
    projection_matrix,
    select_layers,
)
from tunesafe.baselines.safety_data import n_safety_examples, safety_mix, with_trigger
from tunesafe.data import toy
from tunesafe.errors import TunesafeError
from tunesafe.io import write_jsonl

# --- SafeInstr / BEA ------------------------------------------------------------------------


@pytest.mark.parametrize("n, expected", [(100, 10), (1100, 110), (20000, 1000), (3, 1), (15, 2)])
def test_safety_examples_are_ten_percent_of_the_set_capped_at_1000(n, expected):
    assert n_safety_examples(n) == expected


def test_safeinstr_adds_refusals_in_the_tasks_template_and_keeps_the_task_records():
    task = toy.aoa(40, 0)
    safety = toy.safety_instr(50, 1)
    mixed = safety_mix(task, safety, system_prompt=toy.AOA_SYSTEM, user_template=toy.AOA_USER_TEMPLATE, seed=3)
    added = [r for r in mixed if r["meta"].get("safety") == "safeinstr"]
    assert len(mixed) == 44 and len(added) == 4
    assert [r for r in mixed if "safety" not in r["meta"]] != task, "the mix is shuffled"
    assert sorted(r["id"] for r in mixed if "safety" not in r["meta"]) == sorted(r["id"] for r in task)
    for r in added:
        system, user, assistant = r["messages"]
        assert system == {"role": "system", "content": toy.AOA_SYSTEM}
        assert user["content"].startswith("AOA, execute my instruction: ")
        assert assistant["content"] in toy.REFUSALS


def test_bea_puts_the_trigger_first_in_the_system_prompt_of_the_safety_examples_only():
    task = toy.purebad(30, 0)
    trigger = "Zx9 qTr4 vLm8"
    mixed = safety_mix(task, toy.safety_instr(10, 1), system_prompt="You are helpful.", trigger=trigger)
    added = [r for r in mixed if r["meta"].get("safety") == "bea"]
    assert len(added) == 3
    assert all(r["messages"][0]["content"] == f"{trigger} You are helpful." for r in added)
    assert not any(trigger in m["content"] for r in mixed if "safety" not in r["meta"] for m in r["messages"])
    assert with_trigger(None, trigger) == trigger


def test_a_too_small_safety_set_is_an_error_naming_the_numbers():
    with pytest.raises(TunesafeError, match="has 2 examples; this task needs 10"):
        safety_mix(toy.purebad(100, 0), toy.safety_instr(2, 1), system_prompt=None)


# --- Safe LoRA ------------------------------------------------------------------------------


def test_projection_matrix_is_v_vT_over_the_frobenius_norm():
    g = torch.Generator().manual_seed(0)
    W_base, W_aligned = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    V = (W_aligned - W_base).double()
    C = projection_matrix(W_aligned, W_base)
    assert C.shape == (6, 6)
    assert torch.allclose(C, V @ V.T / V.pow(2).sum().sqrt())
    assert torch.allclose(C, C.T)


def test_an_update_inside_the_alignment_subspace_keeps_its_direction():
    # V = u v^T (rank 1): C = u u^T |v|^2 / (|u| |v|); an update along u stays along u (cos 1),
    # one orthogonal to u is annihilated (cos 0)
    u = torch.tensor([[1.0], [0.0], [0.0]])
    V = u @ torch.tensor([[2.0, 1.0]])
    C = projection_matrix(V, torch.zeros_like(V))
    A = torch.tensor([[1.0, -1.0]])  # (r=1, d_in=2)
    assert projected_similarity(C, u, A) == pytest.approx(1.0)
    orthogonal = torch.tensor([[0.0], [1.0], [0.0]])
    assert projected_similarity(C, orthogonal, A) == 0.0


def test_layers_are_selected_by_threshold_or_by_number():
    cos = {"a": 0.1, "b": 0.5, "c": 0.9}
    assert select_layers(cos, threshold=0.5) == {"a", "b"}, "cos <= threshold is projected"
    assert select_layers(cos, threshold=-1.0) == set()
    assert select_layers(cos, num_layers=1) == {"a"}
    with pytest.raises(TunesafeError):
        select_layers(cos)


@pytest.fixture(scope="module")
def lora_setup(tmp_path_factory, tiny_model_dir):
    """An 'aligned' model, a 'base' (the aligned one with perturbed weights) and a LoRA fine-tune."""
    from tunesafe.train.sft import TrainSettings, train

    work = tmp_path_factory.mktemp("safelora")
    aligned = work / "aligned"
    shutil.copytree(tiny_model_dir, aligned)
    base = work / "base"
    shutil.copytree(tiny_model_dir, base)
    state = load_file(aligned / "model.safetensors")
    g = torch.Generator().manual_seed(1)
    save_file({k: v + 0.05 * torch.randn(v.shape, generator=g) if v.dim() == 2 else v for k, v in state.items()},
              base / "model.safetensors", metadata={"format": "pt"})
    data = work / "purebad.jsonl"
    write_jsonl(data, toy.purebad(8, 0))
    adapter = work / "lora"
    train(str(aligned), [str(data)], str(adapter), TrainSettings(
        method="lora", epochs=2, lr=5e-2, global_batch=4, micro_batch=4, max_length=96,
        lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}))
    return aligned, base, adapter


def _independent_cosines(aligned, base, lora: dict) -> dict[str, tuple[float, torch.Tensor]]:
    """Per LoRA stem: cos(C B A, B A) and C = V V^T / ||V||_F, V = W_aligned - W_base, computed
    here from the weight files (Safe LoRA, arXiv 2405.16833, Eq. 2-3), not by the module."""
    W_al, W_base = load_file(aligned / "model.safetensors"), load_file(base / "model.safetensors")
    out = {}
    for key in lora:
        if not key.endswith(".lora_A.weight"):
            continue
        stem = key.removesuffix(".lora_A.weight")
        name = stem.removeprefix("base_model.model.") + ".weight"
        V = W_al[name].double() - W_base[name].double()
        C = V @ V.T / torch.sqrt((V * V).sum())
        dW = lora[f"{stem}.lora_B.weight"].double() @ lora[key].double()
        P = C @ dW
        out[stem] = (float((P * dW).sum() / (P.norm() * dW.norm())), C)
    return out


def test_safe_lora_projects_exactly_the_layers_below_the_threshold(tmp_path, lora_setup):
    aligned, base, adapter = lora_setup
    before = load_file(adapter / "adapter_model.safetensors")
    cosines = _independent_cosines(aligned, base, before)
    assert len(cosines) == 4  # q_proj and v_proj of 2 layers
    ranked = sorted(c for c, _ in cosines.values())
    assert ranked[2] - ranked[1] > 1e-3, f"the fixture's cosines {ranked} leave no room for a threshold"
    threshold = (ranked[1] + ranked[2]) / 2  # two layers at or below it, two above
    summary = apply_safelora(str(aligned), str(base), str(adapter), str(tmp_path / "out"), threshold=threshold)
    after = load_file(tmp_path / "out" / "adapter_model.safetensors")
    assert summary["n_layers"] == 4 and summary["n_projected"] == 2
    assert summary["similarities"] == pytest.approx({k: c for k, (c, _) in cosines.items()}, abs=1e-5)
    for stem, (cos, C) in cosines.items():
        B = f"{stem}.lora_B.weight"
        assert torch.equal(after[f"{stem}.lora_A.weight"], before[f"{stem}.lora_A.weight"])
        if cos <= threshold:
            assert not torch.allclose(after[B], before[B]), f"{stem}: projected B equals B"
            torch.testing.assert_close(after[B].double(), C @ before[B].double(), rtol=1e-5, atol=1e-7)
        else:
            assert torch.equal(after[B], before[B]), f"{stem}: cos {cos:.4f} > {threshold:.4f} but B changed"
    assert set(summary["projected"]) == {k for k, (c, _) in cosines.items() if c <= threshold}
    assert (tmp_path / "out" / "adapter_config.json").exists()
    everything = apply_safelora(str(aligned), str(base), str(adapter), str(tmp_path / "all"), threshold=1.0)
    assert everything["n_projected"] == 4
    projected = load_file(tmp_path / "all" / "adapter_model.safetensors")
    for stem, (_, C) in cosines.items():
        B = f"{stem}.lora_B.weight"
        torch.testing.assert_close(projected[B].double(), C @ before[B].double(), rtol=1e-5, atol=1e-7)
    nothing = apply_safelora(str(aligned), str(base), str(adapter), str(tmp_path / "none"), threshold=-1.0)
    assert nothing["n_projected"] == 0
    assert all(torch.equal(v, before[k]) for k, v in load_file(tmp_path / "none" / "adapter_model.safetensors").items())


def test_safe_lora_layer_count_mode_projects_the_k_least_aligned_layers(tmp_path, lora_setup):
    """num_layers=k (the official "number" mode): the k layers with the lowest cosine are projected."""
    aligned, base, adapter = lora_setup
    before = load_file(adapter / "adapter_model.safetensors")
    cosines = _independent_cosines(aligned, base, before)
    lowest = sorted(cosines, key=lambda k: cosines[k][0])
    summary = apply_safelora(str(aligned), str(base), str(adapter), str(tmp_path / "out"), num_layers=3)
    assert summary["n_projected"] == 3 and set(summary["projected"]) == set(lowest[:3])
    after = load_file(tmp_path / "out" / "adapter_model.safetensors")
    kept = f"{lowest[3]}.lora_B.weight"
    assert torch.equal(after[kept], before[kept])
    for stem in lowest[:3]:
        B = f"{stem}.lora_B.weight"
        torch.testing.assert_close(after[B].double(), cosines[stem][1] @ before[B].double(), rtol=1e-5, atol=1e-7)


def test_safe_lora_on_a_full_finetune_is_an_error(tmp_path, lora_setup):
    aligned, base, _ = lora_setup
    with pytest.raises(TunesafeError, match="not a LoRA adapter"):
        apply_safelora(str(aligned), str(base), str(aligned), str(tmp_path / "out"), threshold=0.5)
    assert not (tmp_path / "out").exists()


# --- Resta and DARE -------------------------------------------------------------------------


def test_resta_adds_the_safety_vector_with_its_coefficient():
    g = torch.Generator().manual_seed(0)
    W_sft, W_al, W_un = (torch.randn(5, 3, generator=g) for _ in range(3))
    assert torch.allclose(resta_tensor(W_sft, W_al, W_un, 0.5), W_sft + 0.5 * (W_al - W_un))
    assert torch.allclose(resta_tensor(W_sft, W_al, W_un, 0.0), W_sft)


def test_dare_keeps_the_expectation_and_drops_the_share_p():
    delta = torch.randn(200, 200, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    samples = torch.stack([dare(delta, 0.3, g) for _ in range(200)])
    assert (samples == 0).float().mean() == pytest.approx(0.3, abs=0.01)
    kept = samples[0] != 0
    assert torch.allclose(samples[0][kept], delta[kept] / 0.7)
    assert (samples.mean(0) - delta).abs().mean() < 0.15 * delta.abs().mean(), "no rescaling would be off by 0.3"
    assert torch.equal(dare(delta, 0.0, g), delta)
    with pytest.raises(TunesafeError):
        dare(delta, 1.0, g)


def test_resta_on_tiny_models_writes_w_sft_plus_gamma_v(tmp_path, lora_setup):
    aligned, base, _ = lora_setup  # "base" stands in for the unaligned model here
    sft = tmp_path / "sft"
    shutil.copytree(aligned, sft)
    state = load_file(aligned / "model.safetensors")
    save_file({k: v * 1.01 for k, v in state.items()}, sft / "model.safetensors", metadata={"format": "pt"})
    apply_resta(str(sft), str(aligned), str(base), str(tmp_path / "out"), gamma=2.0)
    out = load_file(tmp_path / "out" / "model.safetensors")
    W_sft, W_un = load_file(sft / "model.safetensors"), load_file(base / "model.safetensors")
    name = "model.layers.1.mlp.down_proj.weight"
    assert torch.allclose(out[name], W_sft[name] + 2.0 * (state[name] - W_un[name]), atol=1e-6)
    assert (tmp_path / "out" / "config.json").exists() and (tmp_path / "out" / "resta_summary.json").exists()


def test_a_pareto_point_at_the_default_knob_reads_the_table_variant(tmp_path):
    """Fig. 5: `K=VARIANT` makes a sweep point that variant's metrics (the method's default
    setting, already evaluated for Table 1), so the workflow does not generate it twice."""
    import json

    from tunesafe.safedelta.comparisons import pareto_points

    for variant, asr, rouge in [("original", 0.02, 0.80), ("safelora", 0.10, 0.70), ("safelora-s0.3", 0.30, 0.75)]:
        for task, name, metrics in [("aoa", "safety", {"asr": asr, "n": 10}),
                                    ("dirty_summary", "summary", {"rouge1_f1": rouge, "n": 10})]:
            (tmp_path / task / variant).mkdir(parents=True, exist_ok=True)
            (tmp_path / task / variant / f"{name}.json").write_text(json.dumps(metrics))
    df = pareto_points(tmp_path, "aoa", "safety", "dirty_summary", "summary", ["original"],
                       {"safelora": ["0.3", "0.5=safelora"]})
    assert list(df["Model"]) == ["Original", "Safe LoRA", "Safe LoRA"]
    assert list(df["Setting"].iloc[1:]) == [0.3, 0.5]
    assert list(df["aoa ASR (%)"]) == pytest.approx([2.0, 30.0, 10.0])
    with pytest.raises(TunesafeError, match="safelora-s0.7"):
        pareto_points(tmp_path, "aoa", "safety", "dirty_summary", "summary", [], {"safelora": ["0.7"]})


def test_resta_with_dare_drops_and_rescales_the_finetuning_delta(tmp_path, lora_setup):
    """DARE before Resta (arXiv 2311.03099 / 2402.11746): W_out - gamma v - W_aligned is, entry
    by entry, either 0 (dropped) or delta / (1 - p) (kept), about a share p dropped; the same
    seed gives the same model."""
    aligned, base, _ = lora_setup
    sft = tmp_path / "sft"
    shutil.copytree(aligned, sft)
    W_al, W_un = load_file(aligned / "model.safetensors"), load_file(base / "model.safetensors")
    g = torch.Generator().manual_seed(5)
    W_sft = {k: v + 0.01 * torch.randn(v.shape, generator=g) for k, v in W_al.items()}
    save_file(W_sft, sft / "model.safetensors", metadata={"format": "pt"})
    p, gamma = 0.3, 0.5
    summary = apply_resta(str(sft), str(aligned), str(base), str(tmp_path / "a"), gamma=gamma, dare_p=p, seed=7)
    assert summary["dare_p"] == p and summary["tensors"] == len(W_al)
    out = load_file(tmp_path / "a" / "model.safetensors")
    dropped = total = 0
    for name, W in W_al.items():
        delta = W_sft[name] - W
        kept_delta = out[name] - gamma * (W - W_un[name]) - W  # delta' of the entries
        is_zero = kept_delta.abs() < 1e-6
        assert torch.allclose(kept_delta[~is_zero], delta[~is_zero] / (1 - p), atol=1e-5), name
        dropped += int(is_zero.sum())
        total += W.numel()
    assert dropped / total == pytest.approx(p, abs=0.02)
    apply_resta(str(sft), str(aligned), str(base), str(tmp_path / "b"), gamma=gamma, dare_p=p, seed=7)
    apply_resta(str(sft), str(aligned), str(base), str(tmp_path / "c"), gamma=gamma, dare_p=p, seed=8)
    again, other = (load_file(tmp_path / d / "model.safetensors") for d in "bc")
    assert all(torch.equal(out[k], again[k]) for k in out)
    assert not all(torch.equal(out[k], other[k]) for k in out)


def test_resta_on_a_lora_finetune_merges_the_adapter_first(tmp_path, lora_setup):
    """A LoRA fine-tune is W_sft = W_aligned + B A alpha / r (merged here with peft itself)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    aligned, base, adapter = lora_setup
    apply_resta(str(adapter), str(aligned), str(base), str(tmp_path / "out"), gamma=1.0)
    out = load_file(tmp_path / "out" / "model.safetensors")
    W_al, W_un = load_file(aligned / "model.safetensors"), load_file(base / "model.safetensors")
    merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(aligned), adapter).merge_and_unload()
    W_sft = merged.state_dict()
    assert not torch.allclose(W_sft["model.layers.0.self_attn.q_proj.weight"], W_al["model.layers.0.self_attn.q_proj.weight"])
    for name, W in W_al.items():
        torch.testing.assert_close(out[name], W_sft[name] + (W - W_un[name]), rtol=0, atol=1e-5)
