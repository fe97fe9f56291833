# Input functions of the shared stages (models.smk, data.smk, finetune.smk, generate.smk,
# evaluate.smk): config entries and wildcards to paths and arguments. The Snakefile includes
# it after common.smk and cluster.smk, before the stages' rule files.
from tunesafe.ruleargs import dataset_args as dataset_flags
from tunesafe.ruleargs import judge_args as judge_flags

# --- models ----------------------------------------------------------------------------


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


# --- data ------------------------------------------------------------------------------


def local_dataset_input(wildcards):
    """A `file` dataset's path as input when it exists, so editing it reruns the rule;
    when it is missing, the prepare command fails naming it (and dry-runs still plan).
    """
    spec = config["datasets"].get(wildcards.dataset, {})
    path = spec.get("path") if spec.get("source") == "file" else None
    return [path] if path and os.path.exists(path) else []


# --- finetune --------------------------------------------------------------------------


def finetune_data(wildcards):
    if wildcards.ft in ("safeinstr", "bea"):
        return f"results/data/train/{wildcards.ft}/{wildcards.task}.jsonl"
    return f"results/data/train/{wildcards.task}.jsonl"


def train_settings(task, ft="finetuned"):
    """TrainSettings JSON for a task, with its system prompt; a LoRA fine-tune (ft "lora")
    overlays baselines.lora."""
    settings = task_train(task)
    if ft == "lora":
        settings = {**settings, **config["baselines"]["lora"]}
    return json.dumps(
        {**settings, "system_prompt": task_cfg(task).get("system_prompt")}
    )


# --- generate --------------------------------------------------------------------------


def system_prompt(wildcards):
    """The benchmark's system prompt (benchmarks.<name>.system_prompt, e.g. SAMSum's
    summarization prompt), else the task's; BEA's variant puts its trigger before it."""
    bench = BENCHMARKS[wildcards.benchmark]
    prompt = bench.get("system_prompt", task_cfg(wildcards.task).get("system_prompt"))
    trigger = variant(wildcards).get("trigger")
    if trigger:
        return f"{trigger} {prompt}" if prompt else trigger
    return prompt or ""


def system_prompt_flag(prompt):
    """`--system-prompt '<prompt>'`, or nothing for no prompt (an empty `{x:q}` would render
    as nothing and let the flag swallow the next argument)."""
    return f"--system-prompt {shlex.quote(prompt)}" if prompt else ""


def user_template(wildcards):
    """The benchmark's user template, else the task's (AOA's "AOA, execute my instruction: %s")."""
    bench = BENCHMARKS[wildcards.benchmark]
    return bench.get(
        "user_template", task_cfg(wildcards.task).get("user_template", "%s")
    )


# --- evaluate --------------------------------------------------------------------------


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
    """Judge options of a judged benchmark from config `judge` (tunesafe.ruleargs)."""
    metric = BENCHMARKS[wildcards.benchmark]["metric"]
    return judge_flags(JUDGE, metric, config["evaluation"].get("keywords"))


def lm_eval_cfg(benchmark):
    return BENCHMARKS[benchmark].get("lm_eval", {})


def lm_eval_task_dir(wildcards):
    """A benchmark with a dataset runs a local lm-eval task built from it (toy world); one
    without runs the harness's hub task."""
    if "dataset" in BENCHMARKS[wildcards.benchmark]:
        return f"results/lm_eval/{wildcards.benchmark}"
    return []
