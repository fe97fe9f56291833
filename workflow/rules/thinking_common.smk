# Constants and input functions of workflow/rules/thinking.smk (When Thinking Fails,
# arXiv 2505.11423): config thinking.* to runs, paths and command-line arguments.

THINK = config.get("thinking", {})
THINK_MODELS = THINK.get("models", {})
THINK_SEEDS = THINK.get("seeds", [SEED])
# Qwen3's thinking switch per model (chat-template variable enable_thinking, Table 2)
_unknown = sorted(set(THINK.get("enable_thinking", {})) - set(THINK_MODELS))
if _unknown:
    raise ValueError(
        f"config thinking.enable_thinking: {', '.join(_unknown)} not in thinking.models"
    )
THINK_CONDITIONS = ["direct", "cot"]
# Sec. 6 mitigations that are generation conditions of their own (classifier-selective
# reasoning needs none: it picks between the direct and CoT answers)
THINK_MITIGATION_CONDITIONS = {
    "self_selective": "selfselect",
    "self_reflection": "reflect",
    "few_shot": "fewshot",
}
# few-shot examples: thinking.fewshot.source toy (generated) or file (path: chat records)
THINK_FEWSHOT = THINK.get("fewshot", {"source": "toy", "n": 2, "seed": 0})
THINK_MITIGATIONS = [
    THINK_MITIGATION_CONDITIONS[m] for m in THINK.get("mitigations", [])
]
THINK_ALL_CONDITIONS = THINK_CONDITIONS + THINK_MITIGATIONS
# ComplexBench (thinking.complexbench: a local data_final.json, DRFR with an LLM judge)
THINK_CB = THINK.get("complexbench")
THINK_BENCHMARKS = ["ifeval"] + (["complexbench"] if THINK_CB else [])
# real IFEval uses the two checkers that need NLTK's punkt_tab; the toy IFEval does not
THINK_NEEDS_NLTK = THINK.get("data", {}).get("source", "toy") != "toy"
# constraint attention (Sec. 5) needs constraint_spans: the toy IFEval records them; for real
# IFEval `thinking prepare` locates them from each item's instructions (tunesafe.thinking.spans)
THINK_ATTENTION = THINK.get("attention", {})
THINK_ATTENTION_MODELS = THINK_ATTENTION.get("models", [])


def think_runs():
    """Run names: a toy_instruct model is one run per seed (<name>-seed<k>), others one run."""
    runs = []
    for name, ref in THINK_MODELS.items():
        if ref == "toy_instruct":
            runs += [f"{name}-seed{s}" for s in THINK_SEEDS]
        else:
            runs.append(name)
    return runs


def think_split(run):
    """(model name, seed or None) of a run name."""
    name, _, seed = run.rpartition("-seed")
    if name in THINK_MODELS and THINK_MODELS[name] == "toy_instruct":
        return name, int(seed)
    return run, None


def think_model_ref(run):
    name, seed = think_split(run)
    if seed is not None:
        return f"results/models/toy/thinking/seed{seed}"
    return THINK_MODELS[name]


def think_template_args(w):
    """--chat-template-kwargs of a run whose model has a thinking.enable_thinking entry."""
    flag = THINK.get("enable_thinking", {}).get(think_split(w.trun)[0])
    if flag is None:
        return ""
    kwargs = json.dumps({"enable_thinking": flag})
    return f"--chat-template-kwargs {shlex.quote(kwargs)}"


def think_model_input(w):
    ref = think_model_ref(w.trun)
    return [ref] if ref.startswith("results/") or os.path.isdir(ref) else []


def think_data_args():
    """`tunesafe thinking prepare` arguments of config thinking.data."""
    return " ".join(
        f"--{k.replace('_', '-')} {shlex.quote(str(v))}"
        for k, v in THINK.get("data", {}).items()
        if v is not None
    )


def think_sampling_args():
    """Greedy by default (Sec. 3: temperature 0); thinking.sampling overrides."""
    s = {"temperature": 0, **THINK.get("sampling", {})}
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in s.items())


def think_cue_arg(w):
    """--cue of a condition: thinking.cot_cue (cot) or thinking.self_select_cue (selfselect)."""
    cue = {
        "cot": THINK.get("cot_cue"),
        "fewshot": THINK.get("cot_cue"),
        "selfselect": THINK.get("self_select_cue"),
    }.get(w.tcond)
    return f"--cue {shlex.quote(cue)}" if cue else ""


def think_prompts_input(w):
    """Self-reflection prompts are per run (they hold its CoT answers); others shared."""
    if w.tcond == "reflect":
        return f"results/thinking/prompts/{w.trun}/{w.tbench}/reflect.jsonl"
    return f"results/thinking/prompts/{w.tbench}/{w.tcond}.jsonl"


def think_examples(w):
    """Few-shot examples of the fewshot condition (a generated toy file or the user's)."""
    if w.tcond != "fewshot":
        return []
    if THINK_FEWSHOT["source"] == "file":
        return [THINK_FEWSHOT["path"]]
    return ["results/data/thinking/fewshot.jsonl"]


def think_reflect_text():
    text = THINK.get("reflection_text")
    return f"--text {shlex.quote(text)}" if text else ""


def think_extra_rows(w):
    return {
        c: f"results/metrics/thinking/{w.trun}/ifeval/{c}_rows.jsonl"
        for c in THINK_MITIGATIONS
    }


def think_nltk_input(w):
    return ["results/nltk_data"] if THINK_NEEDS_NLTK else []


def think_report_args():
    runs = " ".join(f"--run {shlex.quote(r)}" for r in think_runs())
    ids = " ".join(
        f"--model-id {shlex.quote(f'{n}={r}')}" for n, r in THINK_MODELS.items()
    )
    return f"{runs} {ids}"


def think_attention_runs():
    """Runs of the models in thinking.attention.models (every seed of a toy_instruct model)."""
    return [r for r in think_runs() if think_split(r)[0] in THINK_ATTENTION_MODELS]


def think_attention_limit():
    n = THINK_ATTENTION.get("limit")
    return f"--limit {n}" if n else ""


def think_cb_prepare_args():
    """`tunesafe thinking complexbench-prepare` arguments of thinking.complexbench."""
    args = f"--path {shlex.quote(THINK_CB['path'])} --language {THINK_CB.get('language', 'en')}"
    return args + (f" --n {THINK_CB['n']}" if THINK_CB.get("n") else "")


def think_cb_judge_args():
    """Judge flags of ComplexBench scoring: the `judge` section's backend, endpoint and engine;
    the model thinking.complexbench.judge_model (default judge.model)."""
    judge = config["judge"]
    flags = {
        "judge": judge["backend"],
        "judge-model": THINK_CB.get("judge_model") or judge.get("model"),
        "base-url": judge.get("base_url"),
        "api-key-env": judge.get("api_key_env"),
        "engine": judge.get("engine"),
        "max-new-tokens": judge.get("max_new_tokens"),
        "judge-prompt": THINK_CB["judge_prompt"],
        "extract-prompt": THINK_CB["extract_prompt"],
        "language": THINK_CB.get("language", "en"),
    }
    return " ".join(
        f"--{k} {shlex.quote(str(v))}" for k, v in flags.items() if v is not None
    )
