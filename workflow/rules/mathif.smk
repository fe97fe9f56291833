# MathIF (arXiv 2505.14810): instruction following of reasoning models. Items -> prompts
# with and without the constraints -> generations of every model in config mathif.models ->
# scores -> Table 3, Table 6 (the intervention) and three breakdown figures.
#
# The intervention (Table 6) is a second generation pass: the first pass's response (with
# constraints) is cut where its thinking ends (before </think>), "Wait," and the constraint
# descriptions are appended, and the model continues that assistant text (records with an
# `assistant_prefix`, continued by `tunesafe generate` on the rendered chat template + prefix).
#
# CoT length control (budget forcing): the models of mathif.budget_models answer the
# constraint prompts once per budget N of mathif.budgets with `tunesafe generate
# --thinking-budget N` (setting budget_<N>); mathif_budget_report plots HAcc, SAcc and
# correctness against N beside the no-budget and repeat-the-constraints points.


include: "mathif_common.smk"


MATHIF_CATEGORY = "MathIF (arXiv 2505.14810)"


if MATHIF_MODELS:
    TABLES += expand(
        "results/tables/{name}.{ext}",
        name=["mathif", "mathif_intervention"],
        ext=["csv", "md"],
    )
    TABLES += expand(
        "results/figures/mathif_{name}.{ext}",
        name=["by_constraints", "by_source", "cot_length"],
        ext=["pdf", "png"],
    )

if MATHIF_MODELS and MATHIF_BUDGETS and MATHIF_BUDGET_MODELS:
    TABLES += expand("results/tables/mathif_budget.{ext}", ext=["csv", "md"])
    TABLES += expand("results/figures/mathif_budget.{ext}", ext=["pdf", "png"])


wildcard_constraints:
    mathif_model="|".join(re.escape(m) for m in MATHIF_EVAL_MODELS) or "NONE",
    mathif_setting="|".join(MATHIF_SETTINGS),


rule mathif_data:
    input:
        lambda w: (
            [MATHIF["data"]["path"]]
            if MATHIF.get("data", {}).get("source") == "file"
            and os.path.exists(MATHIF["data"]["path"])
            else []
        ),
    output:
        "results/data/mathif/items.jsonl",
    log:
        "results/logs/mathif/data.log",
    conda:
        ENV
    params:
        args=mathif_data_args(),
    shell:
        "tunesafe mathif prepare {params.args} --out {output} > {log} 2>&1"


rule mathif_prompts:
    input:
        "results/data/mathif/items.jsonl",
    output:
        "results/mathif/prompts/{mathif_setting}.jsonl",
    log:
        "results/logs/mathif/prompts_{mathif_setting}.log",
    wildcard_constraints:
        mathif_setting="constraints|no_constraints",
    conda:
        ENV
    params:
        flag=lambda w: (
            "--no-constraints" if w.mathif_setting == "no_constraints" else ""
        ),
    shell:
        "tunesafe mathif prompts --data {input} {params.flag} --out {output} > {log} 2>&1"


rule mathif_toy_reasoning_data:
    output:
        "results/data/toy/mathif_reasoning.jsonl",
    log:
        "results/logs/mathif/toy_reasoning_data.log",
    conda:
        ENV
    params:
        n=MATHIF["toy_reasoning"]["n"],
        seed=MATHIF["toy_reasoning"].get("seed", SEED),
        wait=MATHIF["toy_reasoning"]["wait_share"],
    shell:
        "tunesafe mathif toy-reasoning-data --n {params.n} --seed {params.seed} "
        "--wait-share {params.wait} --out {output} > {log} 2>&1"


rule mathif_toy_reasoning_model:
    input:
        model=model_path("toy", "base"),
        data="results/data/toy/mathif_reasoning.jsonl",
    output:
        directory(model_path("toy", "reasoning")),
    log:
        "results/logs/mathif/toy_reasoning_model.log",
    benchmark:
        "results/benchmarks/mathif/toy_reasoning_model.tsv"
    conda:
        ENV
    threads: THREADS
    params:
        settings=json.dumps(MATHIF["toy_reasoning"]["training"]),
    shell:
        "tunesafe --threads {threads} train sft --model {input.model} --data {input.data} "
        "--settings {params.settings:q} --out {output} > {log} 2>&1"


