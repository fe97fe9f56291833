# Responses of every model variant to a benchmark's prompts, in the task's prompt style
# (its system prompt, or the variant's, e.g. BEA's trigger + the task's; AOA's "AOA,
# execute my instruction: %s"). MT-Bench-style benchmarks generate turn after turn.


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
        system_prompt=lambda w: system_prompt_flag(system_prompt(w)),
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
        "--prompts {input.prompts} --out {output} {params.system_prompt} "
        "--user-template {params.user_template:q} {params.sampling} {params.limit} {params.multi_turn} {params.by_category} "
        "--batch-size {params.batch} --tensor-parallel-size {params.tp} > {log} 2>&1"
