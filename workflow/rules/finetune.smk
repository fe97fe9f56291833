# Fine-tune the aligned model on each task's set. {ft} is the kind of fine-tune: finetuned
# (the task's settings), lora (baselines.lora), safeinstr and bea (the set with safety
# examples mixed in, see baselines.smk). Checkpoints live outside the output directory, so
# a job that is killed resumes from them when started again.


rule finetune:
    input:
        model=lambda w: model_input("aligned"),
        data=finetune_data,
    output:
        directory(model_path("{ft}", "{task}")),
    log:
        "results/logs/{ft}/{task}.log",
    benchmark:
        "results/benchmarks/{ft}/{task}.tsv"
    wildcard_constraints:
        ft="finetuned|lora|safeinstr|bea",
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("finetune"),
    params:
        model=model_ref("aligned"),
        settings=lambda w: train_settings(w.task, w.ft),
        checkpoints="results/checkpoints/{ft}/{task}",
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} train sft --model {params.model} --data {input.data} "
        "--settings {params.settings:q} --checkpoint-dir {params.checkpoints} --out {output} > {log} 2>&1"
