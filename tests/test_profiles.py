"""Profiles (profiles/), job resources sized from config `cluster`, the GPU slot
allocator and the multi-GPU launch command.

The paper study is planned with the slurm profile (a dry run: no cluster needed) and every
planned job's resources are read from Snakemake's job listing: GPUs only on the GPU rules,
memory and runtime from config, more of both on a retry.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tunesafe.cluster import gpus, launch
from tunesafe.errors import TunesafeError

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
GPU_RULES = {"finetune", "safety_set_answers", "safedelta_hessian", "safedelta", "generate", "evaluate_lm_eval",
             "safelora", "mathif_generate", "rebound_positive", "rebound_negative", "rebound_evaluate",
             "resistance_slices", "resistance_responses", "resistance_train", "picky_finetune", "picky_generate",
             "mathif_grpo", "thinking_generate", "thinking_attention"}


def planned_jobs(*args: str) -> list[dict]:
    """Jobs of a dry run: rule, resources (dict) and shell command, from Snakemake's listing."""
    run = subprocess.run([SNAKEMAKE, "-n", "--printshellcmds", *args], cwd=REPO, capture_output=True, text=True,
                         env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    jobs, in_shell = [], False
    for line in run.stdout.splitlines():
        # a quoted argument with newlines, blank lines too (the AOA system prompt, Math's template)
        if in_shell and not re.match(r"\[|(local)?rule \w+:|Job stats", line):
            jobs[-1]["shell"] += "\n" + line
            continue
        in_shell = False
        if m := re.match(r"(?:local)?rule (\w+):", line):
            jobs.append({"rule": m.group(1), "resources": {}, "shell": ""})
        elif line.strip().startswith("resources:") and jobs:
            for item in line.split(":", 1)[1].split(", "):
                key, _, value = item.strip().partition("=")
                jobs[-1]["resources"][key] = value
        elif jobs and "tunesafe " in line and not jobs[-1]["shell"]:
            jobs[-1]["shell"] = line.removeprefix("Shell command:").strip()
            in_shell = True
    return jobs


@pytest.fixture(scope="module")
def paper_plan() -> list[dict]:
    return planned_jobs("--configfile", "config/paper.yaml", "--profile", "profiles/slurm")


def test_the_paper_study_asks_for_gpus_on_the_gpu_rules_only(paper_plan):
    assert len(paper_plan) > 100
    with_gpu = {j["rule"] for j in paper_plan if int(j["resources"].get("gpu", 0)) > 0}
    assert with_gpu == GPU_RULES - {"safety_set_answers"}  # the paper config uses a ready safety set
    for job in paper_plan:
        res = job["resources"]
        if job["rule"] in GPU_RULES:
            assert int(res["gpu"]) >= 1 and int(res["cpus_per_gpu"]) == 8, job
            assert f"--gpus {res['gpu']} " in job["shell"], job["shell"]
            assert "tasks" not in res, "tasks would become --ntasks-per-gpu (one vLLM job started n times)"
        else:
            assert int(res.get("gpu", 0)) == 0 and "cpus_per_gpu" not in res, job


def test_resources_are_sized_from_the_config(paper_plan):
    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())["cluster"]
    first = {j["rule"]: j["resources"] for j in reversed(paper_plan)}
    finetune = first["finetune"]
    assert int(finetune["gpu"]) == 2
    assert int(finetune["mem_mb"]) == int(config["mem_mb"] + 4 * config["model_gb"] * 1024)
    assert int(finetune["runtime"]) == 240  # minutes
    assert int(first["safedelta"]["runtime"]) == 120
    assert int(first["prepare_dataset"]["mem_mb"]) == 4000  # profile default-resources
    generate = [j for j in paper_plan if j["rule"] == "generate"][0]
    assert "--tensor-parallel-size 1 " in generate["shell"]
    # MathIF: a model's GPUs follow mathif.tensor_parallel_size, and vLLM uses them all
    mathif = {j["shell"].split("--model ")[1].split()[0]: j for j in paper_plan if j["rule"] == "mathif_generate"}
    assert int(mathif["deepseek-ai/DeepSeek-R1-Distill-Llama-70B"]["resources"]["gpu"]) == 4
    assert "--tensor-parallel-size 4 " in mathif["deepseek-ai/DeepSeek-R1-Distill-Llama-70B"]["shell"]
    assert int(mathif["Qwen/Qwen3-0.6B"]["resources"]["gpu"]) == 1
    assert int(first["rebound_positive"]["gpu"]) == 2


