"""Reading a dataset in its real format: local files (a file, or the matching files of a
directory in natural order) or Hugging Face datasets, each row converted to a chat record
by its format (:mod:`tunesafe.data.formats`, where the formats are described).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunesafe.data.formats import get_format
from tunesafe.errors import TunesafeError
from tunesafe.io import read_json, read_jsonl, require_file


def _natural_key(path: Path) -> list[Any]:
    """Sort key that puts category_2 before category_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _json_rows(path: Path) -> list[tuple[int, Any]]:
    """Rows of a JSON list or a JSONL file, each with its 1-based line number."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.lstrip().startswith("["):
        rows = read_jsonl(path)  # skips blank lines, so number the non-blank ones alike
        linenos = [n for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
        return list(zip(linenos, rows, strict=True))
    items = read_json(path)  # parses and reports errors; the walk below finds the lines
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    line, counted, out = 1, 0, []
    for item in items:
        while text[pos] in " \t\n,":
            pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        _, pos = decoder.raw_decode(text, pos)
        out.append((line, item))
    return out


def _nonblank_csv(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of the non-blank rows of a CSV file."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        for fields in reader:
            if any(field.strip() for field in fields):
                yield reader.line_num, fields


def _csv_rows(path: Path) -> list[tuple[int, Any]]:
    """Non-blank rows of a headerless CSV as ``{"prompt", "category", "row"}``."""
    out = []
    for line, fields in _nonblank_csv(path):
        out.append((line, {"prompt": fields[0], "category": path.stem, "row": len(out)}))
    return out


def _advbench_rows(path: Path) -> list[tuple[int, Any]]:
    """AdvBench rows as ``{"goal", "target", "row"}``; a first row ``goal,target`` is the header."""
    out = []
    for line, fields in _nonblank_csv(path):
        if line == 1 and [x.strip().lower() for x in fields[:2]] == ["goal", "target"]:
            continue
        target = fields[1] if len(fields) > 1 else ""
        out.append((line, {"goal": fields[0], "target": target, "row": len(out)}))
    return out


def load_file(path: str | os.PathLike, fmt: str) -> list[dict[str, Any]]:
    """Load the records of a file, or of the matching files of a directory (in natural order)."""
    form = get_format(fmt)
    path = require_file(path)
    if path.is_dir():
        files = sorted({p for pattern in form.patterns for p in path.glob(pattern)}, key=_natural_key)
        if not files:
            raise TunesafeError(f"{path}: no {' or '.join(form.patterns)} files (expected {form.description})")
    else:
        files = [path]
    records = []
    for file in files:
        readers = {"csv": _csv_rows, "advbench": _advbench_rows}
        rows = readers.get(form.reader, _json_rows)(file)
        for lineno, row in rows:
            record = form.convert(row, len(records), f"{file}:{lineno}")
            record["meta"]["format"] = form.name
            records.append(record)
    if not records:
        raise TunesafeError(f"{path}: no records (expected at least one row: {form.description})")
    return records


def load_hf(dataset_id: str, fmt: str, config: str | None = None, split: str = "train",
            revision: str | None = None, data_files: Any = None) -> list[dict[str, Any]]:
    """Load a dataset with ``datasets.load_dataset`` and convert its rows with ``fmt``.

    ``dataset_id`` is a Hugging Face id (``openai/gsm8k``) or a builder name (``json``,
    ``csv``) used with local ``data_files``. HEx-PHI (``hexphi_csv``) is fetched with
    ``huggingface_hub.snapshot_download`` and read as a directory of CSV files.
    """
    form = get_format(fmt)
    if form.reader == "csv":
        from huggingface_hub import snapshot_download

        try:
            directory = snapshot_download(dataset_id, repo_type="dataset", revision=revision,
                                          allow_patterns=data_files)
        except OSError as e:  # every huggingface_hub error is an OSError
            raise _load_error(dataset_id, e) from None
        return load_file(directory, fmt)

    dataset = hf_dataset(dataset_id, config, split=split, revision=revision, data_files=data_files)
    records = []
    for i, row in enumerate(dataset):
        record = form.convert(row, i, f"hf:{dataset_id}[{split}]:row {i + 1}")
        record["meta"]["format"] = form.name
        records.append(record)
    if not records:
        raise TunesafeError(f"hf:{dataset_id}[{split}]: no records (expected at least one row: {form.description})")
    return records


def hf_dataset(dataset_id: str, config: str | None = None, split: str = "train", revision: str | None = None,
               data_files: Any = None):
    """``datasets.load_dataset`` of one split; a dataset that cannot be found, reached or built
    is a one-line error naming it (every arm's Hugging Face loader goes through here)."""
    import datasets
    from datasets.exceptions import DatasetsError

    try:
        return datasets.load_dataset(dataset_id, config, split=split, revision=revision, data_files=data_files)
    except (OSError, ValueError, DatasetsError) as e:
        raise _load_error(dataset_id, e) from None


def _load_error(dataset_id: str, e: Exception) -> TunesafeError:
    """A one-line error for a dataset that could not be found, reached or built."""
    reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return TunesafeError(f"hf:{dataset_id}: could not load the dataset ({reason}); expected a Hugging Face "
                         "dataset id you can access (check the spelling, gated access and network)")
