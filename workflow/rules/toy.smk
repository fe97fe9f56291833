# The embedded toy world: corpus -> tokenizer -> random init -> base -> aligned.
# Only needed when models.aligned or models.base is "toy". The chain to the aligned model is
# the critical path of the toy study (every Safe Delta job waits for it): its rules run first.

TOY_PRIORITY = 10


rule toy_corpus:
    output:
        "results/data/toy/{corpus}.jsonl",
    log:
        "results/logs/toy_corpus/{corpus}.log",
    wildcard_constraints:
        corpus="base_corpus|alignment|lexicon",
    priority: TOY_PRIORITY
    conda:
        ENV
    params:
        n=lambda w: config["toy"]["corpus"][w.corpus],
        seed=SEED,
    shell:
        "tunesafe data prepare --source toy --name {wildcards.corpus} --n {params.n} "
        "--seed {params.seed} --out {output} > {log} 2>&1"


rule toy_tokenizer:
    input:
        "results/data/toy/lexicon.jsonl",
    output:
        directory(model_path("toy", "tokenizer")),
    log:
        "results/logs/toy_tokenizer.log",
    priority: TOY_PRIORITY
    conda:
        ENV
    params:
        vocab=config["toy"]["vocab_size"],
    shell:
        "tunesafe toy tokenizer --corpus {input} --vocab-size {params.vocab} --out {output} > {log} 2>&1"


rule toy_init:
    input:
        model_path("toy", "tokenizer"),
    output:
        directory(model_path("toy", "init")),
    log:
        "results/logs/toy_init.log",
    priority: TOY_PRIORITY
    conda:
        ENV
    params:
        args=lambda w: " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in config["toy"]["model"].items()
        ),
        seed=SEED,
    shell:
        "tunesafe toy init-model --tokenizer {input} {params.args} --seed {params.seed} "
        "--out {output} > {log} 2>&1"


rule toy_base:
    input:
        model=model_path("toy", "init"),
        data="results/data/toy/base_corpus.jsonl",
    output:
        directory(model_path("toy", "base")),
    log:
        "results/logs/toy_base.log",
    benchmark:
        "results/benchmarks/toy_base.tsv"
    priority: TOY_PRIORITY
    conda:
        ENV
    threads: THREADS
    params:
        settings=lambda w: json.dumps(config["toy"]["base_training"]),
    shell:
        "tunesafe --threads {threads} train sft --model {input.model} --data {input.data} "
        "--settings {params.settings:q} --out {output} > {log} 2>&1"


rule toy_aligned:
    input:
        model=model_path("toy", "base"),
        data="results/data/toy/alignment.jsonl",
    output:
        directory(model_path("toy", "aligned")),
    log:
        "results/logs/toy_aligned.log",
    benchmark:
        "results/benchmarks/toy_aligned.tsv"
    priority: TOY_PRIORITY
    conda:
        ENV
    threads: THREADS
    params:
        settings=lambda w: json.dumps(config["toy"]["aligned_training"]),
    shell:
        "tunesafe --threads {threads} train sft --model {input.model} --data {input.data} "
        "--settings {params.settings:q} --out {output} > {log} 2>&1"
