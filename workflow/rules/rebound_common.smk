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
    """A rebound/resistance model entry as the CLI takes it: toy -> the toy base directory."""
    return model_path("toy", "base") if ref == "toy" else ref


def rb_model_input(ref):
    path = rb_model_ref(ref)
    return [path] if ref == "toy" or os.path.isdir(path) else []


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


def rb_cell_model(w):
    """n_neg = 0 is the positive model itself; otherwise the negative run from it."""
    if int(w.nneg) == 0:
        return f"results/models/rebound/{w.rmodel}/{w.rtask}/pos{w.npos}_seed{w.rseed}"
    return f"results/models/rebound/{w.rmodel}/{w.rtask}/pos{w.npos}_neg{w.nneg}_seed{w.rseed}"


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
