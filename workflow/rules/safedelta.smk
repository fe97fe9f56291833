# Safe Delta (arXiv 2505.12038): safety set -> safety Hessians of the aligned model (cached
# once, reused by every fine-tune) -> Safe Delta model per fine-tune and scale s.


include: "safedelta_common.smk"


SD_MODELS = model_path("{kind}", "{task}", "s{scale}")


wildcard_constraints:
    kind="safedelta|safedelta_noscv|lora_safedelta",
    scale="[0-9.e+-]+",


register_variant(
    "safedelta", lambda task: safedelta_variant("safedelta", task, sd_scale(task))
)
register_variant(
    "safedelta_noscv",
    lambda task: safedelta_variant("safedelta_noscv", task, sd_scale(task)),
)
for _s in SD["sweep_scales"]:
    register_variant(
        f"safedelta-s{_s}", lambda task, s=_s: safedelta_variant("safedelta", task, s)
    )
TABLE_VARIANTS.append("safedelta")


rule safety_set_answers:
    input:
        prompts=data_path(SD["safety_set"]),
        model=model_input("aligned"),
    output:
        "results/safedelta/safety_set_answers.jsonl",
    log:
        "results/logs/safedelta/safety_set_answers.log",
    benchmark:
        "results/benchmarks/safedelta/safety_set_answers.tsv"
    conda:
        GEN_ENV
    threads: THREADS
    resources:
        **job_resources("safety_set_answers"),
    params:
        model=lambda w: model_ref("aligned"),
        max_new_tokens=SD["answer_max_new_tokens"],
        batch=config["generation"]["batch_size"],
        engine=config["generation"]["engine"],
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} generate --engine {params.engine} --model {params.model} "
        "--prompts {input.prompts} --out {output} --temperature 0 --max-new-tokens {params.max_new_tokens} "
        "--batch-size {params.batch} > {log} 2>&1"


rule safety_set:
    input:
        safety_set_input,
    output:
        "results/safedelta/safety_set.jsonl",
    log:
        "results/logs/safedelta/safety_set.log",
    conda:
        ENV
    shell:
        "tunesafe safedelta safety-set --generations {input} --out {output} > {log} 2>&1"


rule safedelta_hessian:
    input:
        model=model_input("aligned"),
        data="results/safedelta/safety_set.jsonl",
    output:
        directory("results/safedelta/hessian_n{nsamples}"),
    log:
        "results/logs/safedelta/hessian_n{nsamples}.log",
    benchmark:
        "results/benchmarks/safedelta/hessian_n{nsamples}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("safedelta_hessian"),
    params:
        model=lambda w: model_ref("aligned"),
        max_length=SD["max_length"] or 0,
        templates=json.dumps(safety_templates()),
        eos="" if SD["eos"] else "--no-eos",
        seed=SEED,
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} safedelta hessian --model {params.model} --data {input.data} "
        "--nsamples {wildcards.nsamples} --max-length {params.max_length} --templates {params.templates:q} {params.eos} "
        "--seed {params.seed} --out {output} > {log} 2>&1"


rule safedelta:
    input:
        model=model_input("aligned"),
        finetuned=safedelta_finetune,
        hessian=f"results/safedelta/hessian_n{SD['nsamples']}",
    output:
        directory(SD_MODELS),
    log:
        "results/logs/{kind}/{task}/s{scale}.log",
    benchmark:
        "results/benchmarks/{kind}/{task}/s{scale}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("safedelta"),
    params:
        model=lambda w: model_ref("aligned"),
        ablation=lambda w: "--no-compensation" if w.kind == "safedelta_noscv" else "",
        rest=lambda w: "" if SD["keep_aligned_rest"] else "--finetuned-rest",
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} safedelta apply --original {params.model} "
        "--finetuned {input.finetuned} --hessian {input.hessian} --scale {wildcards.scale} "
        "{params.ablation} {params.rest} --out {output} > {log} 2>&1"


TABLES += expand("results/tables/safedelta_ablation.{ext}", ext=["csv", "md"])
if SD["sweep_scales"] and SD["sweep_tasks"]:
    TABLES += expand("results/figures/safedelta_scale_sweep.{ext}", ext=["pdf", "png"])


rule safedelta_ablation_table:
    input:
        lambda w: [
            metrics_path(t, v, b)
            for t in SD["ablation_tasks"]
            for v in ["finetuned", "safedelta", "safedelta_noscv"]
            for b in task_cfg(t)["benchmarks"]
        ],
    output:
        csv=report(
            "results/tables/safedelta_ablation.csv",
            caption="../report/safedelta_ablation.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="8 Ablation: w/o compensation",
        ),
        md="results/tables/safedelta_ablation.md",
    log:
        "results/logs/safedelta_ablation_table.log",
    conda:
        ENV
    params:
        tasks=" ".join(
            f"--task {t}:{','.join(task_cfg(t)['benchmarks'])}"
            for t in SD["ablation_tasks"]
        ),
    shell:
        "tunesafe report table --root results/metrics {params.tasks} "
        "--variants finetuned safedelta safedelta_noscv --out results/tables/safedelta_ablation > {log} 2>&1"


rule safedelta_scale_sweep_figure:
    input:
        lambda w: [
            metrics_path(t, v, b)
            for t in SD["sweep_tasks"]
            for v in ["original", "finetuned"]
            + [f"safedelta-s{s}" for s in SD["sweep_scales"]]
            for b in task_cfg(t)["benchmarks"]
        ],
    output:
        pdf="results/figures/safedelta_scale_sweep.pdf",
        png=report(
            "results/figures/safedelta_scale_sweep.png",
            caption="../report/safedelta_scale_sweep.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="9 Safety budget s",
        ),
    log:
        "results/logs/safedelta_scale_sweep_figure.log",
    conda:
        ENV
    params:
        tasks=" ".join(
            f"--task {t}:{','.join(task_cfg(t)['benchmarks'])}"
            for t in SD["sweep_tasks"]
        ),
        scales=" ".join(str(s) for s in SD["sweep_scales"]),
    shell:
        "tunesafe report sweep --root results/metrics {params.tasks} --scales {params.scales} "
        "--out results/figures/safedelta_scale_sweep > {log} 2>&1"
