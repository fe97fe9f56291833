# Input functions of the MathIF rules (mathif.smk): config mathif.* to paths and arguments.

import re

MATHIF = config.get("mathif", {})
# mathif.variants: models of the Safe Delta study, "<method>/<task>" (a model variant of
# the Safe Delta tables: finetuned/math, safedelta/math, ...), evaluated on MathIF as extra
# rows named by that string; their id column is the same string.
# (schema and tunesafe.config check the form and the task; the method is checked here: the
# Snakefile includes this file after every rule file that registers a variant)
MATHIF_VARIANTS = list(MATHIF.get("variants", []) or [])
for _v in MATHIF_VARIANTS:
    if _v.split("/")[0] not in VARIANTS:
        sys.exit(
            f"config error: mathif.variants: unknown method {_v.split('/')[0]!r} in {_v!r} "
            f"(expected one of {', '.join(sorted(VARIANTS))})"
        )
MATHIF_MODELS = {
    **MATHIF.get("models", {}),
    **{v: v for v in MATHIF_VARIANTS},
}
MATHIF_INTERVENTION = [m for m in MATHIF.get("intervention", []) if m in MATHIF_MODELS]
# Training paradigms (mathif.training, arXiv 2505.14810 Sec. 4): the start model of cold RL
# is evaluated as "training/base", the SFT model is the mathif.models entry training.sft,
# and every RL variant and seed is a model "rl/<variant>/s<seed>" (built by mathif_grpo).
# They are scored by the same generate/score rules, outside Table 3 (mathif_report).
MATHIF_TRAINING = MATHIF.get("training") or {}
MATHIF_RL = {
    f"rl/{v}/s{s}": (v, s)
    for v in MATHIF_TRAINING.get("variants", {})
    for s in MATHIF_TRAINING.get("seeds", [])
}
if MATHIF_TRAINING and MATHIF_TRAINING["sft"] not in MATHIF_MODELS:
    sys.exit(
        f"config error: mathif.training.sft: {MATHIF_TRAINING['sft']!r} is not a mathif.models "
        f"entry (expected one of {', '.join(MATHIF_MODELS)})"
    )
if MATHIF_TRAINING:
    from tunesafe.train.grpo_settings import GrpoSettings

    try:  # the job's own checks, at parse time (micro_batch must divide the completions...)
        GrpoSettings.from_dict(MATHIF_TRAINING.get("grpo", {}))
    except TunesafeError as e:
        sys.exit(f"config error: mathif.training.grpo: {e}")
MATHIF_EVAL_MODELS = [
    *MATHIF_MODELS,
    *(["training/base"] if MATHIF_TRAINING else []),
    *MATHIF_RL,
]
# CoT length control: models in mathif.budget_models generate the constraint prompts again
# with each thinking budget of mathif.budgets (setting budget_<N>, budget forcing)
MATHIF_BUDGETS = list(MATHIF.get("budgets", []) or [])
MATHIF_BUDGET_MODELS = [
    m for m in MATHIF.get("budget_models", []) if m in MATHIF_MODELS
]
MATHIF_SETTINGS = ["constraints", "no_constraints", "intervention"] + [
    f"budget_{b}" for b in MATHIF_BUDGETS
]
_longest = (MATHIF.get("sampling") or {}).get("max_new_tokens")
for _b in MATHIF_BUDGETS:
    if _longest is not None and _b >= _longest:
        sys.exit(
            f"config error: mathif.budgets: {_b} is not below mathif.sampling.max_new_tokens "
            f"({_longest}); the answer after the thinking needs tokens too"
        )


def mathif_variant(name):
    """The Safe Delta study's variant behind a mathif.variants entry (model, adapter, inputs),
    or None for a mathif.models entry."""
    if name not in MATHIF_VARIANTS:
        return None
    method, task = name.split("/")
    return VARIANTS[method](task)


def mathif_start_model(which):
    """Start model of a training paradigm: "base" (mathif.training.base; "toy" is the toy
    base) or "sft" (the mathif.models entry mathif.training.sft)."""
    if which == "sft":
        return mathif_model_ref(MATHIF_TRAINING["sft"])
    base = MATHIF_TRAINING["base"]
    return model_path("toy", "base") if base == "toy" else base


