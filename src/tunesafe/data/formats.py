"""Loaders for datasets in their real formats, turning each row into a chat record.

A chat record is ``{"id", "messages": [{"role", "content"}, ...], "meta", "reference"?}``
(docs/design.md, "Data contracts"); every record gets ``meta["format"]``, the format's name.

Formats (see ``FORMATS``):

- ``messages``: JSONL, one ``{"messages": [...]}`` per line, the OpenAI fine-tuning format.
  PureBad (Qi et al. 2023; the real 100 examples are gated on Hugging Face,
  ``Unispac/shallow-vs-deep-safety-alignment-dataset``, ``data/tasks/pure_bad100.jsonl``)
  and the gpt-3.5 version of Identity Shift (AOA) come this way. Optional ``id`` and
  ``meta`` are kept.
- ``aoa_json``: one JSON file that is a list of conversations, each a list of
  ``{role, content}`` turns starting with a system turn: Identity Shift (AOA) for Llama-2,
  ``llama2/ft_datasets/aoa_dataset/train.json`` of LLM-Tuning-Safety/LLMs-Finetuning-Safety.
- ``samsum``: ``{id, dialogue, summary}`` rows, as a JSON list or JSONL (Hugging Face
  ``knkarthick/samsum``). The user asks for a summary of the dialogue; the summary is the
  assistant turn and the reference.
- ``gsm8k``: ``{question, answer}`` rows whose answer ends with ``#### <number>``
  (Hugging Face ``openai/gsm8k``, config ``main``). The number, without commas, is the
  reference.
- ``instruction_output``: ``{instruction, output}`` items (JSON list or JSONL), as Safe
  Delta's safety set ``llama2/safedelta/data/other_self_gen.json`` (the aligned model's own
  answers to harmful instructions).
- ``hexphi_csv``: HEx-PHI (Hugging Face ``LLM-Tuning-Safety/HEx-PHI``, gated): CSV files
  ``category_1.csv`` ... ``category_11.csv`` without a header, one prompt per row. Records
  have a user turn only; the file's stem is ``meta["category"]``.

- ``advbench_csv``: AdvBench's harmful behaviours (Zou et al. 2023, 520 rows):
  ``harmful_behaviors.csv`` of llm-attacks (header ``goal,target``), or the headerless
  one-column copy in LLM-Tuning-Safety/LLMs-Finetuning-Safety
  (``llama2/safety_evaluation/data/harmful_behaviors.csv``). The user turn is the goal; the
  target string, when present, is ``meta["target"]``.

- ``mtbench``: ``{question_id, category, turns: [str, str], reference?: [str, str]}`` per
  JSONL line: the 80 MT-Bench questions (FastChat ``llm_judge/data/mt_bench/question.jsonl``).
  The record holds the first user turn; ``meta["turns"]`` all of them, and
  ``meta["references"]`` the reference answers where the file has them.

``load_file`` reads a local file (or a directory of them); ``load_hf`` loads by Hugging Face
id, or from local files through a ``datasets`` builder such as ``"json"``.
"""

from __future__ import annotations

import csv
import difflib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunesafe.data.records import make_record, validate_messages
from tunesafe.errors import TunesafeError
from tunesafe.io import read_json, read_jsonl, require_file


@dataclass(frozen=True)
class Format:
    name: str
    description: str  # what one row must look like
    convert: Callable[[Any, int, str], dict[str, Any]]  # (row, index, where) -> record
    patterns: tuple[str, ...]  # the files read from a directory
    reader: str = "json"  # "json" (a JSON list or JSONL) or "csv"


def _field(row: Any, key: str, where: str, expected: str) -> str:
    """Return the string ``row[key]``, or raise an error naming ``where``."""
    if not isinstance(row, dict):
        raise TunesafeError(f"{where}: expected {expected}, got {type(row).__name__}")
    value = row.get(key)
    if not isinstance(value, str):
        problem = f"missing {key!r}" if value is None else f"{key!r} is {type(value).__name__}, not a string"
        raise TunesafeError(f"{where}: {problem}; expected {expected}")
    return value


def _convert_messages(row: Any, index: int, where: str) -> dict[str, Any]:
    expected = 'an object {"messages": [{"role", "content"}, ...]}'
    if not isinstance(row, dict) or "messages" not in row:
        raise TunesafeError(f"{where}: expected {expected}")
    messages = validate_messages(row["messages"], where)
    meta = row.get("meta") or {}
    if not isinstance(meta, dict):
        raise TunesafeError(f"{where}: 'meta' must be an object")
    record_id = row.get("id")
    return make_record(f"{index}" if record_id is None else record_id, messages, meta)


def _convert_aoa(row: Any, index: int, where: str) -> dict[str, Any]:
    if not isinstance(row, list):
        raise TunesafeError(f"{where}: expected a conversation (a list of {{role, content}}), got {type(row).__name__}")
    return make_record(f"{index}", validate_messages(row, where))