def test_a_retry_gets_more_memory_and_time():
    # the rule files' callables and the profile's expressions take the attempt number
    # (the config as the workflow sees it: the schema's defaults filled in)
    namespace = {"config": {"cluster": {"model_gb": 10, "mem_mb": 1000, "runtime": 30, "cpus_per_gpu": 8,
                                        "offline": False,
                                        "jobs": {"finetune": {"gpu": 2, "mem": 3, "runtime": 100}}},
                            "generation": {"engine": "hf", "tensor_parallel_size": 1}}, "ENV": "envs/tunesafe.yaml"}
    code = (REPO / "workflow" / "rules" / "cluster.smk").read_text().split("# --- Hugging Face")[0]
    exec(compile(code, "cluster.smk", "exec"), namespace)  # its Python part: the resource functions
    res = namespace["job_resources"]("finetune")
    assert res["mem_mb"](None, 1) == 1000 + 3 * 10 * 1024 and res["mem_mb"](None, 2) == 2 * res["mem_mb"](None, 1)
    assert res["runtime"](None, 1) == "100m" and res["runtime"](None, 3) == "300m"
    assert namespace["job_resources"]("generate")["gpu"] == 0  # not listed: CPU
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.v8+.yaml").read_text())
    assert profile["retries"] >= 1 and "attempt" in str(profile["default-resources"]["mem_mb"])
    assert profile["executor"] == "slurm" and profile["rerun-incomplete"] and profile["keep-going"]


