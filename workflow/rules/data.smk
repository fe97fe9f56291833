# Datasets as chat records: one rule for every entry of config `datasets`, and the mix
# that makes a task's fine-tuning set (e.g. Dirty Summary = SAMSum + PureBad).


rule prepare_dataset:
    input:
        local_dataset_input,
    output:
        data_path("{dataset}"),
    log:
        "results/logs/prepare_dataset/{dataset}.log",
    conda:
        ENV
    params:
        args=lambda w: dataset_flags(w.dataset, config["datasets"]),
        online=ONLINE,
    shell:
        "{params.online}tunesafe data prepare {params.args} --out {output} > {log} 2>&1"


rule finetune_set:
    input:
        lambda w: [data_path(d) for d in task_cfg(w.task)["data"]],
    output:
        "results/data/train/{task}.jsonl",
    log:
        "results/logs/finetune_set/{task}.log",
    conda:
        ENV
    params:
        seed=SEED,
        limit=lambda w: (
            f"--limit {task_cfg(w.task)['size']}"
            if task_cfg(w.task).get("size")
            else ""
        ),
    shell:
        "tunesafe data mix --inputs {input} --seed {params.seed} {params.limit} --out {output} > {log} 2>&1"
