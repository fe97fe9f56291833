"""The papers' own numbers, read beside ours: one loader for every arm.

Tables that reproduce a paper table put the paper's values next to ours. They come from a
YAML file of the workflow (``resources/paper_numbers.yaml``, passed by the rules), named on
the command line by one flag spelling, ``--paper FILE:KEY``: the file and a dotted key into
it (``resources/paper_numbers.yaml:mathif.table3``). A missing file, a spec without a key
and a missing key are each a one-line :class:`~tunesafe.errors.TunesafeError` naming the
file and the key; leaving the flag out means no paper columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tunesafe.errors import TunesafeError


def load_paper_numbers(path: str | Path, key: str) -> Any:
    """The entry ``key`` (dotted: ``safedelta.table1``) of a paper-numbers YAML file."""
    import yaml

    if not Path(path).is_file():
        raise TunesafeError(f"{path}: paper numbers file not found (wanted its entry {key!r})")
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise TunesafeError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            raise TunesafeError(f"{path}: no entry {key!r} (missing {part!r})")
        data = data[part]
    return data


def paper_numbers(spec: str | None) -> Any:
    """The entry named by a ``--paper FILE:KEY`` spec; None when ``spec`` is empty."""
    if not spec:
        return None
    path, sep, key = spec.rpartition(":")
    if not sep or not path or not key:
        raise TunesafeError(f"--paper {spec!r}: expected FILE:KEY (e.g. resources/paper_numbers.yaml:mathif.table3)")
    return load_paper_numbers(path, key)
