# Score the variants on each benchmark: a metric over the generations (keyword ASR,
# ROUGE-1, accuracy), an LLM judge over them (harmfulness, MT-Bench; raw replies kept in
# results/judge/), or lm-evaluation-harness on the model itself (MMLU).


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
