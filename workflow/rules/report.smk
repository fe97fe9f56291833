# Tables and figures. finetune_safety: Original vs Fine-tuned on every task (ASR, utility).

TABLES += expand("results/tables/finetune_safety.{ext}", ext=["csv", "md"])


rule finetune_safety_table:
    input:
        [
            f"results/metrics/{t}/{v}/{b}.json"
            for t in TASKS
            for v in ["original", "finetuned"]
            for b in task_cfg(t)["benchmarks"]
        ],
    output:
        csv="results/tables/finetune_safety.csv",
        md="results/tables/finetune_safety.md",
    log:
        "results/logs/finetune_safety_table.log",
    conda:
        ENV
    params:
        tasks=" ".join(
            f"--task {t}:{','.join(task_cfg(t)['benchmarks'])}" for t in TASKS
        ),
    shell:
        "tunesafe report table --root results/metrics {params.tasks} --variants original finetuned "
        "--out results/tables/finetune_safety > {log} 2>&1"
