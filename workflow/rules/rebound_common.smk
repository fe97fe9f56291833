# Constants and input functions of workflow/rules/rebound.smk (resistance and rebound,
# arXiv 2406.06144): config entries and wildcards to paths and command-line arguments.
from tunesafe.rebound.resistance import PAIRS, pair

RB = config.get("rebound", {})
RB_MODELS = RB.get("models", {})
RB_TASKS = RB.get("tasks", {})
RS = RB.get("resistance", {})
# `train sft` argument of the first fine-tune from a base model (see rebound.chat_template)
RB_TEMPLATE = (
    f"--chat-template {shlex.quote(RB['chat_template'])}"
    if RB.get("chat_template")
    else ""
)
RS_MODELS = RS.get("models", {})
# the rebound arm's own toy bases (elasticity: model size x pre-training amount); a model entry
# "toy_world/<size>/<amount>" names one of them
RB_TOY = RB.get("toy_world", {})
RB_SIZES = RB_TOY.get("sizes", {})
RB_AMOUNTS = RB_TOY.get("amounts", {})
if RB_AMOUNTS and 1.0 not in RB_AMOUNTS.values():
    raise ValueError(
        f"config error: rebound.toy_world.amounts {RB_AMOUNTS}: one amount must be 1.0 "
        "(the end of the pre-training run)"
    )
# one job per (model, task) runs all its cells (toy scale) instead of one job per cell
RB_GROUPED = RB.get("grouped", False)
# figures against a factor: name -> the models compared (the n_pos figure is drawn per model)
RB_FACTORS = RB.get("factors", {})
RS_SETS = RS.get("sets", {})


wildcard_constraints:
    rmodel="[A-Za-z0-9_.-]+",
    rtask="[A-Za-z0-9_]+",
    rset="[A-Za-z0-9_]+",
    npos="[0-9]+",
    nneg="[0-9]+",
    rseed="[0-9]+",
    polarity="positive|negative",
    direction="forward|inverse",
    slice="[123]",


def rb_model_ref(ref):
    """A rebound/resistance model entry as the CLI takes it: toy -> the toy base directory,
    toy_world/<size>/<amount> -> that toy base of the rebound arm, models/<which> -> the
    config's models.<which> (e.g. a converted GGUF checkpoint)."""
    if ref == "toy":
        return model_path("toy", "base")
    if ref.startswith("models/"):
        return model_ref(ref.split("/", 1)[1])
    return f"results/models/rebound/{ref}" if ref.startswith("toy_world/") else ref


def rb_model_input(ref):
    if ref.startswith("models/"):
        return model_input(ref.split("/", 1)[1])
    path = rb_model_ref(ref)
    toy = ref == "toy" or ref.startswith("toy_world/")
    return [path] if toy or os.path.isdir(path) else []


def rb_classifier_tokenizer(w):
    """Tokenizer of a task's toy classifier: the toy tokenizer, or a model entry's own."""
    ref = RB_TASKS[w.rtask].get("classifier_tokenizer", "toy")
    return "results/models/toy/tokenizer" if ref == "toy" else rb_model_ref(ref)


def rb_cells():
    """Metrics file of every cell of the rebound grid."""
    return [
        f"results/rebound/cells/{m}/{t}/pos{p}_neg{n}_seed{s}.json"
        for m in RB_MODELS
        for t in RB_TASKS
        for p in RB["n_pos"]
        for n in RB["n_neg"]
        for s in RB["seeds"]
    ]


def rb_evaluate_args(w):
    """`tunesafe rebound evaluate` arguments of a cell, but its model, prompts and outputs."""
    return (
        f"--base {rb_model_ref(RB_MODELS[w.rmodel])} {rb_scorer_args(w.rtask)} "
        f"{rb_sampling_args()} --seed {w.rseed} "
        f"--engine {config['generation']['engine']} --batch-size {config['generation']['batch_size']} "
        f"--cell {w.rmodel}:{w.rtask}:{w.npos}:{w.nneg}:{w.rseed}"
    )


def rb_train_settings(w):
    """rebound.train with the cell's seed (data order)."""
    return json.dumps({**RB["train"], "seed": int(w.rseed)})