def _convert_samsum(row: Any, index: int, where: str) -> dict[str, Any]:
    expected = 'an object {"id", "dialogue", "summary"}'
    dialogue = _field(row, "dialogue", where, expected)
    summary = _field(row, "summary", where, expected)
    record_id = row.get("id")
    messages = [{"role": "user", "content": "Summarize this dialog:\n" + dialogue},
                {"role": "assistant", "content": summary}]
    return make_record(f"{index}" if record_id is None else record_id, messages,
                       {"source": "samsum"}, reference=summary)


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _convert_gsm8k(row: Any, index: int, where: str) -> dict[str, Any]:
    expected = 'an object {"question", "answer"} with the answer ending "#### <number>"'
    question = _field(row, "question", where, expected)
    answer = _field(row, "answer", where, expected)
    if "####" not in answer:
        raise TunesafeError(f"{where}: the answer has no '####'; expected it to end with '#### <number>'")
    number = answer.rsplit("####", 1)[1].strip().replace(",", "")
    if not _NUMBER.fullmatch(number):
        raise TunesafeError(f"{where}: expected a number after '####', got {number[:40]!r}")
    messages = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return make_record(f"{index}", messages, reference=number)


def _convert_hexphi(row: Any, index: int, where: str) -> dict[str, Any]:
    """``row`` is ``{"prompt", "category", "row"}``, built by the CSV reader."""
    prompt = _field(row, "prompt", where, "a CSV row whose first column is a prompt")
    if not prompt.strip():
        raise TunesafeError(f"{where}: empty prompt; expected one prompt in the first column")
    category = row.get("category", "")
    return make_record(f"{category}_{row.get('row', index)}", [{"role": "user", "content": prompt}],
                       {"category": category})


def _convert_advbench(row: Any, index: int, where: str) -> dict[str, Any]:
    """``row`` is ``{"goal", "target"?, "row"}`` (the CSV reader), or ``{"prompt", "target"}``
    (Hugging Face ``walledai/AdvBench``)."""
    if isinstance(row, dict) and "goal" not in row and "prompt" in row:
        row = {**row, "goal": row["prompt"]}
    goal = _field(row, "goal", where, "a CSV row whose goal column is a harmful behaviour")
    if not goal.strip():
        raise TunesafeError(f"{where}: empty goal; expected one behaviour per row")
    meta = {"target": row["target"]} if row.get("target") else {}
    return make_record(f"advbench_{row.get('row', index)}", [{"role": "user", "content": goal}], meta)


def _convert_instruction_output(row: Any, index: int, where: str) -> dict[str, Any]:
    expected = 'an object {"instruction", "output"}'
    instruction = _field(row, "instruction", where, expected)
    output = _field(row, "output", where, expected)
    messages = [{"role": "user", "content": instruction}, {"role": "assistant", "content": output}]
    return make_record(str(row.get("id", index)), messages, {})


def _convert_mtbench(row: Any, index: int, where: str) -> dict[str, Any]:
    expected = 'an object {"question_id", "category", "turns": [str, ...]}'
    turns = row.get("turns") if isinstance(row, dict) else None
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise TunesafeError(f"{where}: 'turns' must be a non-empty list of strings; expected {expected}")
    meta = {"turns": turns, "category": row.get("category", "")}
    if isinstance(row.get("reference"), list):
        meta["references"] = row["reference"]
    return make_record(str(row.get("question_id", index)), [{"role": "user", "content": turns[0]}], meta)


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("messages", '{"messages": [{"role", "content"}, ...]} per JSONL line, optional "id" and "meta"',
           _convert_messages, ("*.jsonl",)),
    Format("aoa_json", "a JSON list of conversations, each a list of {role, content} turns",
           _convert_aoa, ("*.json",)),
    Format("samsum", '{"id", "dialogue", "summary"} per item of a JSON list or JSONL line',
           _convert_samsum, ("*.json", "*.jsonl")),
    Format("gsm8k", '{"question", "answer"} per JSONL line, the answer ending "#### <number>"',
           _convert_gsm8k, ("*.jsonl",)),
    Format("instruction_output", '{"instruction", "output"} per item of a JSON list or JSONL line',
           _convert_instruction_output, ("*.json", "*.jsonl")),
    Format("mtbench", '{"question_id", "category", "turns": [str, str]} per JSONL line',
           _convert_mtbench, ("*.jsonl",)),
    Format("hexphi_csv", "one prompt per CSV row (first column, no header), in category_<n>.csv files",
           _convert_hexphi, ("*.csv",), reader="csv"),
    Format("advbench_csv", "harmful_behaviors.csv: a goal per row (header goal,target, or one headerless column)",
           _convert_advbench, ("*.csv",), reader="advbench"),
]}


def get_format(name: str) -> Format:
    """Return the format called ``name``, or raise an error that lists the valid names."""
    if name in FORMATS:
        return FORMATS[name]
    close = difflib.get_close_matches(str(name), FORMATS, n=1, cutoff=0.4)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise TunesafeError(f"unknown format {name!r}{hint} (valid formats: {', '.join(FORMATS)})")


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

    import datasets
    from datasets.exceptions import DatasetsError

    try:
        dataset = datasets.load_dataset(dataset_id, config, split=split, revision=revision,
                                        data_files=data_files)
    except (OSError, ValueError, DatasetsError) as e:
        raise _load_error(dataset_id, e) from None
    records = []
    for i, row in enumerate(dataset):
        record = form.convert(row, i, f"hf:{dataset_id}[{split}]:row {i + 1}")
        record["meta"]["format"] = form.name
        records.append(record)
    if not records:
        raise TunesafeError(f"hf:{dataset_id}[{split}]: no records (expected at least one row: {form.description})")
    return records


def _load_error(dataset_id: str, e: Exception) -> TunesafeError:
    """A one-line error for a dataset that could not be found, reached or built."""
    reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return TunesafeError(f"hf:{dataset_id}: could not load the dataset ({reason}); expected a Hugging Face "
                         "dataset id you can access (check the spelling, gated access and network)")
