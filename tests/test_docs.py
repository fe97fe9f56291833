"""The project's own design document: every reference to it resolves."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DESIGN = REPO / "docs" / "design.md"


def test_every_design_reference_names_docs_design_md_and_its_sections_exist():
    headings = {line[3:].strip() for line in DESIGN.read_text().splitlines() if line.startswith("## ")}
    files = [REPO / "README.md", *sorted((REPO / "src").rglob("*.py"))]
    cited = []
    for path in files:
        text = path.read_text()
        for match in re.finditer(r"(\S*)design\.md(?:, \"([^\"]+)\")?", text):
            assert match.group(1).endswith("docs/"), f"{path}: {match.group(0)!r} does not name docs/design.md"
            if match.group(2):
                assert match.group(2) in headings, f"{path}: section {match.group(2)!r} is not in docs/design.md"
            cited.append(path.name)
    assert len(set(cited)) >= 8  # the README and the modules that cite the contracts
