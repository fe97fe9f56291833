# Score a generations file with the benchmark's metric (keyword ASR, ROUGE-1, accuracy).


rule evaluate:
    input:
        "results/generations/{task}/{method}/{benchmark}.jsonl",
    output:
        "results/metrics/{task}/{method}/{benchmark}.json",
    log:
        "results/logs/evaluate/{task}/{method}/{benchmark}.log",
    benchmark:
        "results/benchmarks/evaluate/{task}/{method}/{benchmark}.tsv"
    conda:
        ENV
    params:
        metric=lambda w: BENCHMARKS[w.benchmark]["metric"],
        options=lambda w: (
            f"--keywords {config['evaluation']['keywords']}"
            if BENCHMARKS[w.benchmark]["metric"] == "asr"
            else ""
        ),
    shell:
        "tunesafe evaluate {params.metric} --generations {input} --out {output} {params.options} > {log} 2>&1"
