# Compute resources of the jobs, sized from config `cluster` (see config/README.md). The
# heavy rules (fine-tuning, Safe Delta, generation, lm-eval, the weight-space baselines,
# MathIF generation, the rebound and resistance fine-tunes)
# take `resources: **job_resources("<rule>")`: GPUs, host memory as a multiple of the model's
# size, runtime, both growing with each retry (`retries:` in the profile). Every other rule
# runs on the defaults of the profile. The profiles under profiles/ decide where
# the jobs run: default (this machine), gpu (one multi-GPU node), slurm (a cluster).

CLUSTER = config["cluster"]  # every key has its schema default
# conda env of the generation rules: vLLM's (CUDA torch) when the engine is vllm
GEN_ENV = "../../envs/gpu.yaml" if config["generation"]["engine"] == "vllm" else ENV


def job_spec(rule):
    """cluster.jobs.<rule>: gpu (count), mem (multiple of model_gb), runtime (minutes)."""
    return CLUSTER["jobs"].get(rule, {})


def job_gpus(rule):
    return int(job_spec(rule).get("gpu", 0))


def job_mem_mb(rule):
    """Host memory of a heavy job, first attempt: the base plus mem x the model's weights."""
    spec = job_spec(rule)
    model_mb = CLUSTER["model_gb"] * 1024
    return int(CLUSTER["mem_mb"] + spec.get("mem", 2) * model_mb)


def job_resources(rule, gpus_of=None):
    """Snakemake resources of a heavy rule; mem_mb and runtime scale with the attempt.
    gpus_of(wildcards), when given, sizes the GPU count per job (a 32B model on more GPUs
    than a 1.5B one); it applies only when cluster.jobs.<rule> asks for GPUs at all."""
    gpus = job_gpus(rule)
    mem = job_mem_mb(rule)
    minutes = int(job_spec(rule).get("runtime", CLUSTER["runtime"]))
    res = {
        "mem_mb": lambda wildcards, attempt: mem * attempt,
        "runtime": lambda wildcards, attempt: f"{minutes * attempt}m",
        "gpu": (
            (lambda wildcards: max(gpus, int(gpus_of(wildcards))))
            if gpus and gpus_of
            else gpus
        ),
    }
    if gpus:
        res["cpus_per_gpu"] = int(CLUSTER["cpus_per_gpu"])
        if CLUSTER.get("gpu_model"):
            res["gpu_model"] = CLUSTER["gpu_model"]
    return res


def tensor_parallel(gpus):
    """vLLM tensor_parallel_size: the job's GPU count, else generation.tensor_parallel_size."""
    return gpus if gpus > 0 else config["generation"]["tensor_parallel_size"]


# --- Hugging Face cache and offline compute nodes ------------------------------------------
# cluster.hf_home: the shared HF cache every job uses (HF_HOME). cluster.offline: every job
# runs with HF_HUB_OFFLINE=1 (Slurm jobs inherit this environment); hub models are fetched
# first by download_model, a local rule on the submitting machine, at the revision in
# cluster.revisions; prepare_dataset runs there too (it reads hub datasets), so compute jobs
# only read results/. (model_input, common.smk, asks for the download marker when offline.)
if CLUSTER.get("hf_home"):
    os.environ.update(HF_HOME=os.path.abspath(os.path.expanduser(CLUSTER["hf_home"])))
OFFLINE = CLUSTER["offline"]
ONLINE = "HF_HUB_OFFLINE=0 HF_DATASETS_OFFLINE=0 " if OFFLINE else ""  # shell prefix
if OFFLINE:
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")

    localrules:
        download_model,
        prepare_dataset,
