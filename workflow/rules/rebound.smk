# Resistance and rebound ("Language Models Resist Alignment", arXiv 2406.06144).
# Rebound grid: every (model, task, n_pos, seed) positive SFT is trained once and starts all
# of its n_neg runs; every grid cell is a path, so a changed n_neg grid runs only new cells.
# Resistance: three slices of one alignment epoch, their responses D_k, forward (theta_i on
# D_j) and inverse (theta_j on D_i) runs, final losses in one table.


include: "rebound_common.smk"


RB_CATEGORY = "Resist Alignment (arXiv 2406.06144)"


if RB_TASKS and RB_MODELS:
    TABLES += expand("results/tables/rebound.{ext}", ext=["csv", "md"])
    TABLES += expand(
        "results/figures/rebound_{task}.{ext}", task=list(RB_TASKS), ext=["pdf", "png"]
    )
    TABLES += expand(
        "results/figures/rebound_{factor}_{task}.{ext}",
        factor=list(RB_FACTORS),
        task=list(RB_TASKS),
        ext=["pdf", "png"],
    )
if RS_SETS and RS_MODELS:
    TABLES += expand("results/tables/resistance.{ext}", ext=["csv", "md"])


# --- the rebound arm's toy bases (sizes x pre-training amounts) -------------------------


rule rebound_toy_corpus:
    output:
        "results/rebound/data/toy_world/pretrain.jsonl",
    log:
        "results/logs/rebound/data/toy_world/pretrain.log",
    conda:
        ENV
    params:
        args=lambda w: rb_toy_corpus_args(),
    shell:
        "tunesafe rebound data --task reviews --kind pretrain --source toy {params.args} "
        "--out {output} > {log} 2>&1"


rule rebound_toy_init:
    input:
        "results/models/toy/tokenizer",
    output:
        temp(directory("results/models/rebound/toy_world/{size}/init")),
    log:
        "results/logs/rebound/toy_world/{size}/init.log",
    conda:
        ENV
    params:
        args=lambda w: " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in RB_SIZES[w.size].items()
        ),
        seed=SEED,
    shell:
        "tunesafe toy init-model --tokenizer {input} {params.args} --seed {params.seed} "
        "--out {output} > {log} 2>&1"


rule rebound_toy_base:
    # one pre-training run per size; its snapshots after each amount's share of the steps are
    # the bases of that pre-training amount (as TinyLlama's intermediate checkpoints)
    input:
        model="results/models/rebound/toy_world/{size}/init",
        data="results/rebound/data/toy_world/pretrain.jsonl",
    output:
        [
            directory(f"results/models/rebound/toy_world/{{size}}/{a}")
            for a in RB_AMOUNTS
        ],
    log:
        "results/logs/rebound/toy_world/{size}/base.log",
    benchmark:
        "results/benchmarks/rebound/toy_world/{size}.tsv"
    conda:
        ENV
    threads: THREADS
    params:
        settings=lambda w: json.dumps(RB_TOY["training"]),
        save_at=lambda w: " ".join(
            f"--save-at {f}:results/models/rebound/toy_world/{w.size}/{a}"
            for a, f in RB_AMOUNTS.items()
            if f < 1
        ),
        last=lambda w: [a for a, f in RB_AMOUNTS.items() if f == 1][0],
    shell:
        "tunesafe --threads {threads} train sft --model {input.model} --data {input.data} "
        "--settings {params.settings:q} {params.save_at} "
        "--out results/models/rebound/toy_world/{wildcards.size}/{params.last} > {log} 2>&1"


# --- rebound -------------------------------------------------------------------------


rule rebound_data:
    output:
        "results/rebound/data/{rtask}/{polarity}_n{n}.jsonl",
    log:
        "results/logs/rebound/data/{rtask}/{polarity}_n{n}.log",
    wildcard_constraints:
        n="[0-9]+",
    conda:
        ENV
    params:
        args=lambda w: rb_data_args(w.rtask, w.polarity, w.n),
    shell:
        "tunesafe rebound data {params.args} --out {output} > {log} 2>&1"


rule rebound_prompts:
    output:
        "results/rebound/data/{rtask}/{kind}.jsonl",
    log:
        "results/logs/rebound/data/{rtask}/{kind}.log",
    wildcard_constraints:
        kind="prompts|labelled",
    conda:
        ENV
    params:
        args=lambda w: rb_data_args(
            w.rtask,
            w.kind,
            RB_TASKS[w.rtask].get(
                "eval_prompts" if w.kind == "prompts" else "classifier_examples", 100
            ),
        ),
    shell:
        "tunesafe rebound data {params.args} --out {output} > {log} 2>&1"


