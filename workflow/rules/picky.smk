# Picky LLMs and Unreliable RMs (arXiv 2502.01116). A benign domain under every factor
# combination (structure, identity calibration, role-play) is LoRA-tuned into the aligned
# model once per seed; the shared generate / evaluate stages measure safety before and
# after; reward models score the variants and safety pairs; one job writes the tables.
# Toy world: the aligned model is this arm's own variant whose refusals state an identity
# (the shared toy aligned model, tuned one more pass on the toy alignment set with
# identity-calibrated refusals), so the Safe Delta arm's toy numbers stay as they are.


include: "picky_common.smk"


PK_CATEGORY = "Picky LLMs and Unreliable RMs (arXiv 2502.01116)"


if PK_MODELS and PK_DOMAINS and PK_SEEDS:
    TABLES += expand(
        "results/tables/picky_{t}.{ext}", t=["factors", "rm"], ext=["csv", "md"]
    )
    TABLES += expand("results/figures/picky_rm_safety.{ext}", ext=["pdf", "png"])


rule picky_identity_data:
    input:
        "results/data/toy/alignment.jsonl",
    output:
        "results/picky/data/identity_alignment.jsonl",
    log:
        "results/logs/picky/identity_alignment.log",
    conda:
        ENV
    shell:
        "tunesafe picky transform --data {input} --factors identity --where kind=refusal "
        "--out {output} > {log} 2>&1"


rule picky_toy_aligned:
    input:
        model="results/models/toy/aligned",
        data="results/picky/data/identity_alignment.jsonl",
    output:
        directory(PK_TOY_ALIGNED),
    log:
        "results/logs/picky/toy_aligned.log",
    benchmark:
        "results/benchmarks/picky/toy_aligned.tsv"
    conda:
        ENV
    threads: THREADS
    params:
        settings=lambda w: json.dumps(PK["toy_aligned_training"]),
    shell:
        "tunesafe --threads {threads} train sft --model {input.model} --data {input.data} "
        "--settings {params.settings:q} --out {output} > {log} 2>&1"


rule picky_variants:
    input:
        lambda w: pk_domain_inputs(w.pdomain),
    output:
        expand("results/picky/data/{{pdomain}}/{v}.jsonl", v=PK_VARIANTS),
    log:
        "results/logs/picky/variants/{pdomain}.log",
    conda:
        ENV
    params:
        per_input=lambda w: (
            f"--per-input {PK_DOMAINS[w.pdomain]['per_input']}"
            if PK_DOMAINS[w.pdomain].get("per_input")
            else ""
        ),
        seed=PK.get("data_seed", 0),
        factors=" ".join(PK.get("factors", [])),
        variants=" ".join(PK_VARIANTS),
    shell:
        "tunesafe picky variants --inputs {input} {params.per_input} --seed {params.seed} "
        "--factors {params.factors} --variants {params.variants} "
        "--out-dir results/picky/data/{wildcards.pdomain} > {log} 2>&1"


rule picky_finetune:
    input:
        model=lambda w: pk_model_input(w.pmodel),
        data="results/picky/data/{pdomain}/{pvariant}.jsonl",
    output:
        directory("results/models/picky/{pmodel}/{pdomain}/{pvariant}_seed{pseed}"),
    log:
        "results/logs/picky/train/{pmodel}/{pdomain}/{pvariant}_seed{pseed}.log",
    benchmark:
        "results/benchmarks/picky/train/{pmodel}/{pdomain}/{pvariant}_seed{pseed}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("finetune"),
    params:
        model=lambda w: pk_model_ref(w.pmodel),
        settings=pk_train_settings,
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} train sft --model {params.model} --data {input.data} "
        "--settings {params.settings:q} --out {output} > {log} 2>&1"


rule picky_generate:
    input:
        model=lambda w: pk_model_input(w.pmodel),
        adapter=pk_adapter,
        prompts=lambda w: f"results/data/{PK_EVAL['dataset']}.jsonl",
    output:
        "results/generations/picky/{pmodel}/{prun}/seed{pseed}.jsonl",
    log:
        "results/logs/picky/generate/{pmodel}/{prun}/seed{pseed}.log",
    benchmark:
        "results/benchmarks/picky/generate/{pmodel}/{prun}/seed{pseed}.tsv"
    conda:
        GEN_ENV
    threads: THREADS
    resources:
        **job_resources("generate"),
    params:
        model=lambda w: pk_model_ref(w.pmodel),
        adapter=lambda w: " ".join(f"--adapter {a}" for a in pk_adapter(w)),
        system_prompt=(
            f"--system-prompt {shlex.quote(PK['system_prompt'])}"
            if PK.get("system_prompt")
            else ""
        ),
        sampling=pk_sampling_args,
        limit=f"--limit {PK_EVAL['limit']}" if PK_EVAL.get("limit") else "",
        engine=config["generation"].get("engine", "hf"),
        batch=config["generation"].get("batch_size", 16),
        tp=lambda w, resources: tensor_parallel(resources.gpu),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} generate --engine {params.engine} --model {params.model} "
        "{params.adapter} --prompts {input.prompts} --out {output} {params.system_prompt} "
        "{params.sampling} {params.limit} --batch-size {params.batch} --tensor-parallel-size {params.tp} > {log} 2>&1"


