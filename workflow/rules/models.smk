# Models the workflow builds from a config entry (models.<which> as a mapping):
# gguf: a GGUF file (local path, or a file inside a pip package) converted once into a plain
# safetensors checkpoint; sft: another models entry fine-tuned on config datasets (the
# aligned model of a chat model that is not safety-tuned). Toy models: toy.smk.


# the conversion may download (pip): it runs on the submitting host, never on a compute node
localrules:
    gguf_model,


rule gguf_model:
    input:
        lambda w: [p] if (p := built_spec(w.which, "gguf").get("path")) else [],
    output:
        directory(model_path("gguf", "{which}")),
    log:
        "results/logs/gguf_model/{which}.log",
    wildcard_constraints:
        which="aligned|base",
    conda:
        ENV
    params:
        args=lambda w: gguf_args(w.which),
    shell:
        "tunesafe --threads {threads} gguf convert {params.args} --out {output} > {log} 2>&1"


rule sft_model:
    input:
        model=lambda w: model_input(built_spec(w.which, "sft")["model"]),
        data=lambda w: [data_path(d) for d in built_spec(w.which, "sft")["data"]],
    output:
        directory(model_path("sft", "{which}")),
    log:
        "results/logs/sft_model/{which}.log",
    benchmark:
        "results/benchmarks/sft_model/{which}.tsv"
    wildcard_constraints:
        which="aligned|base",
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("finetune"),
    params:
        model=lambda w: model_ref(built_spec(w.which, "sft")["model"]),
        settings=lambda w: json.dumps(built_spec(w.which, "sft").get("train", {})),
        checkpoints="results/checkpoints/sft/{which}",
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} train sft --model {params.model} --data {input.data} "
        "--settings {params.settings:q} --checkpoint-dir {params.checkpoints} --out {output} > {log} 2>&1"
