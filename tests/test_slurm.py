"""The toy study through a real single-node Slurm, with the workflow's slurm profile.

The fixture starts munged, slurmctld and slurmd on this machine (tests/slurm/start_slurm.sh:
Debian packages installed when missing, a minimal slurm.conf with select/cons_tres, no
accounting database, so the executor polls with squeue) and stops every daemon it started.
The test runs one sub-target that covers data preparation, fine-tuning, the Safe Delta
Hessian and Safe Delta, generation and keyword evaluation once locally and once as sbatch
jobs (`--profile profiles/slurm`), and checks that the two runs wrote equal files:
the toy study is seeded, so a job's result must not depend on where it ran.

Skipped, with the reason, only where Slurm cannot be set up: not root, or no Slurm and no
apt-get to install it (or its install failed), or a foreign /etc/slurm/slurm.conf.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
# the rules call `tunesafe`: the one next to this Python; jobs inherit this environment
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
TARGET = "results/metrics/purebad/safedelta/safety.json"
# Where the toy world lives: built locally once, copied into the Slurm run's directory.
TOY_WORLD = ["results/models/toy", "results/data/toy"]
# Slurm bookkeeping and timings differ between runs by nature; everything else must not.
NOT_COMPARED = ("results/logs/", "results/benchmarks/", "results/checkpoints/")


def tiny_toy_config() -> dict:
    """config.yaml shrunk until one fine-tune + Safe Delta + evaluation takes seconds; one
    thread per job, so two Slurm jobs share the 2-core node."""
    config = copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    config["threads"] = 1
    toy = config["toy"]
    toy.update(vocab_size=300, corpus={"base_corpus": 200, "alignment": 100, "lexicon": 60},
               model={"hidden_size": 32, "num_layers": 1, "num_heads": 2, "intermediate_size": 64,
                      "max_position_embeddings": 128})
    toy["base_training"].update(epochs=1, max_length=96)
    toy["aligned_training"].update(epochs=1, max_length=96)
    for name, n in {"purebad": 20, "hexphi": 16, "harmful_prompts": 16}.items():
        config["datasets"][name]["n"] = n
    config["benchmarks"]["safety"]["sampling"]["max_new_tokens"] = 16
    config["finetune"]["defaults"]["max_length"] = 96
    config["finetune"]["tasks"]["purebad"]["train"]["epochs"] = 1
    config["safedelta"].update(nsamples=8, max_length=96, answer_max_new_tokens=16)
    return config


def scratch_copy(work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    for item in ["Snakefile", "workflow", "config", "resources", "envs"]:
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    (work / "tiny.yaml").write_text(yaml.safe_dump(tiny_toy_config(), sort_keys=False))
    return work


def result_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "results").rglob("*"))
        if p.is_file() and not str(p.relative_to(root)).startswith(NOT_COMPARED)
    }


def test_an_environment_that_cannot_be_set_up_skips_but_fails_under_ci(unavailable, monkeypatch):
    """The rule the Slurm and report tests follow when their install fails."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get failed.*CI=true"):
        unavailable("apt-get failed")
    for value in ("", "false"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.skip.Exception, match="apt-get failed"):
            unavailable("apt-get failed")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        unavailable("apt-get failed")