rule rebound_classifier:
    input:
        data="results/rebound/data/{rtask}/labelled.jsonl",
        tokenizer=rb_classifier_tokenizer,
    output:
        directory("results/rebound/classifier/{rtask}"),
    log:
        "results/logs/rebound/classifier/{rtask}.log",
    conda:
        ENV
    threads: THREADS
    params:
        seed=SEED,
    shell:
        "tunesafe --threads {threads} rebound classifier --data {input.data} --tokenizer {input.tokenizer} "
        "--seed {params.seed} --out {output} > {log} 2>&1"


if RB_GROUPED:

    rule rebound_grid:
        input:
            unpack(rb_grid_data),
            model=lambda w: rb_model_input(RB_MODELS[w.rmodel]),
            prompts="results/rebound/data/{rtask}/prompts.jsonl",
            scorer=rb_scorer_input,
            template=RB.get("chat_template") or [],
        output:
            cells=rb_grid_outputs("cells"),
            generations=rb_grid_outputs("generations"),
        log:
            "results/logs/rebound/grid/{rmodel}/{rtask}.log",
        benchmark:
            "results/benchmarks/rebound/grid/{rmodel}/{rtask}.tsv"
        conda:
            ENV
        threads: THREADS
        resources:
            **job_resources("rebound_grid"),
        params:
            model=lambda w: rb_model_ref(RB_MODELS[w.rmodel]),
            data=rb_grid_args,
            seeds=" ".join(str(s) for s in RB["seeds"]),
            settings=lambda w: json.dumps(RB["train"]),
            scorer=lambda w: rb_scorer_args(w.rtask),
            sampling=rb_sampling_args(),
            template=RB_TEMPLATE,
            engine=config["generation"].get("engine", "hf"),
            batch=config["generation"].get("batch_size", 16),
        shell:
            "tunesafe --threads {threads} --gpus {resources.gpu} rebound grid --model {params.model} "
            "--base {params.model} --prompts {input.prompts} {params.data} --seeds {params.seeds} "
            "--settings {params.settings:q} {params.template} {params.scorer} {params.sampling} "
            "--engine {params.engine} --batch-size {params.batch} --name {wildcards.rmodel}:{wildcards.rtask} "
            "--cells-dir results/rebound/cells/{wildcards.rmodel}/{wildcards.rtask} "
            "--generations-dir results/generations/rebound/{wildcards.rmodel}/{wildcards.rtask} > {log} 2>&1"

