# When Thinking Fails (arXiv 2505.11423): IFEval answered directly and after thinking, by
# every model in config thinking.models -> lm-eval IFEval scores on the final answers ->
# Table 1 (wtf_ifeval) and the per-type deltas (wtf_types, table and figure); constraint
# attention (Sec. 5) of the models in thinking.attention.models on items with constraint spans
# (the toy IFEval records them) -> wtf_attention (table and figure).
# The toy world trains its own instruct model (toy_instruct) per seed from the toy aligned
# model, on direct and <think> answers to toy IFEval prompts.


include: "thinking_common.smk"


THINK_CATEGORY = "When Thinking Fails (arXiv 2505.11423)"

TABLES += expand(
    "results/tables/{name}.{ext}",
    name=["wtf_ifeval", "wtf_types", "wtf_mitigations", "wtf_cot_length"],
    ext=["csv", "md"],
)
TABLES += expand("results/figures/wtf_types.{ext}", ext=["pdf", "png"])
if THINK_CB:
    TABLES += expand("results/tables/wtf_complexbench.{ext}", ext=["csv", "md"])
if THINK_ATTENTION_MODELS:
    TABLES += expand("results/tables/wtf_attention.{ext}", ext=["csv", "md"])
    TABLES += expand("results/figures/wtf_attention.{ext}", ext=["pdf", "png"])


wildcard_constraints:
    trun="|".join(re.escape(r) for r in think_runs()) or "NONE",
    tcond="direct|cot|selfselect|reflect|fewshot",
    tbench="|".join(THINK_BENCHMARKS),
    tseed="[0-9]+",


localrules:
    thinking_nltk_data,


rule thinking_nltk_data:
    output:
        directory("results/nltk_data"),
    log:
        "results/logs/thinking/nltk_data.log",
    conda:
        ENV
    params:
        online=ONLINE,
    shell:
        "{params.online}tunesafe thinking nltk-data --out {output} > {log} 2>&1"


rule thinking_data:
    output:
        "results/data/thinking/ifeval.jsonl",
    log:
        "results/logs/thinking/data.log",
    conda:
        ENV
    params:
        args=think_data_args(),
        online=ONLINE,
    shell:
        "{params.online}tunesafe thinking prepare {params.args} --out {output} > {log} 2>&1"


rule thinking_fewshot_examples:
    output:
        "results/data/thinking/fewshot.jsonl",
    log:
        "results/logs/thinking/fewshot_examples.log",
    conda:
        ENV
    params:
        n=THINK_FEWSHOT.get("n", 2),
        seed=THINK_FEWSHOT.get("seed", 0),
    shell:
        "tunesafe thinking toy-fewshot --n {params.n} --seed {params.seed} --out {output} > {log} 2>&1"


rule thinking_prompts:
    input:
        data="results/data/thinking/{tbench}.jsonl",
        examples=think_examples,
    output:
        "results/thinking/prompts/{tbench}/{tcond}.jsonl",
    log:
        "results/logs/thinking/prompts_{tbench}_{tcond}.log",
    wildcard_constraints:
        tcond="direct|cot|selfselect|fewshot",
    conda:
        ENV
    params:
        cue=think_cue_arg,
        examples=lambda w, input: (
            f"--examples {input.examples}" if input.examples else ""
        ),
    shell:
        "tunesafe thinking prompts --data {input.data} --condition {wildcards.tcond} "
        "{params.cue} {params.examples} --out {output} > {log} 2>&1"


rule thinking_reflect_prompts:
    input:
        prompts="results/thinking/prompts/{tbench}/cot.jsonl",
        generations="results/generations/thinking/{trun}/{tbench}/cot.jsonl",
    output:
        "results/thinking/prompts/{trun}/{tbench}/reflect.jsonl",
    log:
        "results/logs/thinking/{trun}/reflect_prompts_{tbench}.log",
    conda:
        ENV
    params:
        text=think_reflect_text(),
    shell:
        "tunesafe thinking reflect-prompts --prompts {input.prompts} "
        "--generations {input.generations} {params.text} --out {output} > {log} 2>&1"


rule thinking_toy_data:
    output:
        "results/data/toy/thinking_sft_seed{tseed}.jsonl",
    log:
        "results/logs/thinking/toy_data_seed{tseed}.log",
    conda:
        ENV
    params:
        n=THINK.get("toy_instruct", {}).get("n", 1000),
        share=THINK.get("toy_instruct", {}).get("cot_share", 0.5),
    shell:
        "tunesafe thinking toy-sft --n {params.n} --seed {wildcards.tseed} "
        "--cot-share {params.share} --out {output} > {log} 2>&1"


