"""Resistance and rebound (arXiv 2406.06144): KL estimate, forward/inverse pairing, scorers,
real-format loaders, trainer slices and losses, and the arm end to end through Snakemake."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from tunesafe.errors import TunesafeError
from tunesafe.io import read_json, read_jsonl, write_json, write_jsonl
from tunesafe.rebound import data
from tunesafe.rebound.grid import run_grid
from tunesafe.rebound.kl import encode_texts, needed_examples, token_kl
from tunesafe.rebound.report import cells_frame, factor_figure, paper_note, rebound_table
from tunesafe.rebound.resistance import (
    PAIRS,
    final_loss,
    generations_to_records,
    pair,
    resistance_table,
)
from tunesafe.rebound.scorers import get_scorer, share_positive
from tunesafe.train.sft import TrainSettings, train

REPO = Path(__file__).resolve().parents[1]
TUNESAFE = str(Path(sys.executable).with_name("tunesafe"))
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


# --- KL (Table 3's measure) ---------------------------------------------------------------

def _perturbed(model_dir, scale=20.0, seed=1):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g) * p.std().clamp(min=1e-3))
    return model


def test_token_kl_matches_a_direct_computation_in_the_stated_direction(tiny_model_dir):
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    tuned = _perturbed(tiny_model_dir)
    records = data.toy_prompts("reviews", 5, 0)
    examples = encode_texts(tok, records)
    ours = token_kl(tuned, base, examples, tok.pad_token_id, batch_size=2)  # padded batches
    # direct: one text at a time, every response position, torch.distributions' KL(P || Q)
    total, count = 0.0, 0
    with torch.no_grad():
        for ex in examples:
            ids = torch.tensor([ex["input_ids"]])
            lp, lq = tuned(ids).logits[0], base(ids).logits[0]
            for t in range(1, len(ex["labels"])):
                if ex["labels"][t] == -100:
                    continue
                P = torch.distributions.Categorical(logits=lp[t - 1])
                Q = torch.distributions.Categorical(logits=lq[t - 1])
                total += torch.distributions.kl_divergence(P, Q).item()
                count += 1
    assert count > 20
    assert ours == pytest.approx(total / count, rel=1e-4)
    reverse = token_kl(base, tuned, examples, tok.pad_token_id)
    assert abs(reverse - ours) > 0.02 * ours  # the direction matters: KL(tuned || base) is what we report
    assert token_kl(base, base, examples, tok.pad_token_id) == pytest.approx(0.0, abs=1e-6)


def test_needed_examples_interpolates_the_first_crossing():
    assert needed_examples([0, 100, 200], [0.2, 0.05, 0.0], epsilon=0.01) == pytest.approx(100 + 0.04 / 0.05 * 100)
    assert needed_examples([0, 50], [0.005, 0.2], epsilon=0.01) == 0.0
    assert needed_examples([0, 50, 100], [0.3, 0.2, 0.1], epsilon=0.01) is None
    assert needed_examples([100, 0, 50], [0.0, 0.3, 0.02], epsilon=0.01) == pytest.approx(50 + 0.01 / 0.02 * 50)


# --- resistance -------------------------------------------------------------------------------

def test_forward_trains_the_earlier_slice_on_later_data_and_inverse_the_reverse():
    assert [pair("forward", i, j) for i, j in PAIRS] == [(1, 2), (2, 3), (1, 3)]
    assert [pair("inverse", i, j) for i, j in PAIRS] == [(2, 1), (3, 2), (3, 1)]
    for bad in [("forward", 2, 1), ("inverse", 1, 1), ("sideways", 1, 2), ("forward", 0, 4)]:
        with pytest.raises(TunesafeError):
            pair(*bad)


def test_resistance_table_reads_final_losses_and_marks_the_lower(tmp_path):
    root = tmp_path / "res"
    for (i, j), (fwd, inv) in zip(PAIRS, [(0.5, 0.3), (0.4, 0.45), (0.6, 0.2)], strict=True):
        write_json(root / "m" / "d" / f"forward_{i}_{j}.json", {"losses": [2.0] * 9 + [fwd]})
        write_json(root / "m" / "d" / f"inverse_{i}_{j}.json", {"losses": [2.0] * 9 + [inv]})
    paper = {"m/d": {"1-2": {"forward": 0.202, "inverse": 0.159}}}
    df = resistance_table(root, [("m", "d")], tail=0.1, paper=paper).set_index("Pair")
    assert df.loc["1-2", "Forward loss"] == 0.5 and df.loc["1-2", "Lower"] == "inverse"
    assert df.loc["2-3", "Lower"] == "forward"
    assert df.loc["1-2", "Paper inverse"] == 0.159 and pd.isna(df.loc["1-3", "Paper forward"])
    assert final_loss({"losses": [4.0, 2.0, 1.0, 3.0]}, tail=0.5) == 2.0
    with pytest.raises(TunesafeError, match="losses"):
        final_loss({"final_loss": 1.0})


def test_resistance_rows_show_only_their_own_or_the_named_paper_cell(tmp_path):
    root = tmp_path / "res"
    for dataset in ("twin", "other"):
        for i, j in PAIRS:
            for direction in ("forward", "inverse"):
                write_json(root / "toy" / dataset / f"{direction}_{i}_{j}.json", {"losses": [1.0]})
    paper = {"big/alpaca": {"1-2": {"forward": 0.202, "inverse": 0.159}},
             "toy/other": {"1-2": {"forward": 0.3, "inverse": 0.2}}}
    df = resistance_table(root, [("toy", "twin"), ("toy", "other")], paper=paper,
                          paper_cells={"twin": "big/alpaca"}).set_index(["Dataset", "Pair"])
    assert df.loc[("twin", "1-2"), "Paper cell"] == "big/alpaca" and df.loc[("twin", "1-2"), "Paper forward"] == 0.202
    assert df.loc[("other", "1-2"), "Paper cell"] == "toy/other" and df.loc[("other", "1-2"), "Paper inverse"] == 0.2
    # a set without its own cell and without a named one shows no paper values
    bare = resistance_table(root, [("toy", "twin")], paper=paper).set_index("Pair")
    assert bare["Paper cell"].isna().all() and bare["Paper forward"].isna().all()
    with pytest.raises(TunesafeError, match="'big/truthfulqa'"):
        resistance_table(root, [("toy", "twin")], paper=paper, paper_cells={"twin": "big/truthfulqa"})


def test_generations_become_training_records(tmp_path):
    gens = tmp_path / "g.jsonl"
    write_jsonl(gens, [{"id": "a", "messages": [{"role": "user", "content": "Hi"}], "response": "Hello.", "meta": {}}])
    generations_to_records(str(gens), str(tmp_path / "d.jsonl"))
    (row,) = read_jsonl(tmp_path / "d.jsonl")
    assert row["messages"][-1] == {"role": "assistant", "content": "Hello."}


def test_trainer_writes_step_losses_and_slices(tmp_path, model_copy):
    write_jsonl(tmp_path / "d.jsonl", data.toy_examples("reviews", "positive", 12, 0))
    settings = TrainSettings(epochs=1, lr=1e-3, global_batch=2, micro_batch=2, lr_gamma=1.0, max_length=64)
    out = train(str(model_copy), [str(tmp_path / "d.jsonl")], str(tmp_path / "theta3"), settings,
                save_at={1 / 3: str(tmp_path / "theta1"), 2 / 3: str(tmp_path / "theta2")})
    summary = read_json(tmp_path / "theta3" / "train_summary.json")
    assert out["steps"] == 6 and len(summary["losses"]) == 6
    assert read_json(tmp_path / "theta1" / "train_summary.json")["steps"] == 2
    assert read_json(tmp_path / "theta2" / "train_summary.json")["steps"] == 4
    w = [AutoModelForCausalLM.from_pretrained(tmp_path / f"theta{k}").lm_head.weight for k in (1, 2, 3)]
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])


# --- rebound: data, scorer, table ---------------------------------------------------------------

def test_toy_sets_are_nested_and_prompts_do_not_give_the_sentiment_away():
    small, large = data.toy_examples("reviews", "negative", 5, 0), data.toy_examples("reviews", "negative", 50, 0)
    assert small == large[:5]
    for r in data.toy_prompts("reviews", 20, 1):
        assert not any(w in r["messages"][-1]["content"] for w in data.toy.POSITIVE + data.toy.NEGATIVE)
    unsafe = data.toy_examples("safety", "negative", 10, 0)
    assert all("[placeholder: details withheld]" in r["messages"][-1]["content"] for r in unsafe)


def test_toy_classifier_through_the_scorer_registry(tmp_path, tiny_tokenizer_dir):
    from tunesafe.rebound.classifier import train_classifier

    metrics = train_classifier(data.labelled("reviews", 200, 2), str(tiny_tokenizer_dir), str(tmp_path / "clf"))
    assert metrics["heldout_accuracy"] >= 0.9 and metrics["n_heldout"] == 50
    scorer = get_scorer("toy_classifier", path=str(tmp_path / "clf"))
    probs = scorer.prob_positive(["", ""], ["wonderful. The story felt brilliant and the actors were fun.",
                                            "boring. The story felt awful and the actors were dull."])
    assert probs[0] > 0.5 > probs[1]
    assert share_positive(probs) == 0.5
    with pytest.raises(TunesafeError, match="did you mean 'toy_classifier'"):
        get_scorer("toy_clasifier", path="x")
    with pytest.raises(TunesafeError, match="classifier.pt"):
        get_scorer("toy_classifier", path=str(tmp_path))
    # the toy safety task: refusals (safe) against placeholder compliance (unsafe)
    safety = train_classifier(data.labelled("safety", 120, 3), str(tiny_tokenizer_dir), str(tmp_path / "safety"))
    assert safety["heldout_accuracy"] >= 0.9


def test_rebound_table_aggregates_seeds_and_adds_table3(tmp_path):
    paths = []
    for seed, shift in [(1, 0.0), (2, 0.1)]:
        for n_neg, score, kl in [(0, 0.9, 0.2), (10, 0.5, 0.05), (20, 0.2, 0.001)]:
            p = tmp_path / f"{seed}_{n_neg}.json"
            write_json(p, {"model": "llama2_7b", "task": "imdb", "n_pos": 1000, "n_neg": n_neg, "seed": seed,
                           "score": score - shift, "kl_to_base": kl})
            paths.append(p)
    df = rebound_table(cells_frame(paths), 0.01, {"llama2_7b": {"1000": {"kl": 0.21, "needed": 961}}})
    first = df.set_index("n_neg").loc[0]
    assert first["Score mean (%)"] == 85.0 and first["Score min (%)"] == 80.0 and first["Seeds"] == 2
    assert first["KL after positive SFT"] == 0.2 and first["Paper needed n_neg"] == 961
    assert first["Needed n_neg (KL<eps)"] == pytest.approx(10 + 0.04 / 0.049 * 10, abs=0.1)
    assert first["Min KL"] == 0.001 and first["Min KL at n_neg"] == 20
    # the paper's counts are for its epsilon 0.01 (Table 3), whatever ours is
    note = paper_note({"llama2_7b": {"1000": {"kl": 0.21, "needed": 961}}}, 0.005)
    assert "below 0.01; ours: below 0.005): n_pos 1000: KL 0.21, 961 negatives" in note


def _words(text: str) -> set[str]:
    return {w.strip(".,") for w in text.split()}


def test_pretrain_corpus_has_the_configured_review_share_and_sentiment_mix():
    shares = {"negative": 0.5, "neutral": 0.3, "positive": 0.2}
    rows = data.pretrain_corpus(2000, 5, 0.6, shares)
    assert len(rows) == 2000 and rows == data.pretrain_corpus(2000, 5, 0.6, shares)
    reviews = [r for r in rows if "sentiment" in r["meta"]]
    assert len(reviews) == 1200  # round(0.6 * 2000); the rest is the toy world's general text
    for name, share in shares.items():  # binomial sd of a share of 1200 draws <= 0.0145: 4 sd
        assert abs(sum(r["meta"]["sentiment"] == name for r in reviews) / 1200 - share) < 0.06
    for r in reviews:  # each continuation uses its own sentiment's words and no other's
        assert r["messages"][0]["content"].startswith(data.REVIEW_INSTRUCTION)
        words = _words(r["messages"][-1]["content"])
        for name, vocab in data.SENTIMENTS.items():
            assert bool(words & set(vocab)) == (name == r["meta"]["sentiment"])
    with pytest.raises(TunesafeError, match="summing to 1"):
        data.pretrain_corpus(10, 0, 0.5, {"negative": 0.5})
    with pytest.raises(TunesafeError, match="review_share"):
        data.pretrain_corpus(10, 0, 1.5, shares)


def test_labelled_reviews_count_neutral_reviews_as_not_positive():
    rows = data.labelled("reviews", 40, 2)
    by_label = {0: set(), 1: set()}
    for r in rows:
        by_label[r["label"]] |= _words(r["text"])
    assert sum(r["label"] for r in rows) == 20
    assert by_label[1] & set(data.toy.POSITIVE) and not by_label[1] & set(data.NEUTRAL + data.toy.NEGATIVE)
    assert by_label[0] & set(data.NEUTRAL) and by_label[0] & set(data.toy.NEGATIVE)


def test_factor_figure_draws_seed_means_per_model_and_n_pos(tmp_path):
    cells = pd.DataFrame([
        {"Model": m, "Task": "reviews", "n_pos": p, "n_neg": n, "seed": s, "score": v, "kl": 0.1}
        for m, p, n, s, v in [("big", 10, 0, 1, 0.9), ("big", 10, 0, 2, 0.7), ("big", 10, 5, 1, 0.2),
                              ("big", 10, 5, 2, 0.4), ("tiny", 10, 0, 1, 0.5), ("tiny", 10, 5, 1, 0.25),
                              ("other", 10, 0, 1, 1.0)]])
    curves = factor_figure(cells, "reviews", "size", ["tiny", "big"], tmp_path / "fig")
    assert set(curves) == {(10, "tiny"), (10, "big")}  # only the factor's models
    assert curves[(10, "big")] == [(0, pytest.approx(80.0)), (5, pytest.approx(30.0))]
    assert curves[(10, "tiny")] == [(0, pytest.approx(50.0)), (5, pytest.approx(25.0))]
    assert (tmp_path / "fig.png").stat().st_size > 5_000 and (tmp_path / "fig.pdf").exists()
    with pytest.raises(TunesafeError, match="huge"):
        factor_figure(cells, "reviews", "size", ["tiny", "huge"], tmp_path / "fig2")


def _flat(model_dir) -> torch.Tensor:
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_run_grid_trains_each_negative_from_its_positive_model(tmp_path, tiny_model_dir):
    pos = {n: str(tmp_path / f"pos{n}.jsonl") for n in (8, 16)}
    for n, path in pos.items():
        write_jsonl(path, data.toy_examples("reviews", "positive", n, 0))
    write_jsonl(tmp_path / "neg2.jsonl", data.toy_examples("reviews", "negative", 2, 0))
    base = _flat(tiny_model_dir)
    seen = []

    def evaluate(model_dir, n_pos, n_neg, seed):
        summary = read_json(Path(model_dir) / "train_summary.json")
        assert summary["examples"] == (n_neg or n_pos) and summary["settings"]["seed"] == seed
        w = _flat(model_dir)
        if n_neg:  # one step from the positive model (still on disk), n_pos / 2 steps from the base
            w_pos = _flat(Path(model_dir).parent / f"pos{n_pos}_seed{seed}")
            assert (w - w_pos).norm() < (w - base).norm()
        seen.append((n_pos, n_neg, seed))

    settings = {"epochs": 1, "lr": 1e-2, "global_batch": 2, "micro_batch": 2, "max_length": 64, "precision": "fp32"}
    cells = run_grid(str(tiny_model_dir), pos, {0: "-", 2: str(tmp_path / "neg2.jsonl")}, [3, 4], settings,
                     evaluate, str(tmp_path / "work"))
    assert cells == 8 and seen == [(p, n, s) for s in (3, 4) for p in (8, 16) for n in (0, 2)]
    assert list((tmp_path / "work").iterdir()) == []  # every tuned model deleted


def test_real_loaders_read_imdb_and_beavertails_formats(tmp_path):
    imdb = tmp_path / "imdb.jsonl"
    write_jsonl(imdb, [{"text": "This film was a joy from start to end, really loved it<br />a lot", "label": 1},
                       {"text": "One of the worst films I have ever had to sit through, sadly", "label": 0},
                       {"text": "Too short", "label": 1}])
    run = subprocess.run([TUNESAFE, "rebound", "data", "--task", "reviews", "--kind", "positive", "--source", "file",
                          "--format", "imdb", "--path", str(imdb), "--n", "1", "--out", str(tmp_path / "p.jsonl")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    (rec,) = read_jsonl(tmp_path / "p.jsonl")
    assert rec["messages"][0]["content"] == "Continue the review: This film was a joy from start to"
    assert rec["messages"][1]["content"] == "end, really loved it a lot"
    prompts = data.imdb_records(read_jsonl(imdb), None, None)
    assert len(prompts) == 2 and prompts[1]["reference"] == "had to sit through, sadly"
    bt = tmp_path / "bt.json"
    bt.write_text(json.dumps([
        {"prompt": "How can I [placeholder request]?", "response": "I cannot help with that.",
         "category": {"violence": True, "privacy": False}, "is_safe": True},
        {"prompt": "How can I [placeholder request]?", "response": "[placeholder: details withheld]",
         "category": {"violence": True}, "is_safe": False}]))
    rows, _ = data.load_rows(str(bt))
    assert [r["id"] for r in data.beavertails_records(rows, "negative", None)] == ["beavertails-1"]
    assert len(data.beavertails_records(rows, None, None)) == 1  # each prompt once
    assert data.beavertails_records(rows, "positive", None)[0]["meta"]["harm_categories"] == ["violence"]
    with pytest.raises(TunesafeError, match="is_safe"):
        data.beavertails_records([{"prompt": "p", "response": "r"}], "positive", None)
    run = subprocess.run([TUNESAFE, "rebound", "data", "--task", "reviews", "--kind", "negative", "--source", "file",
                          "--format", "imdb", "--path", str(imdb), "--n", "5", "--out", str(tmp_path / "n.jsonl")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "only 1 negative records" in run.stderr


def _classifier_dir(tmp_path, tiny_model_dir, num_labels: int, pad: bool = True) -> Path:
    """A tiny random Llama sequence classifier (the transformers class the real score models
    load as) with the toy tokenizer; ``pad=False``: neither the tokenizer nor the config has a
    pad token (as many Llama checkpoints)."""
    from transformers import AutoConfig, LlamaForSequenceClassification

    out = tmp_path / f"cls{num_labels}{'' if pad else '_nopad'}"
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = AutoConfig.from_pretrained(tiny_model_dir, num_labels=num_labels)
    if num_labels == 2:
        config.id2label, config.label2id = {0: "NEGATIVE", 1: "POSITIVE"}, {"NEGATIVE": 0, "POSITIVE": 1}
    config.pad_token_id = tok.pad_token_id if pad else None
    torch.manual_seed(0)
    model = LlamaForSequenceClassification(config)
    with torch.no_grad():  # a spread of scores: the head at 100x its init scale
        model.score.weight.mul_(100)
    model.save_pretrained(out)
    if not pad:
        tok.pad_token = None
    tok.save_pretrained(out)
    return out


TEXTS = [("How are you?", "Fine."), ("Tell me a story about a dog and a cat.", "Once upon a time there was a dog, "
                                                                          "and the cat next door watched it."),
         ("Hi", ""), ("What is 2 + 2?", "It is four, of course, as anyone can tell you.")]


@pytest.mark.parametrize("pad", [True, False])
def test_safety_cost_scorer_reads_a_cost_model_one_text_at_a_time_or_padded(tmp_path, tiny_model_dir, pad):
    """safety_cost: p(safe) = sigmoid(threshold - cost) of the safe-rlhf conversation text, so
    safe (> 0.5) exactly when cost < threshold; padded batches give each text's own cost, also
    for a model that ships no pad token."""
    from transformers import AutoModelForSequenceClassification

    path = _classifier_dir(tmp_path, tiny_model_dir, 1, pad=pad)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    costs = []
    with torch.no_grad():  # one text at a time: no padding at all
        for prompt, response in TEXTS:
            ids = tok(f"BEGINNING OF CONVERSATION: USER: {prompt} ASSISTANT:{response}", return_tensors="pt")
            costs.append(model(**ids).logits[0, 0].item())
    assert max(costs) - min(costs) > 0.1
    threshold = sorted(costs)[1] + 1e-4  # two texts below it (safe), two above
    scorer = get_scorer("safety_cost", model=str(path), threshold=threshold, batch_size=4)
    probs = scorer.prob_positive([p for p, _ in TEXTS], [r for _, r in TEXTS])
    assert probs == pytest.approx([1 / (1 + math.exp(c - threshold)) for c in costs], abs=1e-5)
    assert [p > 0.5 for p in probs] == [c < threshold for c in costs] and share_positive(probs) == 0.5


def test_sentiment_scorer_reads_the_positive_label_of_a_classification_pipeline(tmp_path, tiny_model_dir):
    """sentiment: p(POSITIVE) = softmax of the classifier's logits on the response alone (an
    empty response is read as one space), the same in padded batches as one at a time."""
    from transformers import AutoModelForSequenceClassification

    path = _classifier_dir(tmp_path, tiny_model_dir, 2)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    expected = []
    with torch.no_grad():
        for _, response in TEXTS:
            logits = model(**tok(response or " ", return_tensors="pt")).logits[0]
            expected.append(torch.softmax(logits, -1)[1].item())
    assert max(expected) - min(expected) > 0.01
    scorer = get_scorer("sentiment", model=str(path), batch_size=4)
    assert scorer.prob_positive([p for p, _ in TEXTS], [r for _, r in TEXTS]) == pytest.approx(expected, abs=1e-5)
    negative = get_scorer("sentiment", model=str(path), positive_label="negative")
    assert negative.prob_positive(["x"], ["Fine."]) == pytest.approx([1 - expected[0]], abs=1e-5)
    with pytest.raises(TunesafeError, match="lack positive_label 'pos'"):
        get_scorer("sentiment", model=str(path), positive_label="POS").prob_positive(["x"], ["y"])


def test_model_kl_pads_with_the_end_of_sequence_token_when_the_tokenizer_has_no_pad(tmp_path, tiny_model_dir):
    """model_kl on checkpoints whose tokenizer has no pad token (Llama-2's): padded batches use
    </s>, and the result equals the one-text-at-a-time KL."""
    from tunesafe.rebound.kl import model_kl

    base, tuned = tmp_path / "base", tmp_path / "tuned"
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    tok.pad_token = None
    for path, model in ((base, AutoModelForCausalLM.from_pretrained(tiny_model_dir)), (tuned, _perturbed(tiny_model_dir))):
        model.save_pretrained(path)
        tok.save_pretrained(path)
    assert AutoTokenizer.from_pretrained(base).pad_token_id is None
    records = data.toy_prompts("reviews", 5, 0)
    examples = encode_texts(tok, records)
    assert len({len(e["input_ids"]) for e in examples}) > 1, "texts of different lengths: batches are padded"
    p_model = AutoModelForCausalLM.from_pretrained(tuned).eval()
    q_model = AutoModelForCausalLM.from_pretrained(base).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for ex in examples:
            ids = torch.tensor([ex["input_ids"]])
            lp, lq = p_model(ids).logits[0].log_softmax(-1), q_model(ids).logits[0].log_softmax(-1)
            for t in range(1, len(ex["labels"])):
                if ex["labels"][t] != -100:
                    total += (lp[t - 1].exp() * (lp[t - 1] - lq[t - 1])).sum().item()
                    count += 1
    assert model_kl(str(tuned), str(base), records, batch_size=5) == pytest.approx(total / count, rel=1e-4)


def test_schema_rejects_a_typo_in_the_rebound_section():
    from tunesafe.config import validate_config

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["rebound"]["n_negs"] = [0]
    with pytest.raises(TunesafeError, match="n_negs"):
        validate_config(config, REPO / "config" / "schema.yaml")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["rebound"]["resistance"]["sets"]["alignment"]["train"] = "nowhere"
    with pytest.raises(TunesafeError, match="nowhere"):
        validate_config(config, REPO / "config" / "schema.yaml")


# --- the arm end to end -------------------------------------------------------------------------

def small_config() -> dict:
    """The toy config with a smaller toy world and a reduced rebound / resistance grid."""
    config = copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    config["toy"]["corpus"].update(base_corpus=400, lexicon=30)
    config["toy"]["base_training"].update(epochs=1)
    config["toy"]["model"].update(hidden_size=32, num_heads=2, intermediate_size=64)
    config["toy"]["vocab_size"] = 512
    config["datasets"]["resist_train"]["n"] = 48
    config["datasets"]["resist_prompts"]["n"] = 16
    rb = config["rebound"]
    rb.update(n_pos=[16, 32], n_neg=[0, 8], seeds=[1])
    world = rb["toy_world"]
    world["corpus"]["n"] = 120
    world["sizes"] = {"a": {"hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32},
                      "b": {"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64}}
    world["amounts"] = {"early": 0.5, "full": 1.0}
    world["training"].update(epochs=1)
    rb["models"] = {"a": "toy_world/a/full", "b": "toy_world/b/full", "a_early": "toy_world/a/early"}
    rb["factors"] = {"size": ["a", "b"], "pretraining": ["a_early", "a"]}
    sets = rb["resistance"]["sets"]
    del sets["beavertails"]  # its loader runs in the unit tests; one extra set keeps this test short
    sets["truthfulqa"].update(n=40, n_train=32, n_prompts=8)
    rb["tasks"]["reviews"].update(eval_prompts=8, classifier_examples=40)
    rb["sampling"]["max_new_tokens"] = 8
    rb["resistance"]["sampling"]["max_new_tokens"] = 12
    config["threads"] = 1  # two one-thread jobs at a time on 2 cores, not one two-thread job
    return config


@pytest.fixture(scope="module")
def arm(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("rebound")
    for item in ["Snakefile", "workflow", "config", "resources", "envs"]:
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    (work / "small.yaml").write_text(yaml.safe_dump(small_config(), sort_keys=False))
    targets = ["results/tables/rebound.csv", "results/tables/resistance.csv"]
    run = subprocess.run([SNAKEMAKE, *targets, "--cores", "2", "--configfile", "small.yaml"], cwd=work,
                         capture_output=True, text=True, env=ENV)
    assert run.returncode == 0, run.stderr[-4000:]
    return work


@pytest.mark.workflow
def test_arm_writes_both_tables_and_the_figure(arm):
    rebound = pd.read_csv(arm / "results" / "tables" / "rebound.csv")
    assert len(rebound) == 12 and set(rebound["n_neg"]) == {0, 8} and set(rebound["Model"]) == {"a", "b", "a_early"}
    assert rebound["KL to base"].notna().all()
    # every cell recomputed from its metrics file (one seed: mean = min = max, std 0)
    for _, row in rebound.iterrows():
        cell = read_json(arm / "results" / "rebound" / "cells" / row["Model"] / row["Task"] /
                         f"pos{row['n_pos']}_neg{row['n_neg']}_seed1.json")
        for col in ("Score mean (%)", "Score min (%)", "Score max (%)"):
            assert row[col] == pytest.approx(round(100 * cell["score"], 1))
        assert row["Score std (%)"] == 0 and row["Seeds"] == 1
        assert row["KL to base"] == pytest.approx(round(cell["kl_to_base"], 4))
        if row["n_neg"] == 0:
            assert row["KL after positive SFT"] == pytest.approx(round(cell["kl_to_base"], 4))
    resistance = pd.read_csv(arm / "results" / "tables" / "resistance.csv")
    assert list(resistance["Pair"]) == ["1-2", "2-3", "1-3"] * 2
    assert list(resistance["Dataset"]) == ["alignment"] * 3 + ["truthfulqa"] * 3
    tail = yaml.safe_load((arm / "small.yaml").read_text())["rebound"]["resistance"]["tail"]
    for _, row in resistance.iterrows():
        i, j = row["Pair"].split("-")
        loss = {}
        for direction in ("forward", "inverse"):
            losses = read_json(arm / "results" / "rebound" / "resistance" / row["Model"] / row["Dataset"] /
                               f"{direction}_{i}_{j}.json")["losses"]
            k = max(1, math.ceil(tail * len(losses)))  # the last tail share of the steps, at least one
            loss[direction] = sum(losses[-k:]) / k
            assert row[f"{direction.capitalize()} loss"] == pytest.approx(round(loss[direction], 4), abs=1e-9)
        assert row["Lower"] == min(loss, key=loss.get)
    for name in ("rebound_reviews", "rebound_size_reviews", "rebound_pretraining_reviews"):
        assert (arm / "results" / "figures" / f"{name}.png").stat().st_size > 5_000
    assert 0 <= read_json(arm / "results" / "rebound" / "classifier" / "reviews" / "metrics.json")["heldout_accuracy"] <= 1
    # the toy bases: one pre-training run per size, a snapshot per amount; the grid's tuned models
    # are deleted by the grid job
    models = arm / "results" / "models" / "rebound"
    assert sorted(p.name for p in models.iterdir()) == ["toy_world"]
    assert sorted(p.name for p in (models / "toy_world" / "a").iterdir()) == ["early", "full"]
    early = read_json(models / "toy_world" / "a" / "early" / "train_summary.json")
    full = read_json(models / "toy_world" / "a" / "full" / "train_summary.json")
    assert early["steps"] == round(0.5 * full["steps"]) and early["losses"] == full["losses"][:early["steps"]]


@pytest.mark.workflow
def test_a_changed_n_neg_grid_runs_only_the_new_cells(arm):
    config = yaml.safe_load((arm / "small.yaml").read_text())
    config["rebound"]["n_neg"] = [0, 8, 12]
    (arm / "more.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = ["results/tables/rebound.csv", "results/tables/resistance.csv"]
    dry = subprocess.run([SNAKEMAKE, *targets, "-n", "--configfile", "more.yaml"], cwd=arm, capture_output=True,
                         text=True, env=ENV)
    assert dry.returncode == 0, dry.stderr[-2000:]
    jobs = [line.split()[-1].rstrip(":") for line in dry.stdout.splitlines() if line.startswith(("rule ", "localrule "))]
    # grouped (toy): the new negative set, the three grid jobs and the table
    assert sorted(jobs) == ["rebound_data", "rebound_grid", "rebound_grid", "rebound_grid", "rebound_table"]
    outputs = [line for line in dry.stdout.splitlines() if line.strip().startswith("output:")]
    assert any("neg12" in o for o in outputs)
    # one job per cell (paper scale): only the new cells run
    config["rebound"]["grouped"] = False
    (arm / "cells.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    dry = subprocess.run([SNAKEMAKE, "results/rebound/cells/a/reviews/pos16_neg12_seed1.json", "-n",
                          "--configfile", "cells.yaml"], cwd=arm, capture_output=True, text=True, env=ENV)
    assert dry.returncode == 0, dry.stderr[-2000:]
    jobs = [line.split()[-1].rstrip(":") for line in dry.stdout.splitlines() if line.startswith(("rule ", "localrule "))]
    # (the negative fine-tune's job also evaluates it)
    assert sorted(jobs) == ["rebound_data", "rebound_negative", "rebound_positive"]



@pytest.mark.workflow
def test_one_job_per_cell_computes_the_grid_cells_and_drops_the_negative_models(arm, tmp_path):
    """The paper's layout (grouped: false: a job per positive model, one per negative fine-tune
    with its evaluation, one per positive model's own cell) gives the same cells as the toy's
    grid job, and a negative model is deleted once its cell is written."""
    work = tmp_path / "cells"
    shutil.copytree(arm, work, ignore=shutil.ignore_patterns(".snakemake"))
    config = yaml.safe_load((arm / "small.yaml").read_text())
    config["rebound"].update(grouped=False, models={"a": config["rebound"]["models"]["a"]}, n_pos=[16], factors={})
    (work / "cells.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    cells = {n: f"results/rebound/cells/a/reviews/pos16_neg{n}_seed1.json" for n in (0, 8)}
    for path in [*cells.values(), "results/tables/rebound.csv"]:
        (work / path).unlink()
    run = subprocess.run([SNAKEMAKE, "results/tables/rebound.csv", "--cores", "2", "--configfile", "cells.yaml"],
                         cwd=work, capture_output=True, text=True, env=ENV)
    assert run.returncode == 0, run.stderr[-4000:]
    for n, path in cells.items():
        assert read_json(work / path) == read_json(arm / path), n
    logs = work / "results" / "logs" / "rebound"
    assert (logs / "train" / "a" / "reviews" / "pos16_neg8_seed1.log").exists()
    assert (logs / "evaluate" / "a" / "reviews" / "pos16_neg8_seed1.log").exists()
    models = work / "results" / "models" / "rebound" / "a" / "reviews"
    assert sorted(p.name for p in models.iterdir()) == ["pos16_seed1"]



def test_smollm2_rebound_slice_plans_on_the_converted_gguf_model():
    """config/smollm2_rebound.yaml on top of config/smollm2.yaml: the GGUF conversion, then one
    job per cell of the slice, the base of every cell and the classifier's tokenizer the
    converted model."""
    config = yaml.safe_load((REPO / "config" / "smollm2_rebound.yaml").read_text())["rebound"]
    run = subprocess.run([SNAKEMAKE, "-n", "-p", "results/tables/rebound.md", "--configfile", "config/smollm2.yaml",
                          "config/smollm2_rebound.yaml"], cwd=REPO, capture_output=True, text=True, env=ENV)
    assert run.returncode == 0, run.stderr[-2000:]
    jobs = [line.split()[-1].rstrip(":") for line in run.stdout.splitlines() if line.startswith(("rule ", "localrule "))]
    n_cells = len(config["n_pos"]) * len(config["n_neg"]) * len(config["seeds"])
    n_positive = len(config["n_pos"]) * len(config["seeds"])
    # a job per positive model, one per positive model's own cell (n_neg = 0) and one per
    # negative fine-tune with its evaluation
    assert jobs.count("rebound_positive") == n_positive and jobs.count("rebound_evaluate") == n_positive
    assert jobs.count("rebound_negative") == n_cells - n_positive and jobs.count("gguf_model") <= 1
    assert "rebound_grid" not in jobs and "resistance_slices" not in jobs
    shells = [line for line in run.stdout.splitlines() if "rebound evaluate" in line or "rebound classifier" in line]
    assert shells and all("results/models/gguf/base" in line for line in shells)