def mathif_rl_dir(variant, seed):
    return model_path("mathif_rl", variant, f"s{seed}")


def mathif_model_ref(name):
    """Directory or hub id of a MathIF model: mathif.models.<name> ("toy_reasoning" is built
    by the toy rules), the model of a mathif.variants entry, or a training paradigm's.
    """
    if (v := mathif_variant(name)) is not None:
        return v["model"]
    if name == "training/base":
        return mathif_start_model("base")
    if name in MATHIF_RL:
        return mathif_rl_dir(*MATHIF_RL[name])
    ref = MATHIF_MODELS[name]
    return model_path("toy", "reasoning") if ref == "toy_reasoning" else ref


def mathif_model_input(wildcards):
    name = wildcards.mathif_model
    if (v := mathif_variant(name)) is not None:
        return v["inputs"]
    ref = mathif_model_ref(name)
    built = name in MATHIF_RL or MATHIF_MODELS.get(name) == "toy_reasoning"
    built = built or (name == "training/base" and MATHIF_TRAINING["base"] == "toy")
    return [ref] if built or os.path.isdir(ref) else []


def mathif_grpo_start(wildcards):
    """Start model (a rule input when it is built here or a local directory) of an RL variant."""
    start = mathif_start_model(
        MATHIF_TRAINING["variants"][wildcards.rl_variant]["start"]
    )
    built = start in (model_path("toy", "base"), model_path("toy", "reasoning"))
    return [start] if built or os.path.isdir(start) else []


def mathif_rl_prompts_args():
    """`tunesafe mathif rl-prompts` arguments of config mathif.training.prompts."""
    return " ".join(
        f"--{k.replace('_', '-')} {shlex.quote(str(v))}"
        for k, v in MATHIF_TRAINING["prompts"].items()
        if v is not None
    )


def mathif_training_rows():
    """`--row LABEL=MODEL,...` of the training table: base, SFT, each RL variant's seeds."""
    rows = {"Base": ["training/base"], "SFT": [MATHIF_TRAINING["sft"]]}
    for v, spec in MATHIF_TRAINING.get("variants", {}).items():
        rows[spec.get("label", v)] = [n for n, (vv, _) in MATHIF_RL.items() if vv == v]
    specs = [f"{label}={','.join(models)}" for label, models in rows.items()]
    return " ".join(f"--row {shlex.quote(spec)}" for spec in specs)


def mathif_adapter_arg(wildcards):
    v = mathif_variant(wildcards.mathif_model)
    return f"--adapter {v['adapter']}" if v and v["adapter"] else ""


def mathif_tensor_parallel(wildcards):
    """vLLM GPUs of a model: mathif.tensor_parallel_size.<model>, else generation's."""
    return MATHIF.get("tensor_parallel_size", {}).get(
        wildcards.mathif_model, config["generation"]["tensor_parallel_size"]
    )


def mathif_data_args():
    """`tunesafe mathif prepare` arguments of config mathif.data."""
    args = []
    for key, value in MATHIF.get("data", {}).items():
        if value is not None:
            args.append(f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    return " ".join(args)


def mathif_prompts_input(wildcards):
    if wildcards.mathif_setting.startswith("budget_"):
        return "results/mathif/prompts/constraints.jsonl"
    if wildcards.mathif_setting == "intervention":
        return f"results/mathif/prompts/{wildcards.mathif_model}/intervention.jsonl"
    return f"results/mathif/prompts/{wildcards.mathif_setting}.jsonl"


def mathif_sampling_args(setting):
    """mathif.sampling; the intervention's second pass with intervention_max_new_tokens; a
    budget_<N> setting with budget forcing at N thinking tokens."""
    longer = (
        MATHIF.get("intervention_max_new_tokens") if setting == "intervention" else None
    )
    flags = sampling_flags(
        MATHIF.get("sampling"), "mathif.sampling", max_new_tokens=longer or None
    )
    if setting.startswith("budget_"):
        flags += f" --thinking-budget {int(setting.removeprefix('budget_'))}"
    return flags