rule mathif_intervention_prompts:
    input:
        data="results/data/mathif/items.jsonl",
        generations="results/generations/mathif/{mathif_model}/constraints.jsonl",
    output:
        "results/mathif/prompts/{mathif_model}/intervention.jsonl",
    log:
        "results/logs/mathif/{mathif_model}/intervention_prompts.log",
    conda:
        ENV
    shell:
        "tunesafe mathif intervention --data {input.data} --generations {input.generations} "
        "--out {output} > {log} 2>&1"


rule mathif_generate:
    input:
        prompts=mathif_prompts_input,
        model=mathif_model_input,
    output:
        "results/generations/mathif/{mathif_model}/{mathif_setting}.jsonl",
    log:
        "results/logs/mathif/{mathif_model}/generate_{mathif_setting}.log",
    benchmark:
        "results/benchmarks/mathif/{mathif_model}/generate_{mathif_setting}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("mathif_generate", gpus_of=mathif_tensor_parallel),
    params:
        model=lambda w: mathif_model_ref(w.mathif_model),
        adapter=mathif_adapter_arg,
        sampling=lambda w: mathif_sampling_args(w.mathif_setting),
        engine=config["generation"]["engine"],
        batch=config["generation"]["batch_size"],
        tp=lambda w, resources: resources.gpu or mathif_tensor_parallel(w),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} generate --engine {params.engine} --model {params.model} {params.adapter} "
        "--prompts {input.prompts} --out {output} {params.sampling} "
        "--batch-size {params.batch} --tensor-parallel-size {params.tp} > {log} 2>&1"


rule mathif_score:
    input:
        data="results/data/mathif/items.jsonl",
        responses="results/generations/mathif/{mathif_model}/{mathif_setting}.jsonl",
        model=mathif_model_input,
    output:
        "results/metrics/mathif/{mathif_model}/{mathif_setting}.json",
    log:
        "results/logs/mathif/{mathif_model}/score_{mathif_setting}.log",
    benchmark:
        "results/benchmarks/mathif/{mathif_model}/score_{mathif_setting}.tsv"
    conda:
        ENV
    params:
        tokenizer=lambda w: mathif_model_ref(w.mathif_model),
        correctness=MATHIF["correctness"],
    shell:
        "tunesafe evaluate mathif --data {input.data} --responses {input.responses} "
        "--tokenizer {params.tokenizer} --setting {wildcards.mathif_setting} "
        "--correctness {params.correctness} --out {output} > {log} 2>&1"


rule mathif_report:
    input:
        expand(
            "results/metrics/mathif/{m}/{s}.json",
            m=list(MATHIF_MODELS),
            s=["constraints", "no_constraints"],
        ),
        expand("results/metrics/mathif/{m}/intervention.json", m=MATHIF_INTERVENTION),
    output:
        report(
            "results/tables/mathif.csv",
            caption="../report/mathif_table.rst",
            category=MATHIF_CATEGORY,
            subcategory="1 Table 3: HAcc, SAcc, correctness",
        ),
        "results/tables/mathif.md",
        report(
            "results/tables/mathif_intervention.csv",
            caption="../report/mathif_intervention.rst",
            category=MATHIF_CATEGORY,
            subcategory="3 Table 6: the intervention",
        ),
        "results/tables/mathif_intervention.md",
        report(
            expand(
                "results/figures/mathif_{n}.png",
                n=["by_constraints", "by_source", "cot_length"],
            ),
            caption="../report/mathif_figures.rst",
            category=MATHIF_CATEGORY,
            subcategory="2 Breakdowns: constraints, source, thinking length",
        ),
        expand(
            "results/figures/mathif_{n}.pdf",
            n=["by_constraints", "by_source", "cot_length"],
        ),
    log:
        "results/logs/mathif/report.log",
    conda:
        ENV
    params:
        models=" ".join(
            f"--model {shlex.quote(f'{n}={i}')}" for n, i in MATHIF_MODELS.items()
        ),
        intervention=" ".join(MATHIF_INTERVENTION),
        bins=MATHIF["cot_length_bins"],
    shell:
        "tunesafe report mathif --root results/metrics/mathif {params.models} "
        "--intervention {params.intervention} --paper resources/paper_numbers.yaml:mathif.table3 "
        "--bins {params.bins} --tables results/tables --figures results/figures > {log} 2>&1"