def test_partition_and_account_come_from_the_environment():
    env = {**ENV, "TUNESAFE_SLURM_PARTITION": "gpu_a100", "TUNESAFE_SLURM_ACCOUNT": "lab42"}
    run = subprocess.run([SNAKEMAKE, "-n", "--profile", "profiles/slurm", "results/data/purebad.jsonl"],
                         cwd=REPO, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "slurm_partition=gpu_a100" in run.stdout and "slurm_account=lab42" in run.stdout


def test_the_toy_study_asks_for_no_gpu():
    jobs = planned_jobs("--profile", "profiles/slurm", "results/metrics/purebad/safedelta/safety.json")
    assert jobs and all(int(j["resources"].get("gpu", 0)) == 0 for j in jobs)


def test_every_profile_is_in_the_snakemake_9_format():
    for name in ["default", "gpu", "slurm"]:
        profile = yaml.safe_load((REPO / "profiles" / name / "config.v8+.yaml").read_text())
        assert profile.get("rerun-incomplete") is True
    assert yaml.safe_load((REPO / "profiles/gpu/config.v8+.yaml").read_text())["resources"]["gpu"] >= 1


# --- GPU slots (tunesafe.cluster.gpus) ---------------------------------------------------------


def test_slots_are_exclusive_and_free_again_when_released(tmp_path):
    try:
        assert gpus.acquire(2, 4, tmp_path) == [0, 1]
        # another process cannot take the held devices: it gets the next free ones
        code = ("from tunesafe.cluster import gpus; "
                f"print(gpus.acquire(2, 4, {str(tmp_path)!r}, timeout=0))")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
        assert other.stdout.strip() == "[2, 3]", other.stderr
        blocked = subprocess.run([sys.executable, "-c", code.replace("acquire(2, 4", "acquire(3, 4")],
                                 capture_output=True, text=True, env=ENV)
        assert blocked.returncode != 0 and "no 3 free GPU slot(s)" in blocked.stderr
    finally:
        gpus.release()
    assert gpus.acquire(4, 4, tmp_path, timeout=0) == [0, 1, 2, 3]
    gpus.release()


def test_assign_sets_cuda_visible_devices_and_respects_a_scheduler(tmp_path):
    environ = {"TUNESAFE_NODE_GPUS": "3", "TUNESAFE_GPU_LOCKS": str(tmp_path)}
    try:
        assert gpus.assign(2, environ) == "0,1" and environ["CUDA_VISIBLE_DEVICES"] == "0,1"
        slurm = {"TUNESAFE_NODE_GPUS": "3", "TUNESAFE_GPU_LOCKS": str(tmp_path), "CUDA_VISIBLE_DEVICES": "5"}
        assert gpus.assign(1, slurm) is None and slurm["CUDA_VISIBLE_DEVICES"] == "5"
        assert gpus.assign(0, {"TUNESAFE_GPU_LOCKS": str(tmp_path)}) is None
        with pytest.raises(TunesafeError, match="--gpus 4: this node has 3"):
            gpus.acquire(4, 3, tmp_path)
    finally:
        gpus.release()


def test_a_killed_job_leaves_no_slot_taken(tmp_path):
    code = f"from tunesafe.cluster import gpus; gpus.acquire(1, 1, {str(tmp_path)!r}); import os; os._exit(9)"
    subprocess.run([sys.executable, "-c", code], env=ENV)
    assert gpus.acquire(1, 1, tmp_path, timeout=0) == [0]
    gpus.release()


def test_the_cli_takes_gpu_slots_before_the_stage_runs(tmp_path):
    env = {**ENV, "TUNESAFE_NODE_GPUS": "2", "TUNESAFE_GPU_LOCKS": str(tmp_path)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    code = ("import os, sys; from tunesafe import cli; "
            "sys.argv = ['tunesafe', '--gpus', '2', 'evaluate', 'asr', '--generations', 'missing.jsonl', '--out', 'x']; "
            "import atexit; atexit.register(lambda: print('CVD', os.environ.get('CUDA_VISIBLE_DEVICES'))); cli.main()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "CVD 0,1" in run.stdout, run.stderr[-2000:]


# --- several GPUs per job (tunesafe.cluster.launch) ----------------------------------------


def test_a_multi_gpu_full_finetune_runs_under_accelerate_with_fsdp():
    argv = ["--gpus", "2", "train", "sft", "--model", "m", "--data", "d.jsonl", "--out", "o"]
    cmd = launch.accelerate_command(argv, 2, full=True)
    assert cmd[1:3] == ["-m", "accelerate.commands.launch"] and cmd[cmd.index("--num_processes") + 1] == "2"
    assert "--use_fsdp" in cmd and cmd[cmd.index("--fsdp_sharding_strategy") + 1] == "FULL_SHARD"
    assert cmd[-len(argv) - 2:] == ["-m", "tunesafe.cli", *argv]
    lora = launch.accelerate_command(argv, 4, full=False)
    assert "--use_fsdp" not in lora and "--multi_gpu" in lora
    assert launch.is_full_finetune('{"method": "full"}') and not launch.is_full_finetune('{"method": "lora"}')
    assert launch.under_launcher({"LOCAL_RANK": "0"}) and not launch.under_launcher({})


# --- conda envs (envs/*.yaml, --sdm conda) ---------------------------------------------------


def test_conda_envs_pin_versions_within_pyproject_and_agree_with_each_other():
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    ranges = {Requirement(r).name: Requirement(r).specifier
              for r in project["dependencies"] + project["optional-dependencies"]["gpu"]}
    pins = {}
    for env in sorted((REPO / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        assert "-e ../" in pip, env
        for line in pip:
            if "==" in line:
                name, version = line.split("==")
                assert name in ranges, f"{env.name}: {name} is not a dependency in pyproject.toml"
                assert ranges[name].contains(version), f"{env.name}: {line} outside pyproject's {ranges[name]}"
                assert pins.setdefault(name, version) == version, f"{env.name}: {name} pinned differently"
    assert "vllm" in pins and "torch" in pins
    assert "GEN_ENV" in (REPO / "workflow" / "rules" / "generate.smk").read_text()


# --- shared HF cache, offline compute jobs (cluster.hf_home, cluster.offline) -----------------


def test_offline_plans_a_local_download_before_the_jobs_that_need_the_hub_model(tmp_path):
    config = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    config["cluster"].update(offline=True, hf_home=str(tmp_path / "hf"), revisions={"aligned": "main"})
    (tmp_path / "offline.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run = subprocess.run([SNAKEMAKE, "results/models/finetuned/purebad", "-n", "--configfile",
                          str(tmp_path / "offline.yaml"), "--profile", "profiles/slurm"],
                         cwd=REPO, capture_output=True, text=True, env=ENV)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "rule download_model:" in run.stdout
    finetune = run.stdout.split("rule finetune:")[1].split("\n\n")[0]
    assert "input: results/downloads/aligned.json" in finetune  # the fine-tune waits for the download
    online = subprocess.run([SNAKEMAKE, "results/models/finetuned/purebad", "-n", "--configfile", "config/paper.yaml"],
                            cwd=REPO, capture_output=True, text=True, env=ENV)
    assert online.returncode == 0 and "download_model" not in online.stdout


def test_download_records_the_resolved_commit(tmp_path):
    from tunesafe.cluster.download import download_model

    calls = []

    def fake_snapshot_download(repo_id, revision, allow_patterns):
        calls.append((repo_id, revision))
        return str(tmp_path / "hub" / "models--org--m" / "snapshots" / "0123abc")

    record = download_model("org/m", "v1.0", tmp_path / "m.json", snapshot_download=fake_snapshot_download)
    assert calls == [("org/m", "v1.0")] and record["commit"] == "0123abc"
    assert json.loads((tmp_path / "m.json").read_text())["revision"] == "v1.0"

    def failing(**kwargs):
        raise OSError("offline")

    with pytest.raises(TunesafeError, match="download of org/m at revision main failed: OSError: offline"):
        download_model("org/m", None, tmp_path / "n.json", snapshot_download=failing)
    assert not (tmp_path / "n.json").exists()


def test_the_default_profile_applies_to_every_run_and_agrees_with_the_others():
    run = subprocess.run([SNAKEMAKE, "-n", "results/data/purebad.jsonl"], cwd=REPO, capture_output=True, text=True,
                         env=ENV)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "workflow specific profile profiles/default" in run.stdout + run.stderr
    # its keys override a --profile's: each must have the same value there, or be absent there
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.v8+.yaml").read_text())
    for name in ["gpu", "slurm"]:
        other = yaml.safe_load((REPO / "profiles" / name / "config.v8+.yaml").read_text())
        assert {k: v for k, v in default.items() if k in other} == {k: other[k] for k in default if k in other}
