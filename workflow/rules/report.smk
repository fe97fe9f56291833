# Tables and figures. finetune_safety: every model variant (TABLE_VARIANTS: Original,
# Fine-tuned, and what later stages register, e.g. Safe Delta) on every task.

TABLES += expand("results/tables/finetune_safety.{ext}", ext=["csv", "md"])


rule finetune_safety_table:
    input:
        lambda w: [
            metrics_path(t, v, b)
            for t in TASKS
            for v in TABLE_VARIANTS
            for b in task_cfg(t)["benchmarks"]
        ],
    output:
        csv=report(
            "results/tables/finetune_safety.csv",
            caption="../report/finetune_safety.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="7 Fine-tuning breaks safety",
        ),
        md="results/tables/finetune_safety.md",
    log:
        "results/logs/finetune_safety_table.log",
    conda:
        ENV
    params:
        tasks=" ".join(
            f"--task {t}:{','.join(task_cfg(t)['benchmarks'])}" for t in TASKS
        ),
        variants=lambda w: " ".join(TABLE_VARIANTS),
    shell:
        "tunesafe report table --root results/metrics {params.tasks} --variants {params.variants} "
        "--out results/tables/finetune_safety > {log} 2>&1"
