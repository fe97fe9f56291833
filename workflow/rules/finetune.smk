# Fine-tune the aligned model on each task's set (full or LoRA). Checkpoints live outside
# the output directory, so a job that is killed resumes from them when started again.


rule finetune:
    input:
        model=lambda w: model_input("aligned"),
        data="results/data/train/{task}.jsonl",
    output:
        directory("results/models/finetuned/{task}"),
    log:
        "results/logs/finetune/{task}.log",
    benchmark:
        "results/benchmarks/finetune/{task}.tsv"
    conda:
        ENV
    threads: THREADS
    params:
        model=model_ref("aligned"),
        settings=lambda w: train_settings(w.task),
        checkpoints="results/checkpoints/finetuned/{task}",
    shell:
        "tunesafe --threads {threads} train sft --model {params.model} --data {input.data} "
        "--settings {params.settings:q} --checkpoint-dir {params.checkpoints} --out {output} > {log} 2>&1"
