# Shared by every arm's rules: the validated config (with the defaults of
# config/schema.yaml filled in), the task and benchmark lists, the models of config
# `models` and the model variants a task generates with. No logic beyond mapping config
# entries and wildcards to paths and arguments; maps worth a test live in the package
# (tunesafe.ruleargs: flags and the paths under results/; tunesafe.baselines.tasks).
# The Snakefile includes this file first (see its include list for the order).
import json
import os
import shlex
import sys

from tunesafe.baselines.tasks import derived_tasks
from tunesafe.config import validate_config
from tunesafe.errors import TunesafeError
from tunesafe.evaluation.registry import metric_names
from tunesafe.ruleargs import data_path, metrics_path, model_path
from tunesafe.ruleargs import sampling_args as sampling_flags
from tunesafe.train.settings import check_config as check_train_settings

try:
    # fills in the schema's defaults, so rules read config[...] without fallbacks
    validate_config(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
    # every fine-tune's settings now, not inside the training job (same one-line errors)
    check_train_settings(config)
except TunesafeError as e:
    sys.exit(str(e))


TASKS = list(config["finetune"]["tasks"])  # the tasks of the tables
ALL_TASKS = {**config["finetune"]["tasks"], **derived_tasks(config)}
BENCHMARKS = config["benchmarks"]
# benchmarks by what their metric needs (tunesafe.evaluation.registry.METRIC_INFO):
# generations + a judge, the model (lm-eval), generations only
JUDGED, LM_EVAL, SCORED = (
    [b for b, c in BENCHMARKS.items() if c["metric"] in metric_names(needs)]
    for needs in ("judge", "model", "generations")
)
GENERATED = [
    b for b in BENCHMARKS if b not in LM_EVAL and "generations" not in BENCHMARKS[b]
]
THREADS = config["threads"]
SEED = config["seed"]
ENV = "../../envs/tunesafe.yaml"  # conda env for --sdm conda (relative to rule files)
TABLES = []  # report rules append the tables `rule all` builds
# Rows of results/tables/finetune_safety: later stages append their variant names.
TABLE_VARIANTS = ["original", "finetuned"]


wildcard_constraints:
    task="|".join(ALL_TASKS),
    benchmark="|".join(BENCHMARKS),
    dataset="[A-Za-z0-9_]+",
    method="[a-z_]+(-s[0-9.e+-]+)?",


# --- models of config `models` -------------------------------------------------------------


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
        return model_path("toy", which)
    if is_built(which):
        return model_path(next(iter(config["models"][which])), which)
    return config["models"][which]


def model_input(which):
    """Snakemake input for models.<which>: a directory built by the workflow or a local one;
    for a hub id nothing, or its download marker when cluster.offline (download.smk)."""
    ref = model_ref(which)
    if is_toy(which) or is_built(which) or os.path.isdir(ref):
        return [ref]
    return [f"results/downloads/{which}.json"] if config["cluster"]["offline"] else []


# --- tasks and model variants --------------------------------------------------------------


def task_cfg(task):
    return ALL_TASKS[task]


def task_train(task):
    """TrainSettings fields of a task: finetune.defaults overlaid with the task's `train`."""
    return {**config["finetune"]["defaults"], **task_cfg(task).get("train", {})}


# Model variants that generate for a task. Each entry maps a task to the model (and LoRA
# adapter) to load plus the files Snakemake must build first, and optionally a trigger put
# before the system prompt (BEA). Later stages (Safe Delta, baselines) add a variant with
# register_variant() in their own rule file.
VARIANTS = {}


def register_variant(name, resolve):
    VARIANTS[name] = resolve


def full_variant(path):
    """A variant that loads the full model at ``path``."""
    return {"model": path, "adapter": None, "inputs": [path]}


def adapter_variant(path):
    """A variant that loads the aligned model with the LoRA adapter at ``path``."""
    return {
        "model": model_ref("aligned"),
        "adapter": path,
        "inputs": model_input("aligned") + [path],
    }


def finetuned_variant(task):
    path = model_path("finetuned", task)
    if task_train(task).get("method", "full") == "lora":
        return adapter_variant(path)
    return full_variant(path)


def original_variant(task):
    return {
        "model": model_ref("aligned"),
        "adapter": None,
        "inputs": model_input("aligned"),
    }


register_variant("original", original_variant)
register_variant("finetuned", finetuned_variant)


def variant(wildcards):
    if wildcards.method not in VARIANTS:
        raise ValueError(
            f"unknown model variant {wildcards.method!r} (expected one of {sorted(VARIANTS)})"
        )
    return VARIANTS[wildcards.method](wildcards.task)
