# Input functions and helpers shared by every rule file. No logic beyond mapping config
# entries and wildcards to paths and command-line arguments.
import json
import os
import shlex
import sys

from tunesafe.config import safedelta_scale, validate_config
from tunesafe.errors import TunesafeError
from tunesafe.train.settings import check_config as check_train_settings

try:
    validate_config(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
    # every fine-tune's settings now, not inside the training job (same one-line errors)
    check_train_settings(config)
except TunesafeError as e:
    sys.exit(str(e))


TASKS = list(config["finetune"]["tasks"])  # the tasks of the tables


def derived_tasks():
    """Fine-tunes the baselines need beyond config tasks: PureBad-<n> of the size sweep
    (the task's settings on the first n records of the pool) and Resta's unaligned model.
    """
    base = config.get("baselines")
    if not base:
        return {}
    tasks = config["finetune"]["tasks"]
    sweep, resta = base["size_sweep"], base["resta"]
    out = {
        f"{sweep['task']}_n{n}": {
            **tasks[sweep["task"]],
            "data": [sweep["dataset"]],
            "size": n,
        }
        for n in sweep["sizes"]
    }
    source = tasks[resta.get("unaligned_settings_from", TASKS[0])]
    out["resta_unaligned"] = {
        **source,
        "data": resta["unaligned_data"],
        "benchmarks": [],
    }
    return out


ALL_TASKS = {**config["finetune"]["tasks"], **derived_tasks()}
BENCHMARKS = config["benchmarks"]
# benchmarks by how they are scored: generations + metric, generations + judge, lm-eval
JUDGED = [b for b, c in BENCHMARKS.items() if c["metric"] in ("harmfulness", "mtbench")]
LM_EVAL = [b for b, c in BENCHMARKS.items() if c["metric"] == "mmlu"]
SCORED = [b for b in BENCHMARKS if b not in JUDGED + LM_EVAL]
GENERATED = [
    b for b in BENCHMARKS if b not in LM_EVAL and "generations" not in BENCHMARKS[b]
]
THREADS = config.get("threads", 2)
SEED = config.get("seed", 42)
ENV = "../../envs/tunesafe.yaml"  # conda env for --sdm conda (relative to rule files)
TABLES = []  # report rules append the tables `rule all` builds


wildcard_constraints:
    task="|".join(ALL_TASKS),
    benchmark="|".join(BENCHMARKS),
    dataset="[A-Za-z0-9_]+",
    method="[a-z_]+(-s[0-9.e+-]+)?",


def is_toy(which):
    """True when models.<which> is built by the toy rules."""
    return config["models"][which] == "toy"


def is_built(which):
    """True when models.<which> is built by models.smk (gguf = a converted GGUF
    file, sft = another models entry fine-tuned on config datasets)."""
    return isinstance(config["models"][which], dict)


def model_ref(which):
    """Path or hub id of models.<which> (aligned, base) as the CLI takes it."""
    if is_toy(which):
        return f"results/models/toy/{which}"
    if is_built(which):
        return f"results/models/{next(iter(config['models'][which]))}/{which}"
    return config["models"][which]


def model_input(which):
    """Snakemake input for models.<which>: a directory built by the workflow or a local
    one; [] for hub ids."""
    ref = model_ref(which)
    return [ref] if is_toy(which) or is_built(which) or os.path.isdir(ref) else []


def built_spec(which, kind):
    """models.<which>.<kind> (gguf or sft) of a model the workflow builds (models.smk)."""
    spec = config["models"][which]
    if not isinstance(spec, dict) or kind not in spec:
        raise ValueError(f"config models.{which} is not a {kind} entry")
    return spec[kind]


def gguf_args(which):
    spec = built_spec(which, "gguf")
    return " ".join(
        f"--{k} {shlex.quote(str(spec[k]))}"
        for k in ("path", "package", "file", "sha256")
        if spec.get(k)
    )


def task_cfg(task):
    return ALL_TASKS[task]


def task_train(task):
    """TrainSettings fields of a task: finetune.defaults overlaid with the task's `train`."""
    return {**config["finetune"].get("defaults", {}), **task_cfg(task).get("train", {})}


def train_settings(task, ft="finetuned"):
    """TrainSettings JSON for a task, with its system prompt; a LoRA fine-tune (ft "lora")
    overlays baselines.lora."""
    settings = task_train(task)
    if ft == "lora":
        settings = {**settings, **config["baselines"]["lora"]}
    return json.dumps(
        {**settings, "system_prompt": task_cfg(task).get("system_prompt")}
    )


# Model variants that generate for a task. Each entry maps a task to the model (and LoRA
# adapter) to load plus the files Snakemake must build first, and optionally a trigger put
# before the system prompt (BEA). Later stages (Safe Delta,
# baselines) add a variant with register_variant() in their own rule file.
VARIANTS = {}


def register_variant(name, resolve):
    VARIANTS[name] = resolve


def finetuned_variant(task):
    path = f"results/models/finetuned/{task}"
    if task_train(task).get("method", "full") == "lora":
        return {
            "model": model_ref("aligned"),
            "adapter": path,
            "inputs": model_input("aligned") + [path],
        }
    return {"model": path, "adapter": None, "inputs": [path]}


register_variant(
    "original",
    lambda task: {
        "model": model_ref("aligned"),
        "adapter": None,
        "inputs": model_input("aligned"),
    },
)
register_variant("finetuned", finetuned_variant)


def variant(wildcards):
    if wildcards.method not in VARIANTS:
        raise ValueError(
            f"unknown model variant {wildcards.method!r} (expected one of {sorted(VARIANTS)})"
        )
    return VARIANTS[wildcards.method](wildcards.task)


def sampling_args(benchmark):
    s = BENCHMARKS[benchmark].get("sampling", {})
    names = {
        "temperature": "--temperature",
        "top_p": "--top-p",
        "top_k": "--top-k",
        "max_new_tokens": "--max-new-tokens",
        "seed": "--seed",
    }
    return " ".join(f"{names[k]} {v}" for k, v in s.items())


def dataset_args(name):
    """`tunesafe data prepare` arguments for config datasets.<name>."""
    if name not in config["datasets"]:
        raise ValueError(
            f"dataset {name!r} is not in config datasets ({', '.join(config['datasets'])})"
        )
    args = []
    for key, value in config["datasets"][name].items():
        if value is None or value is False:
            continue
        flag = f"--{key.replace('_', '-')}"
        args.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join(args)


def local_dataset_input(wildcards):
    """A `file` dataset's path as input when it exists, so editing it reruns the rule;
    when it is missing, the prepare command fails naming it (and dry-runs still plan).
    """
    spec = config["datasets"].get(wildcards.dataset, {})
    path = spec.get("path") if spec.get("source") == "file" else None
    return [path] if path and os.path.exists(path) else []


SD = config["safedelta"]


def sd_scale(task):
    """safedelta.scale of a task (one number, or per task); the size sweep's <task>_n<size>
    fine-tunes take their task's."""
    sweep = (config.get("baselines") or {}).get("size_sweep", {})
    source = sweep.get("task") if task.startswith(f"{sweep.get('task')}_n") else None
    return safedelta_scale(SD["scale"], task, source)


# Rows of results/tables/finetune_safety: later stages append their variant names.
TABLE_VARIANTS = ["original", "finetuned"]


def safedelta_variant(kind, task, scale):
    path = f"results/models/{kind}/{task}/s{scale}"
    return {"model": path, "adapter": None, "inputs": [path]}


def safety_set_input(wildcards):
    """The aligned model's answers to the harmful prompts, or a ready safety set."""
    sd = config["safedelta"]
    if sd.get("generate_answers", True):
        return "results/safedelta/safety_set_answers.jsonl"
    return f"results/data/{sd['safety_set']}.jsonl"


def safety_templates():
    """Prompt templates the shuffled safety samples get in turn: safedelta.safety_templates
    (official: pure_bad, aoa, math, pure_bad), else the tasks' own, in config order."""
    if "safety_templates" in SD:
        return SD["safety_templates"]
    return [
        {
            "system_prompt": task_cfg(t).get("system_prompt"),
            "user_template": task_cfg(t).get("user_template", "%s"),
        }
        for t in TASKS
        if task_cfg(t).get("system_prompt")
    ]


# --- Fine-tuning ---------------------------------------------------------------------------


def finetune_data(wildcards):
    if wildcards.ft in ("safeinstr", "bea"):
        return f"results/data/train/{wildcards.ft}/{wildcards.task}.jsonl"
    return f"results/data/train/{wildcards.task}.jsonl"


# --- Generation ----------------------------------------------------------------------------


def system_prompt(wildcards):
    """The benchmark's system prompt (benchmarks.<name>.system_prompt, e.g. SAMSum's
    summarization prompt), else the task's; BEA's variant puts its trigger before it."""
    bench = BENCHMARKS[wildcards.benchmark]
    prompt = bench.get("system_prompt", task_cfg(wildcards.task).get("system_prompt"))
    trigger = variant(wildcards).get("trigger")
    if trigger:
        return f"{trigger} {prompt}" if prompt else trigger
    return prompt or ""


def user_template(wildcards):
    """The benchmark's user template, else the task's (AOA's "AOA, execute my instruction: %s")."""
    bench = BENCHMARKS[wildcards.benchmark]
    return bench.get(
        "user_template", task_cfg(wildcards.task).get("user_template", "%s")
    )


# --- Evaluation ----------------------------------------------------------------------------


JUDGE = config.get("judge", {})


def metric_options(benchmark):
    """Options of a generations metric: the keyword list of ASR, ROUGE's implementation."""
    bench = BENCHMARKS[benchmark]
    if bench["metric"] == "asr":
        kw = config["evaluation"].get("keywords")  # None: the packaged list
        return f"--keywords {kw}" if kw else ""
    if bench["metric"] == "rouge1" and bench.get("rouge"):
        return f"--implementation {bench['rouge']}"
    return ""


def generations_of(wildcards):
    source = BENCHMARKS[wildcards.benchmark].get("generations", wildcards.benchmark)
    return f"results/generations/{wildcards.task}/{wildcards.method}/{source}.jsonl"


def judge_template_input(wildcards):
    """The judge's files (harmfulness template; FastChat prompts and references) when they exist, so
    editing it reruns the judge; a missing one fails the job naming it (dry-runs still plan).
    """
    metric = BENCHMARKS[wildcards.benchmark]["metric"]
    keys = {
        "harmfulness": ["harmfulness_template"],
        "mtbench": ["mtbench_prompts", "mtbench_references"],
    }.get(metric, [])
    paths = [JUDGE.get(k) for k in keys]
    return [p for p in paths if p and os.path.exists(p)]


def judge_args(wildcards):
    """Judge options from config `judge`; the API key stays in its environment variable."""
    names = {
        "model": "--judge-model",
        "base_url": "--base-url",
        "api_key_env": "--api-key-env",
        "engine": "--engine",
        "max_new_tokens": "--max-new-tokens",
    }
    judge = dict(JUDGE)
    if BENCHMARKS[wildcards.benchmark]["metric"] == "mtbench":
        # MT-Bench's own judge model and reply length (FastChat: gpt-4, 2048 tokens)
        for k in ("model", "max_new_tokens"):
            if JUDGE.get(f"mtbench_{k}"):
                judge[k] = JUDGE[f"mtbench_{k}"]
    args = [f"--judge {judge['backend']}"]
    args += [
        f"{flag} {shlex.quote(str(judge[k]))}"
        for k, flag in names.items()
        if judge.get(k)
    ]
    if BENCHMARKS[wildcards.benchmark]["metric"] == "harmfulness":
        if config["evaluation"].get("keywords"):  # else the packaged list
            args.append(f"--keywords {config['evaluation']['keywords']}")
        harm = {
            "harmfulness_template": "--rubric",
            "top_p": "--top-p",
            "instruction": "--instruction",
        }
        args += [
            f"{flag} {shlex.quote(str(JUDGE[k]))}"
            for k, flag in harm.items()
            if JUDGE.get(k) is not None
        ]
    if BENCHMARKS[wildcards.benchmark]["metric"] == "mtbench":
        fastchat = {
            "mtbench_prompts": "--judge-prompts",
            "mtbench_references": "--references",
        }
        args += [
            f"{flag} {shlex.quote(str(JUDGE[k]))}"
            for k, flag in fastchat.items()
            if JUDGE.get(k)
        ]
        if JUDGE.get("mtbench_reference_categories"):
            cats = ",".join(JUDGE["mtbench_reference_categories"])
            args.append(f"--reference-categories {cats}")
    return " ".join(args)


def lm_eval_cfg(benchmark):
    return BENCHMARKS[benchmark].get("lm_eval", {})


def lm_eval_task_dir(wildcards):
    """A benchmark with a dataset runs a local lm-eval task built from it (toy world); one
    without runs the harness's hub task."""
    if "dataset" in BENCHMARKS[wildcards.benchmark]:
        return f"results/lm_eval/{wildcards.benchmark}"
    return []


# --- Safe Delta ----------------------------------------------------------------------------


def safedelta_finetune(wildcards):
    """The fine-tune Safe Delta post-processes: the full one, or the LoRA one (Exp. 5)."""
    ft = "lora" if wildcards.kind == "lora_safedelta" else "finetuned"
    return f"results/models/{ft}/{wildcards.task}"


# --- Baselines (baselines.smk registers their variants) -----------------------------------

BASE = config.get("baselines", {})  # optional: baselines.smk is included when it is set
TRIGGER = BASE.get("bea_trigger")
PAPER = "resources/paper_numbers.yaml"
ROWS = ["original", "finetuned", "safeinstr", "bea", "safelora", "resta", "safedelta"]


def full_variant(kind):
    return lambda task: {
        "model": f"results/models/{kind}/{task}",
        "adapter": None,
        "inputs": [f"results/models/{kind}/{task}"],
    }


def lora_variant(path):
    return lambda task: {
        "model": model_ref("aligned"),
        "adapter": path.format(task=task),
        "inputs": model_input("aligned") + [path.format(task=task)],
    }


def bea_variant(task):
    """BEA's model, prompted with the trigger before the system prompt."""
    return {**full_variant("bea")(task), "trigger": TRIGGER}


HARMFUL_TASKS = [t for t in ["purebad", "aoa"] if t in TASKS]
BENIGN_TASKS = [t for t in ["dirty_summary", "math"] if t in TASKS]
SWEEP = BASE.get("size_sweep")
PARETO = BASE.get("pareto", {})
PARETO_SWEEPS = {m: PARETO.get(m, []) for m in ["safelora", "resta", "safedelta"]}


# Safe LoRA's layer selection of the table variant (official default: the 10 layers of lowest
# cosine, "number"; "threshold": the layers with cos <= threshold) as a directory name.
SAFELORA = BASE.get("safelora", {})  # the baselines section is optional
SAFELORA_SELECTION = (
    f"n{SAFELORA['num_layers']}"
    if SAFELORA.get("select", "threshold") == "number"
    else f"t{SAFELORA.get('threshold')}"
)


def safelora_selection_args(selection):
    """`baselines safelora` options of a selection directory name (t<threshold>, n<layers>)."""
    if selection.startswith("n"):
        return f"--num-layers {selection[1:]}"
    return f"--threshold {selection[1:]}"


def pareto_variant(method, knob):
    """The variant of a Pareto sweep point: the method's own (table) variant at its default
    knob, so that point is generated and judged once, else <method>-s<knob>."""
    default = {
        "safelora": (
            SAFELORA["threshold"] if SAFELORA_SELECTION.startswith("t") else None
        ),
        "resta": BASE["resta"]["coefficient"],
        "safedelta": [sd_scale(PARETO["x_task"]), sd_scale(PARETO["y_task"])],
    }[method]
    defaults = default if isinstance(default, list) else [default]
    same = all(d is not None and float(knob) == float(d) for d in defaults)
    return method if same else f"{method}-s{knob}"


def utility_benchmark(task):
    """The task's benchmark that is not a safety one (ROUGE-1, accuracy)."""
    return next(
        b
        for b in task_cfg(task)["benchmarks"]
        if BENCHMARKS[b]["metric"] not in ("asr", "harmfulness")
    )


def metrics_of(tasks, variants):
    return [
        f"results/metrics/{t}/{v}/{b}.json"
        for t in tasks
        for v in variants
        for b in task_cfg(t)["benchmarks"]
    ]


def task_args(tasks):
    return " ".join(f"--task {t}:{','.join(task_cfg(t)['benchmarks'])}" for t in tasks)


def time_cost_spec():
    tasks = BASE["lora_tasks"]
    sd = {t: f"results/benchmarks/safedelta/{t}/s{sd_scale(t)}.tsv" for t in tasks}
    return {
        "tasks": tasks,
        "finetune": "results/benchmarks/finetuned/{task}.tsv",
        "methods": [
            {"label": "SafeInstr", "train": "results/benchmarks/safeinstr/{task}.tsv"},
            {"label": "BEA", "train": "results/benchmarks/bea/{task}.tsv"},
            {
                "label": "Safe LoRA",
                "post": f"results/benchmarks/safelora/{{task}}/{SAFELORA_SELECTION}.tsv",
            },
            {
                "label": "Resta",
                "post": f"results/benchmarks/resta/{{task}}/c{BASE['resta']['coefficient']}.tsv",
                "once": ["results/benchmarks/finetuned/resta_unaligned.tsv"],
            },
            {
                "label": "Safe Delta",
                "post": sd,
                "once": [f"results/benchmarks/safedelta/hessian_n{SD['nsamples']}.tsv"]
                + (
                    ["results/benchmarks/safedelta/safety_set_answers.tsv"]
                    if SD.get("generate_answers", True)
                    else []
                ),
            },
        ],
    }


def time_cost_inputs(wildcards):
    spec = time_cost_spec()
    files = [spec["finetune"].format(task=t) for t in spec["tasks"]]
    for m in spec["methods"]:
        pattern = m.get("train", m.get("post"))
        files += [
            pattern[t] if isinstance(pattern, dict) else pattern.format(task=t)
            for t in spec["tasks"]
        ]
        files += m.get("once", [])
    return files
