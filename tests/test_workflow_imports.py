"""The workflow's parse stays light: every `snakemake` call (each dry run, each run) parses
the Snakefile and its includes, so a package module the rule files import must not pull in
torch, transformers or pandas (issue 15: the paper config's dry run).

The test collects the one-line import statements of the Snakefile and every rule file (the
package's and any other), runs them in a fresh interpreter and looks at ``sys.modules``; it
also checks that the collection found imports the rule files are known to have, so a change in
how they are written cannot turn this test into one that checks nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "peft", "vllm", "datasets", "lm_eval", "pandas", "matplotlib")
IMPORT = re.compile(r"^\s*((?:from [\w.]+ import [\w, ]+)|(?:import [\w., ]+))\s*(?:#.*)?$")


def rule_imports() -> list[str]:
    files = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
    return sorted({m.group(1) for f in files for line in f.read_text().splitlines() if (m := IMPORT.match(line))})


def test_rule_files_import_no_heavy_module():
    imports = rule_imports()
    # the imports every config needs (Snakefile, common.smk) and the rebound arm's (pandas
    # lived there)
    assert "from snakemake.utils import min_version" in imports
    assert "from tunesafe.config import validate_config" in imports
    assert "from tunesafe.rebound.resistance import PAIRS, pair" in imports
    code = "\n".join(imports) + f"\nimport json, sys\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
