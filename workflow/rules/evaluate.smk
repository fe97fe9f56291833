# Score the variants on each benchmark: a metric over the generations (keyword ASR,
# ROUGE-1, accuracy), an LLM judge over them (harmfulness, MT-Bench; raw replies kept in
# results/judge/), or lm-evaluation-harness on the model itself (MMLU).

JUDGE = config.get("judge", {})


def metric_options(benchmark):
    """Options of a generations metric: the keyword list of ASR, ROUGE's implementation."""
    bench = BENCHMARKS[benchmark]
    if bench["metric"] == "asr":
        return f"--keywords {config['evaluation']['keywords']}"
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


rule evaluate:
    input:
        generations_of,
    output:
        metrics_path("{task}", "{method}", "{benchmark}"),
    log:
        "results/logs/evaluate/{task}/{method}/{benchmark}.log",
    benchmark:
        "results/benchmarks/evaluate/{task}/{method}/{benchmark}.tsv"
    wildcard_constraints:
        benchmark="|".join(SCORED),
    conda:
        ENV
    params:
        metric=lambda w: BENCHMARKS[w.benchmark]["metric"],
        options=lambda w: metric_options(w.benchmark),
    shell:
        "tunesafe evaluate {params.metric} --generations {input} --out {output} {params.options} > {log} 2>&1"


rule judge:
    input:
        generations=generations_of,
        template=judge_template_input,
    output:
        metrics=metrics_path("{task}", "{method}", "{benchmark}"),
        replies="results/judge/{task}/{method}/{benchmark}.jsonl",
    log:
        "results/logs/judge/{task}/{method}/{benchmark}.log",
    benchmark:
        "results/benchmarks/judge/{task}/{method}/{benchmark}.tsv"
    wildcard_constraints:
        benchmark="|".join(JUDGED) or "^$",
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("judge"),
    params:
        metric=lambda w: BENCHMARKS[w.benchmark]["metric"],
        args=judge_args,
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} evaluate {params.metric} --generations {input.generations} {params.args} "
        "--replies {output.replies} --out {output.metrics} > {log} 2>&1"


rule lm_eval_task:
    input:
        lambda w: data_path(BENCHMARKS[w.benchmark]["dataset"]),
    output:
        directory("results/lm_eval/{benchmark}"),
    log:
        "results/logs/lm_eval_task/{benchmark}.log",
    conda:
        ENV
    params:
        name=lambda w: lm_eval_cfg(w.benchmark)["task"],
    shell:
        "tunesafe evaluate mmlu-task --data {input} --name {params.name} --out {output} > {log} 2>&1"


rule evaluate_lm_eval:
    input:
        model=lambda w: variant(w)["inputs"],
        tasks=lm_eval_task_dir,
    output:
        metrics_path("{task}", "{method}", "{benchmark}"),
    log:
        "results/logs/lm_eval/{task}/{method}/{benchmark}.log",
    benchmark:
        "results/benchmarks/lm_eval/{task}/{method}/{benchmark}.tsv"
    wildcard_constraints:
        benchmark="|".join(LM_EVAL) or "^$",
    conda:
        GEN_ENV
    threads: THREADS
    resources:
        **job_resources("evaluate_lm_eval"),
    params:
        model=lambda w: variant(w)["model"],
        adapter=lambda w: (
            f"--adapter {variant(w)['adapter']}" if variant(w)["adapter"] else ""
        ),
        include=lambda w: (
            f"--include-path {lm_eval_task_dir(w)}" if lm_eval_task_dir(w) else ""
        ),
        lm_task=lambda w: lm_eval_cfg(w.benchmark)["task"],
        fewshot=lambda w: lm_eval_cfg(w.benchmark)["num_fewshot"],
        batch=lambda w: lm_eval_cfg(w.benchmark)["batch_size"],
        limit=lambda w: (
            f"--limit {lm_eval_cfg(w.benchmark)['limit']}"
            if lm_eval_cfg(w.benchmark).get("limit")
            else ""
        ),
        backend=config["generation"]["engine"],
        tp=lambda w, resources: tensor_parallel(resources.gpu),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} evaluate mmlu --model {params.model} {params.adapter} --task {params.lm_task} "
        "{params.include} --backend {params.backend} --num-fewshot {params.fewshot} --batch-size {params.batch} "
        "{params.limit} --tensor-parallel-size {params.tp} --out {output} > {log} 2>&1"
