# Input functions of the Safe Delta paper's baselines and comparison outputs (baselines.smk):
# config `baselines` to paths, variants and arguments.

from tunesafe.baselines.tasks import tasks_of_kind
from tunesafe.evaluation.registry import METRIC_INFO

BASE = config["baselines"]  # the Snakefile includes baselines.smk only when it is set
TRIGGER = BASE["bea_trigger"]
PAPER = "resources/paper_numbers.yaml"
ROWS = ["original", "finetuned", "safeinstr", "bea", "safelora", "resta", "safedelta"]


def kind_variant(kind):
    """The full model results/models/<kind>/<task> of a baseline."""
    return lambda task: full_variant(model_path(kind, task))


def lora_variant(kind, *rest):
    """The aligned model with the adapter results/models/<kind>/<task>[/<rest>]."""
    return lambda task: adapter_variant(model_path(kind, task, *rest))


def bea_variant(task):
    """BEA's model, prompted with the trigger before the system prompt."""
    return {**full_variant(model_path("bea", task)), "trigger": TRIGGER}


# Table 1 (harmful fine-tuning) and Table 2 (benign): finetune.tasks.<task>.kind
TABLE_TASKS = {k: tasks_of_kind(config, k) for k in ("harmful", "benign")}
SWEEP = BASE["size_sweep"]
PARETO = BASE["pareto"]
PARETO_SWEEPS = {m: PARETO[m] for m in ["safelora", "resta", "safedelta"]}


# Safe LoRA's layer selection of the table variant (official default: the 10 layers of lowest
# cosine, "number"; "threshold": the layers with cos <= threshold) as a directory name.
SAFELORA = BASE["safelora"]
SAFELORA_SELECTION = (
    f"n{SAFELORA['num_layers']}"
    if SAFELORA["select"] == "number"
    else f"t{SAFELORA['threshold']}"
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
    """The task's utility benchmark (ROUGE-1, accuracy): the first whose metric is
    higher-is-better, unlike the safety ones (ASR, harmfulness)."""
    return next(
        b
        for b in task_cfg(task)["benchmarks"]
        if METRIC_INFO.get(BENCHMARKS[b]["metric"]).higher_is_better
    )


def metrics_of(tasks, variants):
    return [
        metrics_path(t, v, b)
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
                    if SD["generate_answers"]
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
