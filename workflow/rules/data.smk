# Datasets as chat records: one rule for every entry of config `datasets`, and the mix
# that makes a task's fine-tuning set (e.g. Dirty Summary = SAMSum + PureBad).


def dataset_args(name):
    """`tunesafe data prepare` arguments for config datasets.<name>."""
    if name not in config["datasets"]:
        raise ValueError(
            f"dataset {name!r} is not in config datasets ({', '.join(config['datasets'])})"
        )
    args = []
    for key, value in config["datasets"][name].items():
        if value is None or value is False:
            continue
        flag = f"--{key.replace('_', '-')}"
        args.append(flag if value is True else f"{flag} {shlex.quote(str(value))}")
    return " ".join(args)


def local_dataset_input(wildcards):
    """A `file` dataset's path as input when it exists, so editing it reruns the rule;
    when it is missing, the prepare command fails naming it (and dry-runs still plan).
    """
    spec = config["datasets"].get(wildcards.dataset, {})
    path = spec.get("path") if spec.get("source") == "file" else None
    return [path] if path and os.path.exists(path) else []


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
        args=lambda w: dataset_args(w.dataset),
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
