# The Safe Delta paper's baselines and comparison outputs (arXiv 2505.12038, Sec. 5):
# SafeInstr and BEA mix safety examples into the fine-tuning set; Safe LoRA projects a LoRA
# fine-tune; Resta adds a safety vector from an unaligned model. Then Table 1 and 2, Fig. 1
# (ASR vs size), Fig. 5 (Pareto), the LoRA table (Exp. 5) and the time cost (Exp. 10).


include: "baselines_common.smk"


register_variant("safeinstr", kind_variant("safeinstr"))
register_variant("bea", bea_variant)
register_variant("lora", lora_variant("lora"))
register_variant(
    "lora_safedelta",
    lambda task: safedelta_variant("lora_safedelta", task, sd_scale(task)),
)
register_variant("safelora", lora_variant("safelora", SAFELORA_SELECTION))
for _t in BASE["pareto"]["safelora"]:
    register_variant(f"safelora-s{_t}", lora_variant("safelora", f"t{_t}"))
for _c in [BASE["resta"]["coefficient"], *BASE["pareto"]["resta"]]:
    _v = lambda task, c=_c: full_variant(model_path("resta", task, f"c{c}"))
    register_variant(f"resta-s{_c}", _v)
    if _c == BASE["resta"]["coefficient"]:
        register_variant("resta", _v)
for _s in BASE["pareto"]["safedelta"]:
    register_variant(
        f"safedelta-s{_s}", lambda task, s=_s: safedelta_variant("safedelta", task, s)
    )


rule safety_mix:
    input:
        data="results/data/train/{task}.jsonl",
        safety=data_path(BASE["safety_data"]),
    output:
        "results/data/train/{mix}/{task}.jsonl",
    log:
        "results/logs/safety_mix/{mix}/{task}.log",
    wildcard_constraints:
        mix="safeinstr|bea",
    conda:
        ENV
    params:
        system_prompt=lambda w: system_prompt_flag(
            task_cfg(w.task).get("system_prompt")
        ),
        user_template=lambda w: task_cfg(w.task).get("user_template", "%s"),
        trigger=lambda w: f"--trigger {shlex.quote(TRIGGER)}" if w.mix == "bea" else "",
        fraction=BASE["fraction"],
        cap=BASE["cap"],
        seed=SEED,
    shell:
        "tunesafe baselines safety-mix --data {input.data} --safety {input.safety} "
        "{params.system_prompt} --user-template {params.user_template:q} {params.trigger} "
        "--fraction {params.fraction} --cap {params.cap} --seed {params.seed} --out {output} > {log} 2>&1"


rule safelora:
    input:
        aligned=model_input("aligned"),
        base=model_input("base"),
        adapter=model_path("lora", "{task}"),
    output:
        directory(model_path("safelora", "{task}", "{selection}")),
    log:
        "results/logs/safelora/{task}/{selection}.log",
    benchmark:
        "results/benchmarks/safelora/{task}/{selection}.tsv"
    wildcard_constraints:
        selection="t[0-9.e+-]+|n[0-9]+",
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("safelora"),
    params:
        aligned=lambda w: model_ref("aligned"),
        base=lambda w: model_ref("base"),
        selection=lambda w: safelora_selection_args(w.selection),
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} baselines safelora --aligned {params.aligned} --base {params.base} "
        "--adapter {input.adapter} {params.selection} --out {output} > {log} 2>&1"


rule resta:
    input:
        aligned=model_input("aligned"),
        finetuned=model_path("finetuned", "{task}"),
        unaligned=model_path("finetuned", "resta_unaligned"),
    output:
        directory(model_path("resta", "{task}", "c{coefficient}")),
    log:
        "results/logs/resta/{task}/c{coefficient}.log",
    benchmark:
        "results/benchmarks/resta/{task}/c{coefficient}.tsv"
    conda:
        ENV
    threads: THREADS
    resources:
        **job_resources("resta"),
    params:
        aligned=lambda w: model_ref("aligned"),
        dare=BASE["resta"]["dare"],
        seed=SEED,
    shell:
        "tunesafe --threads {threads} --gpus {resources.gpu} baselines resta --finetuned {input.finetuned} --aligned {params.aligned} "
        "--unaligned {input.unaligned} --coefficient {wildcards.coefficient} --dare {params.dare} "
        "--seed {params.seed} --out {output} > {log} 2>&1"


# --- tables and figures ----------------------------------------------------------------

TABLES += expand(
    "results/tables/{name}.{ext}",
    name=[
        "safedelta_harmful",
        "safedelta_benign",
        "lora",
        "time_cost",
        "asr_vs_size",
        "pareto",
    ],
    ext=["csv", "md"],
)
TABLES += expand(
    "results/figures/{name}.{ext}", name=["asr_vs_size", "pareto"], ext=["pdf", "png"]
)


