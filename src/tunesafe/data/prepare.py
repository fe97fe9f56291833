"""Build one dataset as chat records from the source its config entry names.

Sources (``source:`` in config ``datasets.<name>``):

- ``toy``: a generator of :mod:`tunesafe.data.toy` (``name``, ``n``, ``seed``);
- ``file``: a local file or directory in a real format (``path``, ``format``);
- ``hf``: a Hugging Face dataset (``id``, optional ``config``, ``split``, ``revision``,
  ``data_files``; ``format``).

Then optionally a seeded shuffle, the first ``limit`` records, the dataset's own prompt style
(``system_prompt`` added where a record has no system turn, the first user turn wrapped in
``user_template``: in the official Dirty Summary the SAMSum rows are in the ``summary``
template while the PureBad rows get the task's), and for evaluation sets the final assistant
turn dropped (kept as ``reference``). An empty result is an error.
"""

from __future__ import annotations

import random
from typing import Any

from tunesafe.data import toy
from tunesafe.data.records import as_prompt, with_template
from tunesafe.errors import TunesafeError


def load_source(source: str, **opts: Any) -> list[dict[str, Any]]:
    if source == "toy":
        missing = [k for k in ("name", "n", "seed") if opts.get(k) is None]
        if missing:
            raise TunesafeError(f"toy dataset needs {', '.join(missing)}")
        name = opts["name"]
        if name not in toy.TOY_DATASETS:
            raise TunesafeError(f"toy dataset {name!r} is unknown (expected one of {sorted(toy.TOY_DATASETS)})")
        return toy.TOY_DATASETS[name](opts["n"], opts["seed"])
    required = {"file": ("path", "format"), "hf": ("id", "format")}.get(source, ())
    missing = [k for k in required if opts.get(k) is None]
    if missing:
        raise TunesafeError(f"{source} dataset needs {', '.join(missing)}")
    if source == "file":
        from tunesafe.data.readers import load_file

        return load_file(opts["path"], opts["format"])
    if source == "hf":
        from tunesafe.data.readers import load_hf

        return load_hf(opts["id"], opts["format"], config=opts.get("config"), split=opts.get("split") or "train",
                       revision=opts.get("revision"), data_files=opts.get("data_files"))
    raise TunesafeError(f"dataset source {source!r} is unknown (expected toy, file or hf)")


def prepare(source: str, limit: int | None = None, shuffle_seed: int | None = None, prompts: bool = False,
            system_prompt: str | None = None, user_template: str = "%s", replace_system: bool = False,
            **opts: Any) -> list[dict[str, Any]]:
    records = load_source(source, **opts)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(records)
    if limit is not None:
        records = records[:limit]
    if replace_system:  # the official loaders drop a row's own system turn for the template's
        records = [dict(r, messages=[m for m in r["messages"] if m["role"] != "system"]) for r in records]
    if system_prompt or user_template != "%s":
        if "%s" not in user_template:
            raise TunesafeError(f"user template {user_template!r} has no %s for the request")
        records = [dict(r, messages=with_template(r["messages"], system_prompt, user_template)) for r in records]
    if prompts:
        records = [as_prompt(r) for r in records]
    if not records:
        raise TunesafeError(f"dataset from {source} source {opts} has no records")
    return records


def mix(parts: list[list[dict[str, Any]]], seed: int, limit: int | None = None) -> list[dict[str, Any]]:
    """Concatenate datasets (e.g. Dirty Summary = SAMSum + PureBad), keep the first ``limit``
    records (PureBad-50 of a pool of 200), and shuffle with ``seed``."""
    records = [r for part in parts for r in part]
    if limit is not None:
        if limit > len(records):
            raise TunesafeError(f"--limit {limit}: the inputs hold only {len(records)} records")
        records = records[:limit]
    random.Random(seed).shuffle(records)
    return records
