# Input functions of the MathIF rules (mathif.smk): config mathif.* to paths and arguments.

import re

MATHIF = config.get("mathif", {})
MATHIF_MODELS = MATHIF.get("models", {})
MATHIF_SETTINGS = ["constraints", "no_constraints", "intervention"]
MATHIF_INTERVENTION = [m for m in MATHIF.get("intervention", []) if m in MATHIF_MODELS]


def mathif_model_ref(name):
    """Directory or hub id of mathif.models.<name>; "toy_reasoning" is built by the toy rules."""
    ref = MATHIF_MODELS[name]
    return "results/models/toy/reasoning" if ref == "toy_reasoning" else ref


def mathif_model_input(wildcards):
    ref = mathif_model_ref(wildcards.mathif_model)
    return (
        [ref]
        if MATHIF_MODELS[wildcards.mathif_model] == "toy_reasoning"
        or os.path.isdir(ref)
        else []
    )


def mathif_tensor_parallel(wildcards):
    """vLLM GPUs of a model: mathif.tensor_parallel_size.<model>, else generation's."""
    return MATHIF.get("tensor_parallel_size", {}).get(
        wildcards.mathif_model, config["generation"].get("tensor_parallel_size", 1)
    )


def mathif_data_args():
    """`tunesafe mathif prepare` arguments of config mathif.data."""
    args = []
    for key, value in MATHIF.get("data", {}).items():
        if value is not None:
            args.append(f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    return " ".join(args)


def mathif_prompts_input(wildcards):
    if wildcards.mathif_setting == "intervention":
        return f"results/mathif/prompts/{wildcards.mathif_model}/intervention.jsonl"
    return f"results/mathif/prompts/{wildcards.mathif_setting}.jsonl"


def mathif_sampling_args(setting):
    s = dict(MATHIF.get("sampling", {}))
    if setting == "intervention" and MATHIF.get("intervention_max_new_tokens"):
        s["max_new_tokens"] = MATHIF["intervention_max_new_tokens"]
    names = {
        "temperature": "--temperature",
        "top_p": "--top-p",
        "top_k": "--top-k",
        "max_new_tokens": "--max-new-tokens",
        "seed": "--seed",
    }
    return " ".join(f"{names[k]} {v}" for k, v in s.items())