rule safedelta_paper_table:
    input:
        lambda w: metrics_of(TABLE_TASKS[w.table], ROWS),
        paper=PAPER,
    output:
        csv=report(
            "results/tables/safedelta_{table}.csv",
            caption="../report/safedelta_table.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory=lambda w: {
                "harmful": "1 Table 1: harmful fine-tuning",
                "benign": "2 Table 2: benign fine-tuning",
            }[w.table],
        ),
        md="results/tables/safedelta_{table}.md",
    log:
        "results/logs/safedelta_{table}_table.log",
    wildcard_constraints:
        table="harmful|benign",
    conda:
        ENV
    params:
        tasks=lambda w: task_args(TABLE_TASKS[w.table]),
        rows=" ".join(ROWS),
    shell:
        "tunesafe report table --root results/metrics {params.tasks} --variants {params.rows} "
        "--paper {input.paper}:safedelta.table1 --out results/tables/safedelta_{wildcards.table} > {log} 2>&1"


rule lora_table:
    input:
        metrics_of(BASE["lora_tasks"], ["lora", "lora_safedelta"]),
    output:
        csv=report(
            "results/tables/lora.csv",
            caption="../report/lora.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="5 Exp. 5: LoRA",
        ),
        md="results/tables/lora.md",
    log:
        "results/logs/lora_table.log",
    conda:
        ENV
    params:
        tasks=task_args(BASE["lora_tasks"]),
    shell:
        "tunesafe report table --root results/metrics {params.tasks} --variants lora lora_safedelta "
        "--out results/tables/lora > {log} 2>&1"


rule asr_vs_size_figure:
    input:
        [metrics_path(SWEEP["task"], "original", "safety")]
        + [
            metrics_path(f"{SWEEP['task']}_n{n}", m, "safety")
            for n in SWEEP["sizes"]
            for m in SWEEP["methods"]
        ],
        paper=PAPER,
    output:
        "results/figures/asr_vs_size.pdf",
        report(
            "results/figures/asr_vs_size.png",
            caption="../report/asr_vs_size.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="3 Figure 1: ASR vs size",
        ),
        report(
            "results/tables/asr_vs_size.csv",
            caption="../report/asr_vs_size.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="3 Figure 1: ASR vs size",
        ),
        "results/tables/asr_vs_size.md",
    log:
        "results/logs/asr_vs_size_figure.log",
    conda:
        ENV
    params:
        task=SWEEP["task"],
        sizes=" ".join(str(n) for n in SWEEP["sizes"]),
        methods=" ".join(SWEEP["methods"]),
    shell:
        "tunesafe report asr-vs-size --root results/metrics --task {params.task} --sizes {params.sizes} "
        "--methods {params.methods} --paper {input.paper}:safedelta.asr_vs_size "
        "--out results/figures/asr_vs_size --table results/tables/asr_vs_size > {log} 2>&1"


rule pareto_figure:
    input:
        [
            metrics_path(t, v, b)
            for t, b in [
                (PARETO["x_task"], "safety"),
                (PARETO["y_task"], utility_benchmark(PARETO["y_task"])),
            ]
            for v in ["original", "finetuned", "safeinstr", "bea", "safedelta"]
            + [pareto_variant(m, k) for m, ks in PARETO_SWEEPS.items() for k in ks]
        ],
    output:
        "results/figures/pareto.pdf",
        report(
            "results/figures/pareto.png",
            caption="../report/pareto.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="4 Figure 5: Pareto front",
        ),
        report(
            "results/tables/pareto.csv",
            caption="../report/pareto.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="4 Figure 5: Pareto front",
        ),
        "results/tables/pareto.md",
    log:
        "results/logs/pareto_figure.log",
    conda:
        ENV
    params:
        x=f"{PARETO['x_task']}:safety",
        y=f"{PARETO['y_task']}:{utility_benchmark(PARETO['y_task'])}",
        sweeps=" ".join(
            f"--sweep {m}:" + ",".join(f"{k}={pareto_variant(m, k)}" for k in ks)
            for m, ks in PARETO_SWEEPS.items()
            if ks
        ),
    shell:
        "tunesafe report pareto --root results/metrics --x {params.x} --y {params.y} "
        "--single original finetuned safeinstr bea safedelta {params.sweeps} "
        "--out results/figures/pareto --table results/tables/pareto > {log} 2>&1"


rule time_cost_table:
    input:
        time_cost_inputs,
    output:
        csv=report(
            "results/tables/time_cost.csv",
            caption="../report/time_cost.rst",
            category="Safe Delta (arXiv 2505.12038)",
            subcategory="6 Exp. 10: time cost",
        ),
        md="results/tables/time_cost.md",
    log:
        "results/logs/time_cost_table.log",
    conda:
        ENV
    params:
        spec=lambda w: json.dumps(time_cost_spec()),
    shell:
        "tunesafe report time-cost --spec {params.spec:q} --out results/tables/time_cost > {log} 2>&1"
