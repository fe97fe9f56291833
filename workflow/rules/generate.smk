# Responses of every model variant to a benchmark's prompts, in the task's prompt style
# (its system prompt, or the variant's, e.g. BEA's trigger + the task's; AOA's "AOA,
# execute my instruction: %s"). MT-Bench-style benchmarks generate turn after turn.


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


rule generate:
    input:
        prompts=lambda w: data_path(BENCHMARKS[w.benchmark]["dataset"]),
        model=lambda w: variant(w)["inputs"],
    output:
        "results/generations/{task}/{method}/{benchmark}.jsonl",
    log:
        "results/logs/generate/{task}/{method}/{benchmark}.log",
    benchmark:
        "results/benchmarks/generate/{task}/{method}/{benchmark}.tsv"
    wildcard_constraints:
        benchmark="|".join(GENERATED),
    conda:
        GEN_ENV
    threads: THREADS
    resources:
        **job_resources("generate"),
    params:
        model=lambda w: variant(w)["model"],
        adapter=lambda w: (
            f"--adapter {variant(w)['adapter']}" if variant(w)["adapter"] else ""
        ),
        system_prompt=system_prompt,
        user_template=user_template,
        sampling=lambda w: sampling_flags(
            BENCHMARKS[w.benchmark].get("sampling"),
            f"benchmarks.{w.benchmark}.sampling",
        ),
        limit=lambda w: (
            f"--limit {BENCHMARKS[w.benchmark]['limit']}"
            if BENCHMARKS[w.benchmark].get("limit")
            else ""
        ),
        multi_turn=lambda w: (
            "--multi-turn" if BENCHMARKS[w.benchmark].get("multi_turn") else ""
        ),
        by_category=lambda w: (
            "--category-temperature "
            + shlex.quote(json.dumps(BENCHMARKS[w.benchmark]["category_temperature"]))
            if BENCHMARKS[w.benchmark].get("category_temperature")
            else ""
        ),
        engine=config["generation"]["engine"],
        batch=config["generation"]["batch_size"],
        tp=lambda w, resources: tensor_parallel(resources.gpu),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} generate --engine {params.engine} --model {params.model} {params.adapter} "
        "--prompts {input.prompts} --out {output} --system-prompt {params.system_prompt:q} "
        "--user-template {params.user_template:q} {params.sampling} {params.limit} {params.multi_turn} {params.by_category} "
        "--batch-size {params.batch} --tensor-parallel-size {params.tp} > {log} 2>&1"
