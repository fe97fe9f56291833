# Hub models fetched into HF_HOME before offline compute jobs need them (config
# cluster.offline, cluster.revisions; see cluster.smk and tunesafe.cluster.download).


rule download_model:
    output:
        "results/downloads/{which}.json",
    log:
        "results/logs/download_model/{which}.log",
    wildcard_constraints:
        which="aligned|base",
    conda:
        ENV
    params:
        model=lambda w: config["models"][w.which],
        revision=lambda w: CLUSTER["revisions"].get(w.which, "main"),
    shell:
        "HF_HUB_OFFLINE=0 tunesafe cluster download --model {params.model} --revision {params.revision} "
        "--out {output} > {log} 2>&1"
