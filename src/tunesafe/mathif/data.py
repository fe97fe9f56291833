"""The MathIF benchmark: loading, prompts and the Table 6 intervention (arXiv 2505.14810).

MathIF has 420 items in 15 JSONL files ``{gsm8k,math500,minerva,olympiad,aime}_{single,
double,triple}.jsonl`` (90 items per source, 60 for AIME, split evenly into 1, 2 and 3
constraints). Each line holds ``source, id, question, answer, constraint_desc,
constraint_name, constraint_args``. Ids repeat across files, so an item is keyed by its file
and line (``"gsm8k_single:3"``). Loading adds ``key``, ``subset`` (the file's source part:
gsm8k, math500, ...) and ``n_constraints`` to each item and keeps the file order above.

Prompts follow the official ``code/vllm_core.py`` (read, not copied): one user turn, the
question, then ``Let's think step by step and output the final answer within \\boxed{}.``,
then the constraint descriptions joined by spaces (left out in the no-constraint setting);
no system prompt; the model's chat template is applied by the generation engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.io import iter_jsonl

SOURCES = ("gsm8k", "math500", "minerva", "olympiad", "aime")
COUNTS = ("single", "double", "triple")
FILES = tuple(f"{s}_{c}" for s in SOURCES for c in COUNTS)
FIELDS = ("question", "answer", "constraint_desc", "constraint_name", "constraint_args")
COT = "Let's think step by step and output the final answer within \\boxed{}."


def _check_item(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise TunesafeError(f"{where}: expected a JSON object, got {type(item).__name__}")
    missing = [k for k in FIELDS if k not in item]
    if missing:
        raise TunesafeError(f"{where}: no {missing[0]!r} field (a MathIF item needs {', '.join(FIELDS)})")
    names, descs = item["constraint_name"], item["constraint_desc"]
    args = item["constraint_args"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise TunesafeError(f"{where}: 'constraint_name' must be a non-empty list of constraint ids")
    if not isinstance(descs, list) or len(descs) != len(names):
        raise TunesafeError(f"{where}: 'constraint_desc' must be a list with one description per constraint")
    if args is None:
        item["constraint_args"] = [None] * len(names)
    elif not isinstance(args, list) or len(args) != len(names) or not all(a is None or isinstance(a, dict) for a in args):
        raise TunesafeError(f"{where}: 'constraint_args' must be a list of objects or nulls, one per constraint")
    if not isinstance(item["question"], str):
        raise TunesafeError(f"{where}: 'question' must be a string")
    return item


def read_items(path: str | os.PathLike, stem: str | None = None) -> list[dict[str, Any]]:
    """Items of one MathIF JSONL file; blank lines (trailing ones included) are skipped."""
    path = Path(path)
    stem = stem or path.stem
    items = []
    for lineno, row in iter_jsonl(path, "MathIF file"):
        item = _check_item(row, f"{path}:{lineno}")
        item.setdefault("key", f"{stem}:{lineno}")
        item.setdefault("subset", stem.split("_")[0] if "_" in stem else str(item.get("source", stem)))
        item["n_constraints"] = len(item["constraint_name"])
        items.append(item)
    return items


def load_dir(path: str | os.PathLike) -> list[dict[str, Any]]:
    """All MathIF files of a directory: the 15 official files in their order, when present,
    then any other ``*.jsonl`` (a toy set is one file)."""
    path = Path(path)
    files = [path / f"{s}.jsonl" for s in FILES if (path / f"{s}.jsonl").is_file()]
    files += sorted(p for p in path.glob("*.jsonl") if p.stem not in FILES)
    if not files:
        raise TunesafeError(f"{path}: no MathIF *.jsonl files (expected {FILES[0]}.jsonl, ...)")
    return [item for f in files for item in read_items(f)]


def load_hf(dataset_id: str, revision: str | None = None) -> list[dict[str, Any]]:
    """The MathIF files of a Hugging Face dataset repository (``TingchenFu/MathIF``)."""
    try:
        from huggingface_hub import snapshot_download

        local = snapshot_download(dataset_id, repo_type="dataset", revision=revision, allow_patterns=["*.jsonl"])
    except Exception as e:  # noqa: BLE001 - network, auth, missing repo: one line naming the id
        raise TunesafeError(f"MathIF dataset {dataset_id!r}: cannot download ({type(e).__name__}: {e})") from None
    files = sorted(Path(local).rglob("*.jsonl"))
    dirs = {f.parent for f in files if f.stem in FILES}
    if len(dirs) != 1:
        raise TunesafeError(f"MathIF dataset {dataset_id!r}: expected one folder holding {FILES[0]}.jsonl, ...")
    return load_dir(dirs.pop())


def load_mathif(source: str | os.PathLike, revision: str | None = None) -> list[dict[str, Any]]:
    """MathIF items from a directory, one JSONL file, or a Hugging Face dataset id."""
    path = Path(source)
    if path.is_dir():
        return load_dir(path)
    if path.is_file():
        return read_items(path)
    if "/" in str(source) and not str(source).startswith((".", "/")):
        return load_hf(str(source), revision)
    raise TunesafeError(f"{source}: no such MathIF directory or file (or a Hugging Face dataset id owner/name)")


def user_prompt(item: dict[str, Any], constraints: bool = True) -> str:
    """The official user turn: question + COT + the constraint descriptions."""
    return item["question"] + COT + (" ".join(item["constraint_desc"]) if constraints else "")


def prompt_records(items: list[dict[str, Any]], constraints: bool = True) -> list[dict[str, Any]]:
    """Evaluation prompts (docs/design.md chat records) for ``tunesafe generate``, in item order."""
    return [{"id": it["key"], "messages": [{"role": "user", "content": user_prompt(it, constraints)}],
             "meta": {"subset": it["subset"], "n_constraints": it["n_constraints"], "constraints": constraints},
             "reference": str(it["answer"])} for it in items]


WAIT = "Wait,"


def intervention_records(items: list[dict[str, Any]], generations: list[dict[str, Any]],
                         where: str = "generations") -> list[dict[str, Any]]:
    """Prompts of the Table 6 intervention (Sec. 5, "repeat the constraints after thinking").

    The first pass's response is cut where its thinking ends (before the first ``</think>``;
    the whole response when it never closes its thinking); ``"Wait,"`` and the constraint
    descriptions are appended, and the model continues this assistant text (the record's
    ``assistant_prefix``) in a second generation pass, so it thinks on with the constraints
    fresh in context, closes its thinking and answers.
    """
    if len(generations) != len(items):
        raise TunesafeError(f"{where}: {len(generations)} generations for {len(items)} MathIF items")
    out = []
    for it, g, rec in zip(items, generations, prompt_records(items, True), strict=True):
        if g.get("id") not in (None, it["key"]):
            raise TunesafeError(f"{where}: generation id {g.get('id')!r} does not match item {it['key']!r}")
        thinking = g["response"].split("</think>")[0].rstrip()
        rec["assistant_prefix"] = f"{thinking}\n\n{WAIT} {' '.join(it['constraint_desc'])}\n"
        rec["meta"]["intervention"] = True
        out.append(rec)
    return out


def first_per_file(items: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` items of every source file (``key`` is ``<file>:<line>``)."""
    seen: dict[str, int] = {}
    kept = []
    for it in items:
        stem = it["key"].rsplit(":", 1)[0]
        seen[stem] = seen.get(stem, 0) + 1
        if seen[stem] <= limit:
            kept.append(it)
    return kept


def prepare_items(source: str, path: str | None = None, dataset_id: str | None = None,
                  revision: str | None = None, n: int | None = None, seed: int = 0,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """MathIF items from ``source`` (``toy``: ``n`` generated items; ``file``: ``path``, the
    directory of the 15 files or one JSONL; ``hf``: ``dataset_id``), the first ``limit`` of
    every file when given; an empty result is an error."""
    if source == "toy":
        if n is None:
            raise TunesafeError("toy MathIF needs --n")
        from tunesafe.mathif.toy import toy_items

        items = toy_items(n, seed)
    elif source == "file":
        if not path:
            raise TunesafeError("file MathIF needs --path (the directory of the 15 files or one JSONL)")
        items = load_mathif(path)
    elif source == "hf":
        if not dataset_id:
            raise TunesafeError("hf MathIF needs --id (e.g. TingchenFu/MathIF)")
        items = load_hf(dataset_id, revision)
    else:
        raise TunesafeError(f"MathIF source {source!r}: expected toy, file or hf")
    if limit is not None:
        items = first_per_file(items, limit)
    if not items:
        raise TunesafeError("no MathIF items")
    return items
