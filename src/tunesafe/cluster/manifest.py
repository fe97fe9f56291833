"""The dataset and model manifest, results/manifest.json: for every dataset and model a run
used, where it came from (toy generator, local path or Hugging Face id), its revision, and
the sha256 of its files, so that two runs (a laptop and a cluster, this month and next) can
be compared file by file.

A *pin* (config ``manifest.pins``: name -> sha256) fixes what an input must be: a dataset's
prepared records (``results/data/<name>.jsonl``) or a model's files (the digest of its
per-file digests, the manifest's ``sha256``). A pinned input whose checksum differs is an
error naming it, its path, and both digests.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path

CHUNK = 1 << 20
# files of a model directory that identify it; caches and temporaries are skipped
SKIP_PREFIXES = (".", "__pycache__")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def sha256_tree(path: str | os.PathLike) -> dict[str, Any]:
    """Per-file digests of a file or directory, and one digest over them (name + digest of
    every file, in sorted order): equal trees give equal digests wherever they live."""
    path = Path(path)
    if path.is_file():
        digest = sha256_file(path)
        return {"sha256": digest, "files": {path.name: digest}}
    files = {
        str(p.relative_to(path)): sha256_file(p)
        for p in sorted(path.rglob("*"))
        if p.is_file() and not any(part.startswith(SKIP_PREFIXES) for part in p.relative_to(path).parts)
    }
    combined = hashlib.sha256("".join(f"{name}\0{digest}\n" for name, digest in files.items()).encode())
    return {"sha256": combined.hexdigest(), "files": files}


def hub_revision(model_id: str) -> str | None:
    """The commit a Hugging Face id resolves to in the local cache (HF_HOME), if cached."""
    try:
        from huggingface_hub import scan_cache_dir
    except ImportError:  # pragma: no cover - a dependency of transformers
        return None
    try:
        cache = scan_cache_dir()
    except Exception:  # no cache directory yet
        return None
    for repo in cache.repos:
        if repo.repo_id == model_id:
            newest = max(repo.revisions, key=lambda r: r.last_modified, default=None)
            return newest.commit_hash if newest else None
    return None


def dataset_entry(name: str, spec: dict, data_dir: Path) -> dict[str, Any]:
    entry = {"name": name, **{k: spec[k] for k in ("source", "name", "n", "seed", "id", "path", "revision",
                                                     "data_files", "split", "config") if k in spec}}
    entry["name"] = name
    prepared = data_dir / f"{name}.jsonl"
    if prepared.exists():
        entry["records"] = str(prepared)
        entry["sha256"] = sha256_file(prepared)
    if spec.get("source") == "file" and spec.get("path") and Path(spec["path"]).exists():
        entry["source_sha256"] = sha256_file(spec["path"])
    return entry


def model_entry(role: str, ref: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": role}
    if Path(ref).exists():
        entry["path"] = ref
        entry.update(sha256_tree(ref))
        source = Path(ref) / "gguf_source.json"  # a converted GGUF file (tunesafe.gguf): package, version, sha256
        if source.is_file():
            entry["gguf_source"] = json.loads(source.read_text())
    else:
        entry["id"] = ref
        entry["revision"] = hub_revision(ref)
    return entry


def check_pins(manifest: dict[str, Any], pins: dict[str, str]) -> None:
    """Raise naming the first pinned dataset or model whose sha256 differs (or is unknown)."""
    entries = {e["name"]: e for e in manifest["datasets"]} | {e["role"]: e for e in manifest["models"]}
    for name, expected in pins.items():
        if name not in entries:
            raise TunesafeError(f"manifest.pins.{name}: no dataset or model of that name "
                                f"(expected one of {', '.join(sorted(entries))})")
        actual = entries[name].get("sha256")
        where = entries[name].get("records") or entries[name].get("path") or entries[name].get("id")
        if actual is None:
            raise TunesafeError(f"manifest.pins.{name}: {where} has no local files to check against the pin")
        if actual != expected:
            raise TunesafeError(f"checksum mismatch for pinned input {name} ({where}): "
                                f"sha256 {actual}, pinned {expected}")


def build(datasets: dict[str, dict], models: dict[str, str], data_dir: str | os.PathLike,
          pins: dict[str, str] | None = None) -> dict[str, Any]:
    manifest = {
        "datasets": [dataset_entry(name, spec, Path(data_dir)) for name, spec in datasets.items()],
        "models": [model_entry(role, ref) for role, ref in models.items()],
    }
    check_pins(manifest, pins or {})
    return manifest


def write(manifest: dict[str, Any], out: str | os.PathLike) -> None:
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