rule mathif_budget_report:
    input:
        expand(
            "results/metrics/mathif/{m}/{s}.json",
            m=MATHIF_BUDGET_MODELS,
            s=["constraints"] + [f"budget_{b}" for b in MATHIF_BUDGETS],
        ),
        expand(
            "results/metrics/mathif/{m}/intervention.json",
            m=[m for m in MATHIF_BUDGET_MODELS if m in MATHIF_INTERVENTION],
        ),
    output:
        report(
            "results/tables/mathif_budget.csv",
            caption="../report/mathif_budget.rst",
            category=MATHIF_CATEGORY,
            subcategory="4 CoT length control: budget forcing",
        ),
        "results/tables/mathif_budget.md",
        report(
            "results/figures/mathif_budget.png",
            caption="../report/mathif_budget.rst",
            category=MATHIF_CATEGORY,
            subcategory="4 CoT length control: budget forcing",
        ),
        "results/figures/mathif_budget.pdf",
    log:
        "results/logs/mathif/budget_report.log",
    conda:
        ENV
    params:
        models=" ".join(f"--model {shlex.quote(m)}" for m in MATHIF_BUDGET_MODELS),
        budgets=" ".join(str(b) for b in MATHIF_BUDGETS),
        intervention=" ".join(
            m for m in MATHIF_BUDGET_MODELS if m in MATHIF_INTERVENTION
        ),
    shell:
        "tunesafe report mathif-budget --root results/metrics/mathif {params.models} "
        "--budget {params.budgets} --intervention {params.intervention} "
        "--tables results/tables --figures results/figures > {log} 2>&1"


# MathIF training paradigms (arXiv 2505.14810, Sec. 4): from one base model and math data
# without instruction-following data, SFT on reasoning traces (the mathif.models entry
# mathif.training.sft; on the toy, the toy reasoning model), SFT then RL, RL from the base
# ("cold RL") and RL with a format reward, each RL variant once per seed of
# mathif.training.seeds. RL is `tunesafe train grpo` (TRL's GRPOTrainer) with the registered
# rewards; every model is scored by the ordinary mathif_generate / mathif_score rules (model
# names "training/base" and "rl/<variant>/s<seed>"), and mathif_training_report writes
# results/tables/mathif_training.{csv,md}.


if MATHIF_TRAINING:
    TABLES += expand("results/tables/mathif_training.{ext}", ext=["csv", "md"])


wildcard_constraints:
    rl_variant="|".join(re.escape(v) for v in MATHIF_TRAINING.get("variants", {}))
    or "NONE",
    rl_seed=r"\d+",


rule mathif_rl_prompts:
    output:
        "results/data/mathif/rl_prompts.jsonl",
    log:
        "results/logs/mathif/rl_prompts.log",
    conda:
        ENV
    params:
        args=mathif_rl_prompts_args() if MATHIF_TRAINING else "",
    shell:
        "tunesafe mathif rl-prompts {params.args} --out {output} > {log} 2>&1"


rule mathif_grpo:
    input:
        model=mathif_grpo_start,
        prompts="results/data/mathif/rl_prompts.jsonl",
    output:
        directory(model_path("mathif_rl", "{rl_variant}", "s{rl_seed}")),
    log:
        "results/logs/mathif/grpo_{rl_variant}_s{rl_seed}.log",
    benchmark:
        "results/benchmarks/mathif_rl/{rl_variant}_s{rl_seed}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("mathif_grpo"),
    params:
        model=lambda w: mathif_start_model(
            MATHIF_TRAINING["variants"][w.rl_variant]["start"]
        ),
        rewards=lambda w: " ".join(
            f"--reward {r}"
            for r in MATHIF_TRAINING["variants"][w.rl_variant]["rewards"]
        ),
        settings=json.dumps(MATHIF_TRAINING.get("grpo", {})),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} train grpo --model {params.model} --prompts {input.prompts} "
        "{params.rewards} --settings {params.settings:q} --seed {wildcards.rl_seed} "
        "--out {output} > {log} 2>&1"


rule mathif_training_report:
    input:
        expand(
            "results/metrics/mathif/{m}/{s}.json",
            m=(
                ["training/base", MATHIF_TRAINING["sft"], *MATHIF_RL]
                if MATHIF_TRAINING
                else []
            ),
            s=["constraints", "no_constraints"],
        ),
    output:
        report(
            "results/tables/mathif_training.csv",
            caption="../report/mathif_training.rst",
            category=MATHIF_CATEGORY,
            subcategory="5 Training paradigms: SFT, SFT+RL, cold RL, format reward",
        ),
        "results/tables/mathif_training.md",
    log:
        "results/logs/mathif/training_report.log",
    conda:
        ENV
    params:
        rows=mathif_training_rows() if MATHIF_TRAINING else "",
    shell:
        "tunesafe report mathif-training --root results/metrics/mathif {params.rows} "
        "--tables results/tables > {log} 2>&1"