rule thinking_toy_model:
    input:
        model="results/models/toy/aligned",
        data="results/data/toy/thinking_sft_seed{tseed}.jsonl",
    output:
        directory("results/models/toy/thinking/seed{tseed}"),
    log:
        "results/logs/thinking/toy_model_seed{tseed}.log",
    benchmark:
        "results/benchmarks/thinking/toy_model_seed{tseed}.tsv"
    conda:
        ENV
    threads: THREADS
    params:
        settings=lambda w: json.dumps(
            {**THINK.get("toy_instruct", {}).get("training", {}), "seed": int(w.tseed)}
        ),
    shell:
        "tunesafe --threads {threads} train sft --model {input.model} --data {input.data} "
        "--settings {params.settings:q} --out {output} > {log} 2>&1"


rule thinking_generate:
    input:
        prompts=think_prompts_input,
        model=think_model_input,
    output:
        "results/generations/thinking/{trun}/{tbench}/{tcond}.jsonl",
    log:
        "results/logs/thinking/{trun}/generate_{tbench}_{tcond}.log",
    benchmark:
        "results/benchmarks/thinking/{trun}/generate_{tbench}_{tcond}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("thinking_generate"),
    params:
        model=lambda w: think_model_ref(w.trun),
        sampling=think_sampling_args(),
        engine=config["generation"].get("engine", "hf"),
        batch=config["generation"].get("batch_size", 16),
        tp=lambda w, resources: tensor_parallel(resources.gpu),
        template=think_template_args,
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} generate --engine {params.engine} "
        "--model {params.model} --prompts {input.prompts} --out {output} {params.sampling} "
        "--batch-size {params.batch} --tensor-parallel-size {params.tp} {params.template} > {log} 2>&1"


rule thinking_complexbench_data:
    output:
        "results/data/thinking/complexbench.jsonl",
    log:
        "results/logs/thinking/complexbench_data.log",
    conda:
        ENV
    params:
        args=lambda w: think_cb_prepare_args(),
    shell:
        "tunesafe thinking complexbench-prepare {params.args} --out {output} > {log} 2>&1"


rule thinking_complexbench_score:
    input:
        data="results/data/thinking/complexbench.jsonl",
        responses="results/generations/thinking/{trun}/complexbench/{tcond}.jsonl",
    output:
        scores="results/metrics/thinking/{trun}/complexbench/{tcond}.json",
        rows="results/metrics/thinking/{trun}/complexbench/{tcond}_rows.jsonl",
    log:
        "results/logs/thinking/{trun}/score_complexbench_{tcond}.log",
    conda:
        ENV
    params:
        judge=lambda w: think_cb_judge_args(),
    shell:
        "tunesafe thinking complexbench-score --data {input.data} --responses {input.responses} "
        "{params.judge} --out {output.scores} --rows {output.rows} > {log} 2>&1"


rule thinking_complexbench_report:
    input:
        expand(
            "results/metrics/thinking/{r}/complexbench/{c}.json",
            r=think_runs(),
            c=THINK_CONDITIONS,
        ),
    output:
        report(
            "results/tables/wtf_complexbench.csv",
            caption="../report/wtf_complexbench.rst",
            category=THINK_CATEGORY,
            subcategory="1 Table 1: direct vs CoT on ComplexBench (DRFR)",
        ),
        "results/tables/wtf_complexbench.md",
    log:
        "results/logs/thinking/complexbench_report.log",
    conda:
        ENV
    params:
        runs=" ".join(f"--run {shlex.quote(r)}" for r in think_runs()),
    shell:
        "tunesafe report thinking-complexbench --root results/metrics/thinking {params.runs} "
        "--tables results/tables > {log} 2>&1"


rule thinking_score:
    input:
        data="results/data/thinking/{tbench}.jsonl",
        responses="results/generations/thinking/{trun}/{tbench}/{tcond}.jsonl",
        nltk=think_nltk_input,
    output:
        scores="results/metrics/thinking/{trun}/{tbench}/{tcond}.json",
        rows="results/metrics/thinking/{trun}/{tbench}/{tcond}_rows.jsonl",
    log:
        "results/logs/thinking/{trun}/score_{tbench}_{tcond}.log",
    wildcard_constraints:
        tbench="ifeval",
    conda:
        ENV
    params:
        nltk="--nltk-data results/nltk_data" if THINK_NEEDS_NLTK else "",
    shell:
        "tunesafe thinking score --data {input.data} --responses {input.responses} "
        "--out {output.scores} --rows {output.rows} {params.nltk} > {log} 2>&1"


