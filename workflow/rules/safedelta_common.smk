# Input functions of the Safe Delta rules (safedelta.smk; the baselines reuse them):
# config `safedelta` to paths and arguments.
from tunesafe.config import safedelta_scale

SD = config["safedelta"]


def sd_scale(task):
    """safedelta.scale of a task (one number, or per task); the size sweep's <task>_n<size>
    fine-tunes take their task's."""
    sweep = (config.get("baselines") or {}).get("size_sweep", {})
    source = sweep.get("task") if task.startswith(f"{sweep.get('task')}_n") else None
    return safedelta_scale(SD["scale"], task, source)


def safedelta_variant(kind, task, scale):
    return full_variant(model_path(kind, task, f"s{scale}"))


def safety_set_input(wildcards):
    """The aligned model's answers to the harmful prompts, or a ready safety set."""
    if SD["generate_answers"]:
        return "results/safedelta/safety_set_answers.jsonl"
    return data_path(SD["safety_set"])


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


def safedelta_finetune(wildcards):
    """The fine-tune Safe Delta post-processes: the full one, or the LoRA one (Exp. 5)."""
    ft = "lora" if wildcards.kind == "lora_safedelta" else "finetuned"
    return model_path(ft, wildcards.task)
