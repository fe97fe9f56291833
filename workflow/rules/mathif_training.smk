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