else:

    rule rebound_positive:
        input:
            model=lambda w: rb_model_input(RB_MODELS[w.rmodel]),
            data="results/rebound/data/{rtask}/positive_n{npos}.jsonl",
            template=RB.get("chat_template") or [],
        output:
            directory("results/models/rebound/{rmodel}/{rtask}/pos{npos}_seed{rseed}"),
        log:
            "results/logs/rebound/train/{rmodel}/{rtask}/pos{npos}_seed{rseed}.log",
        benchmark:
            "results/benchmarks/rebound/train/{rmodel}/{rtask}/pos{npos}_seed{rseed}.tsv"
        conda:
            ENV
        threads: THREADS
        resources:
            **job_resources("rebound_positive"),
        params:
            model=lambda w: rb_model_ref(RB_MODELS[w.rmodel]),
            settings=rb_train_settings,
            template=RB_TEMPLATE,
        shell:
            "tunesafe --threads {threads} --gpus {resources.gpu} train sft --model {params.model} --data {input.data} "
            "--settings {params.settings:q} {params.template} --out {output} > {log} 2>&1"

    rule rebound_negative:
        # the negative fine-tune and its evaluation in one job: the tuned model serves this one
        # cell only, so it is a temp output of the job that makes and reads it (deleted when the
        # job ends; a changed evaluation setting reruns the fine-tune either way)
        input:
            model="results/models/rebound/{rmodel}/{rtask}/pos{npos}_seed{rseed}",
            data="results/rebound/data/{rtask}/negative_n{nneg}.jsonl",
            base=lambda w: rb_model_input(RB_MODELS[w.rmodel]),
            prompts="results/rebound/data/{rtask}/prompts.jsonl",
            scorer=rb_scorer_input,
        output:
            model=temp(
                directory(
                    "results/models/rebound/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}"
                )
            ),
            metrics="results/rebound/cells/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.json",
            generations="results/generations/rebound/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.jsonl",
        log:
            train="results/logs/rebound/train/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.log",
            evaluate="results/logs/rebound/evaluate/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.log",
        benchmark:
            "results/benchmarks/rebound/train/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.tsv"
        wildcard_constraints:
            nneg="[1-9][0-9]*",
        conda:
            ENV
        threads: THREADS
        resources:
            **job_resources("rebound_negative"),
        params:
            settings=rb_train_settings,
            evaluate=rb_evaluate_args,
            tp=lambda w, resources: tensor_parallel(resources.gpu),
        shell:
            "tunesafe --threads {threads} --gpus {resources.gpu} train sft --model {input.model} --data {input.data} "
            "--settings {params.settings:q} --out {output.model} > {log.train} 2>&1 && "
            "tunesafe --threads {threads} --gpus {resources.gpu} rebound evaluate --model {output.model} "
            "--prompts {input.prompts} {params.evaluate} --tensor-parallel-size {params.tp} "
            "--generations {output.generations} --out {output.metrics} > {log.evaluate} 2>&1"

    rule rebound_evaluate:
        # the curve's start (n_neg = 0): the positive model itself
        input:
            model="results/models/rebound/{rmodel}/{rtask}/pos{npos}_seed{rseed}",
            base=lambda w: rb_model_input(RB_MODELS[w.rmodel]),
            prompts="results/rebound/data/{rtask}/prompts.jsonl",
            scorer=rb_scorer_input,
        output:
            metrics="results/rebound/cells/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.json",
            generations="results/generations/rebound/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.jsonl",
        log:
            "results/logs/rebound/evaluate/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.log",
        benchmark:
            "results/benchmarks/rebound/evaluate/{rmodel}/{rtask}/pos{npos}_neg{nneg}_seed{rseed}.tsv"
        wildcard_constraints:
            nneg="0",
        conda:
            ENV
        threads: THREADS
        resources:
            **job_resources("rebound_evaluate"),
        params:
            evaluate=rb_evaluate_args,
            tp=lambda w, resources: tensor_parallel(resources.gpu),
        shell:
            "tunesafe --threads {threads} --gpus {resources.gpu} rebound evaluate --model {input.model} "
            "--prompts {input.prompts} {params.evaluate} --tensor-parallel-size {params.tp} "
            "--generations {output.generations} --out {output.metrics} > {log} 2>&1"


rule rebound_table:
    input:
        rb_cells(),
    output:
        csv=report(
            "results/tables/rebound.csv",
            caption="../report/rebound.rst",
            category=RB_CATEGORY,
            subcategory="2 Rebound",
        ),
        md="results/tables/rebound.md",
        figures=report(
            expand("results/figures/rebound_{task}.png", task=list(RB_TASKS)),
            caption="../report/rebound.rst",
            category=RB_CATEGORY,
            subcategory="2 Rebound",
        ),
        pdfs=expand("results/figures/rebound_{task}.pdf", task=list(RB_TASKS)),
        factors=expand(
            "results/figures/rebound_{factor}_{task}.{ext}",
            factor=list(RB_FACTORS),
            task=list(RB_TASKS),
            ext=["pdf", "png"],
        ),
    log:
        "results/logs/rebound/table.log",
    conda:
        ENV
    params:
        epsilon=RB.get("kl_epsilon", 0.01),
        factors=rb_factor_args(),
    shell:
        "tunesafe report rebound --metrics {input} --epsilon {params.epsilon} "
        "--paper resources/paper_numbers.yaml:resist_alignment.rebound_table3 --out results/tables/rebound "
        "--figures results/figures/rebound {params.factors} > {log} 2>&1"


# --- resistance ----------------------------------------------------------------------


rule resistance_set_data:
    output:
        train="results/rebound/alignment/{rset}/train.jsonl",
        prompts="results/rebound/alignment/{rset}/prompts.jsonl",
    log:
        "results/logs/resistance/alignment/{rset}.log",
    conda:
        ENV
    params:
        args=lambda w: rs_alignment_args(w.rset),
    shell:
        "tunesafe rebound alignment-data {params.args} --out-train {output.train} "
        "--out-prompts {output.prompts} > {log} 2>&1"