@pytest.fixture(scope="module")
def slurm_cluster(unavailable):
    """A running single-node Slurm; stops the daemons it started afterwards. Without root or
    apt-get it skips; a failed install or a foreign slurm.conf skips too, but fails under CI=true."""
    if os.geteuid() != 0:
        pytest.skip("the real-Slurm test needs root (munged, slurmctld, slurmd)")
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        pytest.skip("Slurm is not installed and apt-get is unavailable to install it")
    start = subprocess.run(["bash", str(REPO / "tests" / "slurm" / "start_slurm.sh")],
                           capture_output=True, text=True)
    try:
        if start.returncode == 2:  # no root (checked above; the script checks again)
            pytest.skip(start.stderr.strip())
        if start.returncode == 3:  # apt-get install failed / a foreign slurm.conf
            unavailable(start.stderr.strip())
        assert start.returncode == 0, start.stderr[-3000:]
        yield
    finally:
        subprocess.run(["bash", str(REPO / "tests" / "slurm" / "stop_slurm.sh")], capture_output=True)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """The sub-target built locally (default profile), the reference for the Slurm run."""
    local = scratch_copy(tmp_path_factory.mktemp("local"))
    run = subprocess.run([SNAKEMAKE, TARGET, "--cores", "2", "--configfile", "tiny.yaml"], cwd=local,
                         capture_output=True, text=True, env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    return local


@pytest.mark.workflow
def test_the_slurm_profile_runs_the_study_and_matches_a_local_run(slurm_cluster, local_run, tmp_path):
    local = local_run
    cluster = scratch_copy(tmp_path / "slurm")
    for part in TOY_WORLD:
        shutil.copytree(local / part, cluster / part)  # copytree keeps mtimes: nothing to rebuild
    run = subprocess.run(
        [SNAKEMAKE, TARGET, "--profile", str(REPO / "profiles" / "slurm"), "--configfile", "tiny.yaml",
         "--jobs", "4", "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
         "--slurm-keep-successful-logs"],
        cwd=cluster, capture_output=True, text=True, env=ENV, timeout=900)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    out = run.stdout + run.stderr
    assert "has been submitted with SLURM jobid" in out

    # every rule of the sub-target ran as an sbatch job (the plugin's per-job logs)
    slurm_logs = {p.name.removeprefix("rule_") for p in (cluster / "results" / "logs" / "slurm").iterdir()}
    assert {"prepare_dataset", "finetune_set", "finetune", "safety_set_answers", "safety_set", "safedelta_hessian",
            "safedelta", "generate", "evaluate"} <= slurm_logs
    assert not {"toy_base", "toy_aligned"} & slurm_logs

    local_files, cluster_files = result_files(local), result_files(cluster)
    assert set(cluster_files) == set(local_files)
    assert TARGET in cluster_files and "results/models/safedelta/purebad/s3.0/model.safetensors" in cluster_files
    differing = [name for name in local_files if local_files[name] != cluster_files[name]]
    assert not differing, f"Slurm and local runs differ in {differing}"


# --- partial reruns (README "Running parts of the study"), as dry runs on the local build -----


def planned(work: Path, *args: str, config: dict | None = None) -> list[str]:
    """Rules a dry run would run, one entry per job."""
    configfile = "tiny.yaml"
    if config is not None:
        configfile = "changed.yaml"
        (work / configfile).write_text(yaml.safe_dump(config, sort_keys=False))
    run = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", *args, "--configfile", configfile], cwd=work,
                         capture_output=True, text=True, env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    return sorted(m.group(1) for line in run.stdout.splitlines()
                  if (m := re.match(r"(?:local)?rule (\w+):", line)))


@pytest.mark.workflow
def test_a_built_target_has_nothing_to_do(local_run):
    assert planned(local_run, TARGET) == []


@pytest.mark.workflow
def test_rerun_one_rule_and_what_depends_on_it(local_run):
    assert planned(local_run, TARGET, "-R", "safedelta") == ["evaluate", "generate", "safedelta"]
    # --until: the rule and nothing downstream
    assert planned(local_run, TARGET, "-R", "safedelta", "--until", "safedelta") == ["safedelta"]
    assert planned(local_run, TARGET, "-R", "finetune", "--until", "finetune") == ["finetune"]


@pytest.mark.workflow
def test_a_target_path_runs_one_task_model_and_benchmark(local_run):
    # the fine-tuned model exists: its evaluation needs only generation and scoring
    assert planned(local_run, "results/metrics/purebad/finetuned/safety.json") == ["evaluate", "generate"]
    assert planned(local_run, "results/metrics/purebad/original/safety.json") == ["evaluate", "generate"]
    assert planned(local_run, "results/data/aoa.jsonl") == ["prepare_dataset"]


@pytest.mark.workflow
def test_a_changed_config_value_reruns_only_the_affected_rules(local_run):
    config = yaml.safe_load((local_run / "tiny.yaml").read_text())
    sampling = copy.deepcopy(config)
    sampling["benchmarks"]["safety"]["sampling"]["max_new_tokens"] = 8
    assert planned(local_run, TARGET, config=sampling) == ["evaluate", "generate"]
    training = copy.deepcopy(config)
    training["finetune"]["tasks"]["purebad"]["train"]["lr"] = 1.0e-4
    assert planned(local_run, TARGET, config=training) == ["evaluate", "finetune", "generate", "safedelta"]
    hessian = copy.deepcopy(config)
    hessian["safedelta"]["max_length"] = 64
    assert planned(local_run, TARGET, config=hessian) == ["evaluate", "generate", "safedelta", "safedelta_hessian"]
    scale = copy.deepcopy(config)  # a new s is a new output path: Safe Delta and what follows
    scale["safedelta"]["scale"] = 2.0
    assert planned(local_run, "results/metrics/purebad/safedelta/safety.json", config=scale) == [
        "evaluate", "generate", "safedelta"]
