"""results/manifest.json: ids, paths, revisions and sha256 of datasets and models; pins."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunesafe.cluster import manifest
from tunesafe.errors import TunesafeError

ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.fixture
def world(tmp_path) -> dict:
    data = tmp_path / "data"
    data.mkdir()
    (data / "purebad.jsonl").write_text('{"id": "1", "messages": []}\n')
    source = tmp_path / "hexphi.csv"
    source.write_text("prompt\nplaceholder\n")
    (data / "hexphi.jsonl").write_text('{"id": "h1", "messages": []}\n')
    model = tmp_path / "aligned"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "sub" / "model.safetensors").write_bytes(b"\x00" * 100)
    (model / ".cache").mkdir()
    (model / ".cache" / "lock").write_text("x")  # skipped: not part of the model
    return {"data": data, "model": model,
            "datasets": {"purebad": {"source": "toy", "name": "purebad", "n": 1, "seed": 11},
                         "hexphi": {"source": "file", "path": str(source), "format": "hexphi_csv", "revision": None}},
            "models": {"aligned": str(model), "base": "meta-llama/Llama-2-7b-hf"}}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tree_digest(files: dict[str, bytes]) -> str:
    """The documented model digest: sha256 over "name NUL digest LF" of every file, by name."""
    return _sha256("".join(f"{name}\0{_sha256(files[name])}\n" for name in sorted(files)).encode())


MODEL_FILES = {"config.json": b"{}", "sub/model.safetensors": b"\x00" * 100}  # as the fixture writes them


def test_the_manifest_lists_every_dataset_and_model_with_checksums(world):
    m = manifest.build(world["datasets"], world["models"], world["data"])
    datasets = {d["name"]: d for d in m["datasets"]}
    assert datasets["purebad"]["sha256"] == _sha256(b'{"id": "1", "messages": []}\n')
    assert datasets["hexphi"]["sha256"] == _sha256(b'{"id": "h1", "messages": []}\n')
    assert datasets["purebad"]["source"] == "toy" and datasets["purebad"]["seed"] == 11
    assert datasets["hexphi"]["source_sha256"] == _sha256(b"prompt\nplaceholder\n")
    assert datasets["hexphi"]["path"].endswith("hexphi.csv")
    models = {e["role"]: e for e in m["models"]}
    assert models["aligned"]["files"] == {name: _sha256(data) for name, data in MODEL_FILES.items()}
    assert models["aligned"]["sha256"] == _tree_digest(MODEL_FILES)
    assert models["base"]["id"] == "meta-llama/Llama-2-7b-hf" and "sha256" not in models["base"]


def test_equal_trees_have_equal_digests_and_a_changed_byte_changes_it(world, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(world["model"], copy)
    assert manifest.sha256_tree(copy)["sha256"] == manifest.sha256_tree(world["model"])["sha256"]
    (copy / "sub" / "model.safetensors").write_bytes(b"\x00" * 99 + b"\x01")
    assert manifest.sha256_tree(copy)["sha256"] != manifest.sha256_tree(world["model"])["sha256"]


def test_a_pinned_input_with_another_checksum_is_an_error_naming_it(world):
    good = _sha256((world["data"] / "purebad.jsonl").read_bytes())
    model = _tree_digest(MODEL_FILES)
    manifest.build(world["datasets"], world["models"], world["data"], {"purebad": good, "aligned": model})
    with pytest.raises(TunesafeError, match=r"pinned input purebad \(.*purebad.jsonl\): sha256 [0-9a-f]{64}, pinned 0{64}"):
        manifest.build(world["datasets"], world["models"], world["data"], {"purebad": "0" * 64})
    (world["model"] / "config.json").write_text('{"changed": 1}')
    with pytest.raises(TunesafeError, match="pinned input aligned"):
        manifest.build(world["datasets"], world["models"], world["data"], {"aligned": model})
    with pytest.raises(TunesafeError, match="manifest.pins.purebda: no dataset or model"):
        manifest.build(world["datasets"], world["models"], world["data"], {"purebda": good})


def test_the_cli_writes_the_manifest_and_fails_with_one_line(world, tmp_path):
    out = tmp_path / "manifest.json"
    args = [str(Path(sys.executable).with_name("tunesafe")), "cluster", "manifest",
            "--datasets", json.dumps(world["datasets"]), "--models", json.dumps(world["models"]),
            "--data-dir", str(world["data"]), "--out", str(out)]
    run = subprocess.run(args, capture_output=True, text=True, env=ENV)
    assert run.returncode == 0, run.stderr
    assert {d["name"] for d in json.loads(out.read_text())["datasets"]} == {"purebad", "hexphi"}
    bad = subprocess.run(args[:-2] + ["--pins", json.dumps({"hexphi": "f" * 64}), "--out", str(tmp_path / "x.json")],
                         capture_output=True, text=True, env=ENV)
    assert bad.returncode == 2 and "checksum mismatch for pinned input hexphi" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.json").exists()
