# Datasets as chat records: one rule for every entry of config `datasets`, and the mix
# that makes a task's fine-tuning set (e.g. Dirty Summary = SAMSum + PureBad).


rule prepare_dataset:
    input:
        local_dataset_input,
    output:
        "results/data/{dataset}.jsonl",
    params:
        args=lambda w: dataset_args(w.dataset),
    conda:
        ENV
    log:
        "results/logs/prepare_dataset/{dataset}.log",
    shell:
        "tunesafe data prepare {params.args} --out {output} > {log} 2>&1"


rule finetune_set:
    input:
        lambda w: expand("results/data/{dataset}.jsonl", dataset=task_cfg(w.task)["data"]),
    output:
        "results/data/train/{task}.jsonl",
    params:
        seed=SEED,
    conda:
        ENV
    log:
        "results/logs/finetune_set/{task}.log",
    shell:
        "tunesafe data mix --inputs {input} --seed {params.seed} --out {output} > {log} 2>&1"
