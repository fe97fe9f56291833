"""Datasets' real formats: how each row becomes a chat record, and the registry of formats.

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

Reading is :mod:`tunesafe.data.readers`: ``load_file`` reads a local file (or a directory of
them); ``load_hf`` loads by Hugging Face id, or from local files through a ``datasets``
builder such as ``"json"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tunesafe.data.records import make_record, validate_messages
from tunesafe.errors import TunesafeError
from tunesafe.registry import Registry


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


FORMATS: Registry[Format] = Registry("format")
for _format in [
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
]:
    FORMATS.add(_format.name, _format)


def get_format(name: str) -> Format:
    """Return the format called ``name``, or raise an error that lists the valid names."""
    return FORMATS.get(str(name))
