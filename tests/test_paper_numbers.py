"""One paper-numbers loader for every arm, one flag spelling (--paper FILE:KEY), one error
behaviour: a missing file, a spec without a key or a missing key is one line naming both."""

from __future__ import annotations

import pytest

from tunesafe.cli import main
from tunesafe.errors import TunesafeError
from tunesafe.report.paper import paper_numbers

NUMBERS = "mathif:\n  table3:\n    org/m: {hacc: 44.05}\nsafedelta:\n  table1:\n    purebad: {original: {ASR: 1.2}}\n"


@pytest.fixture
def numbers(tmp_path):
    path = tmp_path / "paper.yaml"
    path.write_text(NUMBERS)
    return path


def test_a_dotted_key_reads_the_entry(numbers):
    assert paper_numbers(f"{numbers}:mathif.table3") == {"org/m": {"hacc": 44.05}}
    assert paper_numbers(f"{numbers}:safedelta.table1.purebad") == {"original": {"ASR": 1.2}}
    assert paper_numbers(None) is None and paper_numbers("") is None  # no flag: no paper columns


@pytest.mark.parametrize("spec,message", [
    ("{numbers}:mathif.table9", r"paper\.yaml: no entry 'mathif\.table9' \(missing 'table9'\)"),
    ("{numbers}:rebound", r"paper\.yaml: no entry 'rebound' \(missing 'rebound'\)"),
    ("{numbers}:mathif.table3.org/m.hacc.x", r"no entry 'mathif\.table3\.org/m\.hacc\.x' \(missing 'x'\)"),
    ("{numbers}", r"--paper '.*paper\.yaml': expected FILE:KEY"),
    ("{numbers}:", r"expected FILE:KEY"),
    ("{bad}:mathif", r"bad\.yaml: not valid YAML"),
    ("{missing}:mathif.table3", r"nope\.yaml: paper numbers file not found \(wanted its entry 'mathif\.table3'\)"),
])
def test_every_failure_is_one_line_naming_the_file_and_the_key(numbers, spec, message):
    with pytest.raises(TunesafeError, match=message) as e:
        bad = numbers.parent / "bad.yaml"
        bad.write_text("mathif: [unclosed\n")
        paper_numbers(spec.format(numbers=numbers, missing=numbers.parent / "nope.yaml", bad=bad))
    assert "\n" not in str(e.value)


def test_the_mathif_report_fails_on_a_missing_paper_file_instead_of_leaving_the_columns_empty(tmp_path, capsys):
    code = main(["report", "mathif", "--root", str(tmp_path), "--model", "m=org/m",
                 "--paper", f"{tmp_path / 'nope.yaml'}:mathif.table3", "--tables", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "nope.yaml" in err and len(err.splitlines()) == 1
