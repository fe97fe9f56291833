# Constants and input functions of workflow/rules/picky.smk (Picky LLMs and Unreliable RMs,
# arXiv 2502.01116): config entries and wildcards to paths and command-line arguments.
from types import SimpleNamespace

from tunesafe.picky.transforms import factorial, variant_name

PK = config.get("picky", {})
PK_MODELS = PK.get("models", {})
PK_DOMAINS = PK.get("domains", {})
PK_RMS = PK.get("reward_models", {})
PK_SEEDS = PK.get("seeds", [])
PK_EVAL = PK.get("eval", {})
PK_METRICS = PK_EVAL.get("metrics", ["asr", "harmfulness"])
# every factor combination (Sec. 4), or only plain, each factor alone and all together
PK_VARIANTS = (
    factorial(PK.get("factors", []))
    if PK.get("interactions", True)
    else list(
        dict.fromkeys(
            ["plain", *PK.get("factors", []), variant_name(PK.get("factors", []))]
        )
    )
)
PK_TOY_ALIGNED = "results/models/picky/toy_identity/aligned"


wildcard_constraints:
    pmodel="[A-Za-z0-9_.-]+",
    pdomain="[A-Za-z0-9_]+",
    pvariant="[a-z+]+",
    pseed="[0-9]+",
    prun="before|[A-Za-z0-9_]+/[a-z+]+",
    prm="[A-Za-z0-9_.-]+",


def pk_model_ref(name):
    """A picky.models entry as the CLI takes it: toy -> this arm's identity-refusal toy model."""
    ref = PK_MODELS[name]
    return PK_TOY_ALIGNED if ref == "toy" else ref


def pk_model_input(name):
    path = pk_model_ref(name)
    return [path] if PK_MODELS[name] == "toy" or os.path.isdir(path) else []


def pk_domain_inputs(domain):
    return [f"results/data/{d}.jsonl" for d in PK_DOMAINS[domain]["data"]]


def pk_train_settings(w):
    """picky.train (LoRA, Sec. 3) with the run's seed (data order, adapter init)."""
    return json.dumps(
        {**PK["train"], "seed": int(w.pseed), "system_prompt": PK.get("system_prompt")}
    )


def pk_adapter(w):
    if w.prun == "before":
        return []
    return [f"results/models/picky/{w.pmodel}/{w.prun}_seed{w.pseed}"]


def pk_sampling_args(w):
    """picky.eval.sampling with the run's seed."""
    names = {"temperature": "--temperature", "top_p": "--top-p", "top_k": "--top-k"}
    names.update(max_new_tokens="--max-new-tokens")
    s = PK_EVAL.get("sampling", {})
    args = [f"{names[k]} {v}" for k, v in s.items() if k in names]
    return " ".join(args + [f"--seed {w.pseed}"])


def pk_judge_args():
    """The shared judge (config `judge`), as the harmfulness benchmark calls it."""
    harm = next(
        (b for b, c in BENCHMARKS.items() if c["metric"] == "harmfulness"), None
    )
    if harm is None:
        raise ValueError(
            "picky.eval.metrics has harmfulness but config benchmarks has no harmfulness entry"
        )
    return judge_args(SimpleNamespace(benchmark=harm))


def pk_runs():
    """Every generation run of the arm: before (the aligned model) and after each fine-tune."""
    runs = [(m, "before", s) for m in PK_MODELS for s in PK_SEEDS]
    runs += [
        (m, f"{d}/{v}", s)
        for m in PK_MODELS
        for d in PK_DOMAINS
        for v in PK_VARIANTS
        for s in PK_SEEDS
    ]
    return runs


def pk_metric_files():
    return [
        f"results/picky/metrics/{m}/{r}/seed{s}/{metric}.json"
        for m, r, s in pk_runs()
        for metric in PK_METRICS
    ]


def pk_rm_options(rm):
    spec = PK_RMS[rm]
    options = dict(spec.get("options", {}))
    if spec["scorer"] == "toy_rm":
        options["path"] = f"results/picky/rm_models/{rm}"
    return " ".join(
        f"--scorer-option {shlex.quote(f'{k}={v}')}" for k, v in options.items()
    )


def pk_rm_input(w):
    return (
        [f"results/picky/rm_models/{w.prm}"]
        if PK_RMS[w.prm]["scorer"] == "toy_rm"
        else []
    )


def pk_pairs_args(spec):
    """`tunesafe picky pairs` arguments of picky.safety_pairs or picky.rm_training."""
    args = [f"--source {spec['source']} --n {spec['n']} --seed {spec.get('seed', 0)}"]
    for key in ["split", "path", "id"]:
        if spec.get(key):
            args.append(f"--{key} {shlex.quote(str(spec[key]))}")
    if spec.get("subsets"):
        args.append("--subset " + " ".join(shlex.quote(s) for s in spec["subsets"]))
    return " ".join(args)