rule picky_asr:
    input:
        "results/generations/picky/{pmodel}/{prun}/seed{pseed}.jsonl",
    output:
        "results/picky/metrics/{pmodel}/{prun}/seed{pseed}/asr.json",
    log:
        "results/logs/picky/asr/{pmodel}/{prun}/seed{pseed}.log",
    conda:
        ENV
    params:
        keywords=(  # none: the packaged list
            f"--keywords {config['evaluation']['keywords']}"
            if config["evaluation"].get("keywords")
            else ""
        ),
    shell:
        "tunesafe evaluate asr --generations {input} {params.keywords} --out {output} > {log} 2>&1"


rule picky_judge:
    input:
        "results/generations/picky/{pmodel}/{prun}/seed{pseed}.jsonl",
    output:
        metrics="results/picky/metrics/{pmodel}/{prun}/seed{pseed}/harmfulness.json",
        replies="results/picky/judge/{pmodel}/{prun}/seed{pseed}.jsonl",
    log:
        "results/logs/picky/judge/{pmodel}/{prun}/seed{pseed}.log",
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("judge"),
    params:
        args=lambda w: pk_judge_args(),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} evaluate harmfulness --generations {input} {params.args} "
        "--replies {output.replies} --out {output.metrics} > {log} 2>&1"


rule picky_pairs:
    input:
        lambda w: (
            [f"results/data/{d}.jsonl" for d in PK["rm_training"].get("benign", [])]
            if w.kind == "rm_train"
            else []
        ),
    output:
        "results/picky/pairs/{kind}.jsonl",
    log:
        "results/logs/picky/pairs/{kind}.log",
    wildcard_constraints:
        kind="safety|rm_train",
    conda:
        ENV
    params:
        args=lambda w: pk_pairs_args(
            PK["safety_pairs"] if w.kind == "safety" else PK["rm_training"]
        ),
        benign=lambda w, input: (
            f"--benign {' '.join(input)} --benign-per-input {PK['rm_training'].get('benign_per_input', 50)}"
            if len(input)
            else ""
        ),
        online=ONLINE,
    shell:
        "{params.online}tunesafe picky pairs {params.args} {params.benign} --out {output} > {log} 2>&1"


rule picky_rm_train:
    input:
        pairs="results/picky/pairs/rm_train.jsonl",
        tokenizer="results/models/toy/tokenizer",
    output:
        directory("results/picky/rm_models/{prm}"),
    log:
        "results/logs/picky/rm_train/{prm}.log",
    conda:
        ENV
    threads: THREADS
    params:
        epochs=PK.get("rm_training", {}).get("epochs", 30),
        lr=PK.get("rm_training", {}).get("lr", 0.5),
        seed=SEED,
    shell:
        "tunesafe --threads {threads} picky rm-train --pairs {input.pairs} --tokenizer {input.tokenizer} "
        "--epochs {params.epochs} --lr {params.lr} --seed {params.seed} --out {output} > {log} 2>&1"


rule picky_rm_score:
    input:
        variants=expand("results/picky/data/{{pdomain}}/{v}.jsonl", v=PK_VARIANTS),
        pairs="results/picky/pairs/safety.jsonl",
        rm=pk_rm_input,
    output:
        "results/picky/rm/{prm}/{pdomain}.json",
    log:
        "results/logs/picky/rm_score/{prm}/{pdomain}.log",
    benchmark:
        "results/benchmarks/picky/rm_score/{prm}/{pdomain}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("judge"),
    params:
        variants=lambda w: " ".join(
            f"--variant {v}=results/picky/data/{w.pdomain}/{v}.jsonl"
            for v in PK_VARIANTS
        ),
        scorer=lambda w: PK_RMS[w.prm]["scorer"],
        options=lambda w: pk_rm_options(w.prm),
    shell:
        "tunesafe --threads {threads} picky rm-score {params.variants} --pairs {input.pairs} "
        "--scorer {params.scorer} {params.options} --out {output} > {log} 2>&1"


rule picky_table:
    input:
        metrics=pk_metric_files(),
        rm=[f"results/picky/rm/{r}/{d}.json" for r in PK_RMS for d in PK_DOMAINS],
    output:
        factors=report(
            "results/tables/picky_factors.csv",
            caption="../report/picky_factors.rst",
            category=PK_CATEGORY,
            subcategory="1 Data factors",
        ),
        factors_md="results/tables/picky_factors.md",
        rm=report(
            "results/tables/picky_rm.csv",
            caption="../report/picky_rm.rst",
            category=PK_CATEGORY,
            subcategory="2 Reward models",
        ),
        rm_md="results/tables/picky_rm.md",
        figure=report(
            "results/figures/picky_rm_safety.png",
            caption="../report/picky_rm.rst",
            category=PK_CATEGORY,
            subcategory="2 Reward models",
        ),
        pdf="results/figures/picky_rm_safety.pdf",
    log:
        "results/logs/picky/table.log",
    conda:
        ENV
    params:
        cells=" ".join(f"--cell {m}:{d}" for m in PK_MODELS for d in PK_DOMAINS),
        rms=" ".join(
            f"--rm {r}:{m}:{d}=results/picky/rm/{r}/{d}.json"
            for r in PK_RMS
            for m in PK_MODELS
            for d in PK_DOMAINS
        ),
        variants=" ".join(PK_VARIANTS),
        seeds=" ".join(str(s) for s in PK_SEEDS),
        metrics=" ".join(PK_METRICS),
    shell:
        "tunesafe report picky --root results/picky/metrics {params.cells} --variants {params.variants} "
        "--seeds {params.seeds} --metrics {params.metrics} {params.rms} --out-factors results/tables/picky_factors "
        "--out-rm results/tables/picky_rm --figure results/figures/picky_rm_safety > {log} 2>&1"