def rb_data_args(task, kind, n):
    """`tunesafe rebound data` arguments of a task's source (toy generator or real rows)."""
    t = RB_TASKS[task]
    args = [
        f"--task {t.get('name', task)} --kind {kind} --n {n} --source {t['source']}"
    ]
    if t["source"] == "toy":
        seed = {"prompts": 1, "labelled": 2}.get(kind, 0) + t.get("data_seed", 0)
        args.append(f"--seed {seed}")
    else:
        split = t.get("eval_split" if kind == "prompts" else "split", "train")
        args.append(f"--format {t['format']} --split {split}")
        args.append(
            f"--path {t['path']}" if t["source"] == "file" else f"--id {t['id']}"
        )
        for key in ["shuffle_seed", "prefix_words"]:
            if t.get(key) is not None:
                args.append(f"--{key.replace('_', '-')} {t[key]}")
    return " ".join(args)


def rb_scorer_args(task):
    t = RB_TASKS[task]
    options = dict(t.get("scorer_options", {}))
    if t["scorer"] == "toy_classifier":
        options["path"] = f"results/rebound/classifier/{task}"
    opts = " ".join(
        f"--scorer-option {shlex.quote(f'{k}={v}')}" for k, v in options.items()
    )
    return f"--scorer {t['scorer']} {opts}"


def rb_scorer_input(w):
    if RB_TASKS[w.rtask]["scorer"] == "toy_classifier":
        return [f"results/rebound/classifier/{w.rtask}"]
    return []


def rb_sampling_args():
    """rebound.sampling; a cell's seed is its own (--seed {rseed})."""
    return sampling_flags(RB.get("sampling"), "rebound.sampling", skip=["seed"])


def rs_cells():
    return [f"{m}:{d}" for m in RS_MODELS for d in RS_SETS]


def rs_run(w):
    """(slice trained, slice whose responses are the data) of a forward/inverse run."""
    return pair(w.direction, int(w.i), int(w.j))


def rb_grid_outputs(kind):
    """Per-cell files of one (rmodel, rtask) grid job: metrics (cells) or generations."""
    base, ext = {
        "cells": ("results/rebound/cells", "json"),
        "generations": ("results/generations/rebound", "jsonl"),
    }[kind]
    return [
        f"{base}/{{rmodel}}/{{rtask}}/pos{p}_neg{n}_seed{s}.{ext}"
        for p in RB["n_pos"]
        for n in RB["n_neg"]
        for s in RB["seeds"]
    ]


def rb_grid_data(w):
    """Positive and negative training records of a grid job (n_neg = 0 needs none)."""
    return {
        **{
            f"pos{p}": f"results/rebound/data/{w.rtask}/positive_n{p}.jsonl"
            for p in RB["n_pos"]
        },
        **{
            f"neg{n}": f"results/rebound/data/{w.rtask}/negative_n{n}.jsonl"
            for n in RB["n_neg"]
            if int(n) > 0
        },
    }


def rb_grid_args(w, input):
    """--positive / --negative arguments of `tunesafe rebound grid`."""
    pos = " ".join(f"--positive {p}={input[f'pos{p}']}" for p in RB["n_pos"])
    neg = " ".join(
        f"--negative {n}={input[f'neg{n}'] if int(n) > 0 else '-'}" for n in RB["n_neg"]
    )
    return f"{pos} {neg}"


def rb_toy_corpus_args():
    c = RB_TOY["corpus"]
    shares = ",".join(f"{k}={v}" for k, v in c["sentiment"].items())
    return (
        f"--n {c['n']} --seed {c['seed']} --review-share {c['review_share']} "
        f"--sentiment {shares}"
    )


def rb_factor_args():
    return " ".join(
        f"--factor {name}={','.join(models)}" for name, models in RB_FACTORS.items()
    )


def rs_set_data(rset, kind):
    """Training records (kind train) or prompts of a resistance set: a datasets entry's
    prepared records, or the set's own TruthfulQA / BeaverTails rows (`rebound alignment-data`).
    """
    s = RS_SETS[rset]
    if "format" in s:
        return f"results/rebound/alignment/{rset}/{kind}.jsonl"
    return f"results/data/{s[kind]}.jsonl"


def rs_alignment_args(rset):
    s = RS_SETS[rset]
    args = [f"--format {s['format']} --source {s['source']} --seed {s.get('seed', 0)}"]
    args.append(f"--n-train {s['n_train']} --n-prompts {s['n_prompts']}")
    if s["source"] == "toy":
        args.append(f"--n {s['n']}")
    elif s["source"] == "file":
        args.append(f"--path {s['path']}")
    else:
        args.append(f"--id {s['id']} --split {s.get('split', 'train')}")
        if s.get("name"):
            args.append(f"--name {s['name']}")
    return " ".join(args)