rule thinking_selective:
    input:
        data="results/data/thinking/ifeval.jsonl",
        rows=expand(
            "results/metrics/thinking/{{trun}}/ifeval/{c}_rows.jsonl",
            c=THINK_CONDITIONS,
        ),
        extra=lambda w: list(think_extra_rows(w).values()),
    output:
        "results/metrics/thinking/{trun}/ifeval/selective.json",
    log:
        "results/logs/thinking/{trun}/selective.log",
    conda:
        ENV
    params:
        seed=THINK.get("selective_seed", SEED),
        extra=lambda w: " ".join(
            f"--extra {c}={p}" for c, p in think_extra_rows(w).items()
        ),
    shell:
        "tunesafe thinking selective --data {input.data} --rows {input.rows} "
        "--seed {params.seed} {params.extra} --out {output} > {log} 2>&1"


rule thinking_report:
    input:
        expand(
            "results/metrics/thinking/{r}/{b}/{c}.json",
            r=think_runs(),
            b=["ifeval"],
            c=THINK_CONDITIONS,
        ),
        expand("results/metrics/thinking/{r}/ifeval/selective.json", r=think_runs()),
        expand("results/metrics/thinking/{r}/ifeval/cot_rows.jsonl", r=think_runs()),
    output:
        report(
            "results/tables/wtf_ifeval.csv",
            caption="../report/wtf_ifeval.rst",
            category=THINK_CATEGORY,
            subcategory="1 Table 1: direct vs CoT on IFEval",
        ),
        "results/tables/wtf_ifeval.md",
        report(
            "results/tables/wtf_types.csv",
            caption="../report/wtf_types.rst",
            category=THINK_CATEGORY,
            subcategory="2 Instruction types CoT helps or hurts",
        ),
        "results/tables/wtf_types.md",
        report(
            "results/figures/wtf_types.png",
            caption="../report/wtf_types.rst",
            category=THINK_CATEGORY,
            subcategory="2 Instruction types CoT helps or hurts",
        ),
        "results/figures/wtf_types.pdf",
        report(
            "results/tables/wtf_mitigations.csv",
            caption="../report/wtf_mitigations.rst",
            category=THINK_CATEGORY,
            subcategory="4 Mitigations",
        ),
        "results/tables/wtf_mitigations.md",
        report(
            "results/tables/wtf_cot_length.csv",
            caption="../report/wtf_cot_length.rst",
            category=THINK_CATEGORY,
            subcategory="5 Appendix: CoT length vs accuracy",
        ),
        "results/tables/wtf_cot_length.md",
    log:
        "results/logs/thinking/report.log",
    conda:
        ENV
    params:
        args=think_report_args(),
    shell:
        "tunesafe report thinking --root results/metrics/thinking {params.args} "
        "--paper resources/paper_numbers.yaml:thinking.table1 --mitigations --tables results/tables "
        "--figures results/figures > {log} 2>&1"


rule thinking_attention:
    input:
        data="results/data/thinking/ifeval.jsonl",
        generations=expand(
            "results/generations/thinking/{{trun}}/ifeval/{c}.jsonl",
            c=THINK_CONDITIONS,
        ),
        rows=expand(
            "results/metrics/thinking/{{trun}}/ifeval/{c}_rows.jsonl",
            c=THINK_CONDITIONS,
        ),
        model=think_model_input,
    output:
        "results/thinking/attention/{trun}.json",
    log:
        "results/logs/thinking/{trun}/attention.log",
    benchmark:
        "results/benchmarks/thinking/{trun}/attention.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("thinking_attention"),
    params:
        model=lambda w: think_model_ref(w.trun),
        limit=think_attention_limit(),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} thinking attention --model {params.model} "
        "--data {input.data} --generations {input.generations} --rows {input.rows} "
        "{params.limit} --out {output} > {log} 2>&1"


rule thinking_attention_report:
    input:
        expand("results/thinking/attention/{r}.json", r=think_attention_runs()),
    output:
        report(
            "results/tables/wtf_attention.csv",
            caption="../report/wtf_attention.rst",
            category=THINK_CATEGORY,
            subcategory="3 Constraint attention",
        ),
        "results/tables/wtf_attention.md",
        report(
            "results/figures/wtf_attention.png",
            caption="../report/wtf_attention.rst",
            category=THINK_CATEGORY,
            subcategory="3 Constraint attention",
        ),
        "results/figures/wtf_attention.pdf",
    log:
        "results/logs/thinking/attention_report.log",
    conda:
        ENV
    shell:
        "tunesafe report thinking-attention --inputs {input} --tables results/tables "
        "--figures results/figures > {log} 2>&1"
