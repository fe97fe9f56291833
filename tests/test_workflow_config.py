"""The workflow's config contract, by dry runs (no job runs): optional sections are optional,
the tables' task lists come from config, and the Snakefile's include order is a real
dependency order (another order stops the parse instead of planning something else)."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def toy_config() -> dict:
    return copy.deepcopy(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


def workdir(tmp_path: Path, snakefile: str | None = None) -> Path:
    """A run directory whose workflow files are the repository's (symlinks), with its own
    results/; ``snakefile`` replaces the Snakefile's text."""
    for item in ["workflow", "config", "resources", "envs"]:
        (tmp_path / item).symlink_to(REPO / item)
    if snakefile is None:
        (tmp_path / "Snakefile").symlink_to(REPO / "Snakefile")
    else:
        (tmp_path / "Snakefile").write_text(snakefile)
    return tmp_path


def dry_run(work: Path, config: dict | None = None, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    extra = ["--quiet", "rules"] if quiet else []
    if config is not None:
        (work / "test.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        extra += ["--configfile", "test.yaml"]
    return subprocess.run([SNAKEMAKE, "-n", *extra, *args], cwd=work,
                          capture_output=True, text=True, env=ENV)


@pytest.mark.parametrize("section", ["baselines", "mathif", "rebound", "cluster", "manifest", "threads", "seed"])
def test_a_config_without_an_optional_section_plans(tmp_path, section):
    config = toy_config()
    del config[section]
    run = dry_run(workdir(tmp_path), config)
    assert run.returncode == 0, run.stderr[-3000:]


def test_a_task_without_a_kind_is_a_one_line_config_error(tmp_path):
    config = toy_config()
    del config["finetune"]["tasks"]["aoa"]["kind"]
    run = dry_run(workdir(tmp_path), config)
    assert run.returncode != 0
    assert "config error: finetune.tasks.aoa: 'kind' is a required property" in run.stderr


def test_a_renamed_task_stays_in_its_table(tmp_path):
    config = toy_config()
    tasks = config["finetune"]["tasks"]
    config["finetune"]["tasks"] = {("aoa_renamed" if k == "aoa" else k): v for k, v in tasks.items()}
    config["baselines"]["pareto"]["x_task"] = "aoa_renamed"
    run = dry_run(workdir(tmp_path), config, "--printshellcmds", "results/tables/safedelta_harmful.csv",
                  "results/tables/safedelta_benign.csv", quiet=False)
    assert run.returncode == 0, run.stderr[-3000:]
    commands = [line for line in run.stdout.splitlines() if "tunesafe report table" in line]
    harmful = next(c for c in commands if "safedelta_harmful" in c)
    benign = next(c for c in commands if "safedelta_benign" in c)
    assert re.findall(r"--task (\w+):", harmful) == ["purebad", "aoa_renamed"]
    assert re.findall(r"--task (\w+):", benign) == ["dirty_summary", "math"]


def test_a_task_without_a_system_prompt_generates_without_the_flag(tmp_path):
    """An empty `{x:q}` renders as nothing, so `--system-prompt {x:q}` would swallow the next
    flag: with no prompt the generate and safety-mix commands leave the flag out."""
    import shlex

    config = toy_config()
    config["finetune"]["tasks"]["purebad"].pop("system_prompt", None)
    config["benchmarks"]["safety"].pop("system_prompt", None)
    run = dry_run(workdir(tmp_path), config, "--printshellcmds", "--forceall",
                  "results/generations/purebad/finetuned/safety.jsonl", "results/data/train/safeinstr/purebad.jsonl",
                  quiet=False)
    assert run.returncode == 0, run.stderr[-3000:]
    commands = [line for line in run.stdout.splitlines()
                if "tunesafe" in line and (" generate " in line or "safety-mix" in line)]
    assert len(commands) == 2, commands
    for command in commands:
        words = shlex.split(command.split("> results/logs")[0].split("tunesafe", 1)[1])
        assert "--system-prompt" not in words and words[words.index("--user-template") + 1] == "%s", command


def include_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"\s*include: ", line)]


def test_every_rule_file_is_included_once_by_the_snakefile_or_its_arm():
    def included(path: Path) -> list[str]:
        return [re.search(r'"(.+)"', line).group(1).split("/")[-1] for line in include_lines(path.read_text())]

    rules = REPO / "workflow" / "rules"
    by_snakefile = included(REPO / "Snakefile")
    by_arms = [name for path in sorted(rules.glob("*.smk")) for name in included(path)]
    assert sorted(by_snakefile + by_arms) == sorted(p.name for p in rules.glob("*.smk"))
    assert set(by_arms) == {"safedelta_common.smk", "baselines_common.smk", "mathif_common.smk", "rebound_common.smk",
                            "picky_common.smk", "thinking_common.smk"}


def moved_first(text: str, name: str) -> str:
    """The Snakefile with the include of ``name`` moved before every other include."""
    line = next(x for x in include_lines(text) if f"/{name}" in x)
    first = next(x for x in include_lines(text) if "/common.smk" in x)
    indent = line[: len(line) - len(line.lstrip())]
    stub = f"{indent}pass\n" if indent else ""  # keeps an `if section in config:` block valid
    return text.replace(line + "\n", stub, 1).replace(first, f'include: "workflow/rules/{name}"\n{first}', 1)


@pytest.mark.parametrize("name", ["cluster.smk", "generate.smk", "safedelta.smk", "baselines.smk", "mathif.smk",
                                  "report.smk"])
def test_another_include_order_stops_the_parse(tmp_path, name):
    text = moved_first((REPO / "Snakefile").read_text(), name)
    assert text != (REPO / "Snakefile").read_text()
    run = dry_run(workdir(tmp_path, text))
    assert run.returncode != 0, f"{name} included first still plans"


def test_mathif_before_the_variants_it_evaluates_stops_the_parse_naming_the_variant(tmp_path):
    text = (REPO / "Snakefile").read_text()
    mathif = next(x for x in include_lines(text) if "/mathif.smk" in x)
    safedelta = next(x for x in include_lines(text) if "/safedelta.smk" in x)
    text = text.replace(mathif + "\n", "    pass\n", 1).replace(safedelta, f"{mathif.strip()}\n{safedelta}", 1)
    run = dry_run(workdir(tmp_path, text))
    assert run.returncode != 0
    assert "config error: mathif.variants: unknown method 'safedelta'" in run.stdout + run.stderr