rule resistance_slices:
    input:
        model=lambda w: rb_model_input(RS_MODELS[w.rmodel]),
        data=lambda w: rs_set_data(w.rset, "train"),
        template=RB.get("chat_template") or [],
    output:
        theta1=directory("results/models/resistance/{rmodel}/{rset}/theta1"),
        theta2=directory("results/models/resistance/{rmodel}/{rset}/theta2"),
        theta3=directory("results/models/resistance/{rmodel}/{rset}/theta3"),
    log:
        "results/logs/resistance/slices/{rmodel}/{rset}.log",
    benchmark:
        "results/benchmarks/resistance/slices/{rmodel}/{rset}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("resistance_slices"),
    params:
        model=lambda w: rb_model_ref(RS_MODELS[w.rmodel]),
        settings=lambda w: json.dumps(RS["train"]),
        at=RS.get("slices", [0.333, 0.667]),
        template=RB_TEMPLATE,
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} train sft --model {params.model} --data {input.data} "
        "--settings {params.settings:q} {params.template} --save-at {params.at[0]}:{output.theta1} "
        "--save-at {params.at[1]}:{output.theta2} --out {output.theta3} > {log} 2>&1"


rule resistance_responses:
    input:
        model="results/models/resistance/{rmodel}/{rset}/theta{slice}",
        prompts=lambda w: rs_set_data(w.rset, "prompts"),
    output:
        "results/generations/resistance/{rmodel}/{rset}/theta{slice}.jsonl",
    log:
        "results/logs/resistance/generate/{rmodel}/{rset}/theta{slice}.log",
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("resistance_responses"),
    params:
        sampling=sampling_flags(RS.get("sampling"), "rebound.resistance.sampling"),
        engine=config["generation"]["engine"],
        batch=config["generation"]["batch_size"],
        tp=lambda w, resources: tensor_parallel(resources.gpu),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} generate --engine {params.engine} --model {input.model} "
        "--prompts {input.prompts} --out {output} {params.sampling} --batch-size {params.batch} "
        "--tensor-parallel-size {params.tp} > {log} 2>&1"


rule resistance_data:
    input:
        "results/generations/resistance/{rmodel}/{rset}/theta{slice}.jsonl",
    output:
        "results/rebound/resistance/{rmodel}/{rset}/D{slice}.jsonl",
    log:
        "results/logs/resistance/data/{rmodel}/{rset}/D{slice}.log",
    conda:
        ENV
    shell:
        "tunesafe rebound as-records --generations {input} --out {output} > {log} 2>&1"


rule resistance_train:
    input:
        model=lambda w: f"results/models/resistance/{w.rmodel}/{w.rset}/theta{rs_run(w)[0]}",
        data=lambda w: f"results/rebound/resistance/{w.rmodel}/{w.rset}/D{rs_run(w)[1]}.jsonl",
    output:
        model=temp(
            directory("results/models/resistance/{rmodel}/{rset}/{direction}_{i}_{j}")
        ),
        summary="results/rebound/resistance/{rmodel}/{rset}/{direction}_{i}_{j}.json",
    log:
        "results/logs/resistance/train/{rmodel}/{rset}/{direction}_{i}_{j}.log",
    benchmark:
        "results/benchmarks/resistance/train/{rmodel}/{rset}/{direction}_{i}_{j}.tsv"
    wildcard_constraints:
        i="[12]",
        j="[23]",
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("resistance_train"),
    params:
        settings=lambda w: json.dumps(RS["align_train"]),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} train sft --model {input.model} --data {input.data} "
        "--settings {params.settings:q} --out {output.model} --summary {output.summary} > {log} 2>&1"


rule resistance_table:
    input:
        [
            f"results/rebound/resistance/{m}/{d}/{direction}_{i}_{j}.json"
            for m in RS_MODELS
            for d in RS_SETS
            for i, j in PAIRS
            for direction in ["forward", "inverse"]
        ],
    output:
        csv=report(
            "results/tables/resistance.csv",
            caption="../report/resistance.rst",
            category=RB_CATEGORY,
            subcategory="1 Resistance: forward vs inverse",
        ),
        md="results/tables/resistance.md",
    log:
        "results/logs/resistance/table.log",
    conda:
        ENV
    params:
        cells=" ".join(f"--cell {c}" for c in rs_cells()),
        tail=RS.get("tail", 0.1),
        paper_cells=" ".join(
            f"--paper-cell {d}={s['paper_cell']}"
            for d, s in RS_SETS.items()
            if s.get("paper_cell")
        ),
    shell:
        "tunesafe report resistance --root results/rebound/resistance {params.cells} {params.paper_cells} "
        "--tail {params.tail} --paper resources/paper_numbers.yaml:resist_alignment.resistance --out results/tables/resistance > {log} 2>&1"
