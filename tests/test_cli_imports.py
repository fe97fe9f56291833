"""Light commands start without torch: data preparation, keyword ASR, ROUGE-1 and the
heuristic judge run as hundreds of Snakemake jobs, each a new process, so an import of torch
or transformers (~2-3 s) in any of them is paid hundreds of times (issue 15).

Each case runs the real command in a fresh interpreter on small files and then looks at
``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "peft", "vllm", "datasets", "lm_eval")

RUN_AND_REPORT = """
import json, sys
from tunesafe.cli import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    if e.code not in (0, None):
        raise
print(json.dumps(sorted(m for m in {heavy} if m in sys.modules)))
"""


def run_light(args: list[str]) -> list[str]:
    code = RUN_AND_REPORT.format(heavy=repr(HEAVY))
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def generations(tmp_path):
    path = tmp_path / "gen.jsonl"
    rows = [{"id": str(i), "messages": [{"role": "user", "content": "Summarize: a b c"}],
             "response": text, "reference": "a b c"} for i, text in enumerate(["I cannot help.", "a b c"])]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_data_prepare_imports_no_torch(tmp_path):
    out = tmp_path / "hexphi.jsonl"
    assert run_light(["data", "prepare", "--source", "toy", "--name", "hexphi", "--n", "3", "--out", str(out)]) == []
    assert len(out.read_text().splitlines()) == 3


@pytest.mark.parametrize("metric", ["asr", "rouge1"])
def test_cheap_metrics_import_no_torch(tmp_path, generations, metric):
    out = tmp_path / f"{metric}.json"
    assert run_light(["evaluate", metric, "--generations", str(generations), "--out", str(out)]) == []
    assert json.loads(out.read_text())["n"] == 2


def test_help_of_every_group_imports_no_torch():
    for group in ["data", "evaluate", "report", "generate", "train", "safedelta"]:
        assert run_light([group, "--help"]) == [], group
