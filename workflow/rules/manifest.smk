# results/manifest.json: id or path, revision and sha256 of every dataset and model of the
# run, so two runs can be compared; a pinned input (config manifest.pins) with another
# checksum stops the rule with an error naming it.

TABLES.append("results/manifest.json")


rule manifest:
    input:
        data=[data_path(d) for d in config["datasets"]],
        models=model_input("aligned") + model_input("base"),
    output:
        "results/manifest.json",
    log:
        "results/logs/manifest.log",
    conda:
        ENV
    params:
        datasets=json.dumps(config["datasets"]),
        models=json.dumps({"aligned": model_ref("aligned"), "base": model_ref("base")}),
        pins=json.dumps(config["manifest"]["pins"]),
    shell:
        "tunesafe cluster manifest --datasets {params.datasets:q} --models {params.models:q} "
        "--pins {params.pins:q} --data-dir results/data --out {output} > {log} 2>&1"
