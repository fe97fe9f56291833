# tunesafe: what fine-tuning does to the control we have over aligned language models.
# Default config = the embedded toy study (CPU, minutes); --configfile config/paper.yaml
# runs the same rules at paper scale. Rules only wire files to `tunesafe <stage> ...`.
import gc
import os
import shutil
import sys

from snakemake.utils import min_version

min_version("9.20")

# Planning allocates millions of short-lived objects (the paper config has ~2200 jobs): with
# Python's default thresholds (700, 10, 10) the cyclic garbage collector runs ~600 times in
# one dry run, ~15% of its CPU time (benchmarks/dry_run.py --split). Collect less often.
gc.set_threshold(20000, 10, 10)

# Every job runs `tunesafe ...`: the entry point installed next to the Python that runs
# Snakemake comes first on the jobs' PATH, so `.venv/bin/snakemake ...` works from a shell
# without the venv activated.
_BIN = os.path.dirname(sys.executable)
if os.path.isfile(os.path.join(_BIN, "tunesafe")):
    os.environ.update(PATH=os.pathsep.join([_BIN, os.environ.get("PATH", "")]))
elif (
    shutil.which("tunesafe") is None
    and not workflow.deployment_settings.deployment_method
):
    # (with --sdm conda the jobs' own environment, envs/tunesafe.yaml, provides it)
    sys.exit(
        f"no `tunesafe` entry point next to {sys.executable} or on PATH: install the project "
        "into the environment that runs Snakemake (make reproduce creates .venv), then run .venv/bin/snakemake"
    )


report: "workflow/report/workflow.rst"


# The toy study unless --configfile names another: a config file given on the command line
# replaces this default instead of being merged into it.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# The include order is the dependency order: common.smk (config, tasks, models, variants)
# first, then cluster.smk (job resources and GEN_ENV, used by every heavy rule), the input
# functions of the shared stages (stages_common.smk) and their rule files, then each arm
# (its rule file includes its own <arm>_common.smk). A file that
# registers model variants (safedelta.smk, baselines.smk) comes before mathif.smk, which
# evaluates some of them. The arms of optional config sections are included only when the
# section is set. tests/test_workflow_config.py checks that another order fails loudly.
include: "workflow/rules/common.smk"
include: "workflow/rules/process_server.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/stages_common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/toy.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/generate.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/safedelta.smk"


if "baselines" in config:  # the Safe Delta paper's baselines (optional)

    include: "workflow/rules/baselines.smk"


if "mathif" in config:  # MathIF (optional)

    include: "workflow/rules/mathif.smk"


if "rebound" in config:  # Resist Alignment (optional)

    include: "workflow/rules/rebound.smk"


if "picky" in config:  # Picky LLMs and Unreliable RMs (arXiv 2502.01116)

    include: "workflow/rules/picky.smk"


if "thinking" in config:  # When Thinking Fails (arXiv 2505.11423)

    include: "workflow/rules/thinking.smk"


include: "workflow/rules/report.smk"
include: "workflow/rules/manifest.smk"


rule all:
    default_target: True
    input:
        TABLES,
