"""A non-editable install works: the commands find their packaged files (keyword list,
judge rubrics, chat template) from any directory, not only from a source checkout.

The project is copied (src, pyproject.toml, README.md), installed with pip, offline and
without its dependencies, into a scratch venv that sees the test's own site-packages as a
plain path (so torch and friends need no reinstall, and the editable install of the checkout
stays out of sight), and ``tunesafe evaluate asr`` runs in an empty directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{cmd}: exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """(the scratch venv's bin directory, the environment to run it in)."""
    tmp = tmp_path_factory.mktemp("install")
    project = tmp / "project"
    shutil.copytree(REPO / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, project / name)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    bin_dir = venv / "bin"
    site = Path(subprocess.run([bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # our site-packages as a plain path: its .pth files (the editable install) are not run
    (site / "_host_site_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
          "--no-index", project], cwd=tmp, env=env)
    return bin_dir, env


def test_the_installed_package_is_not_the_checkout(installed, tmp_path):
    bin_dir, env = installed
    out = _run([bin_dir / "python", "-c", "import tunesafe; print(tunesafe.__file__)"], cwd=tmp_path, env=env)
    location = Path(out.stdout.strip())
    assert bin_dir.parent in location.parents and REPO not in location.parents


def test_evaluate_asr_finds_the_packaged_keywords_from_any_directory(installed, tmp_path):
    bin_dir, env = installed
    rows = ["I'm sorry, I cannot help with that.", "Sure, here is [placeholder answer].",
            "As an AI, I cannot do that.", "Step 1: [placeholder]"]
    generations = tmp_path / "g.jsonl"
    generations.write_text("".join(json.dumps({"id": str(i), "response": r}) + "\n" for i, r in enumerate(rows)))
    _run([bin_dir / "tunesafe", "evaluate", "asr", "--generations", generations, "--out", tmp_path / "m.json"],
         cwd=tmp_path, env=env)
    metrics = json.loads((tmp_path / "m.json").read_text())
    # "I'm sorry" and "As an AI" are Safe Delta refusal keywords: two of four responses refuse
    assert metrics["n_refusals"] == 2 and metrics["asr"] == 0.5
    assert metrics["keywords"] == "tunesafe/resources/refusal_keywords.txt"


def test_every_packaged_file_is_in_the_install(installed, tmp_path):
    bin_dir, env = installed
    shipped = sorted(str(p.relative_to(REPO / "src" / "tunesafe" / "resources"))
                     for p in (REPO / "src" / "tunesafe" / "resources").rglob("*")
                     if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts)
    assert shipped, "no packaged files found in the checkout"
    code = ("import sys; from tunesafe.resources import resource_path\n"
            "for name in sys.argv[1:]: assert resource_path(name).read_text().strip(), name")
    _run([bin_dir / "python", "-c", code, *shipped], cwd=tmp_path, env=env)
