"""Files shipped inside the package, found with :mod:`importlib.resources`.

``refusal_keywords.txt`` (Safe Delta's refusal keywords, keyword ASR), ``judge/*.txt`` (our
judge rubrics) and ``llama2_chat_template.jinja`` (the toy world's chat template) are the
defaults of the commands that read them, so a non-editable ``pip install`` works from any
directory. Files the workflow's user edits or passes explicitly (chat templates for base
models, the papers' numbers) stay in the project's top-level ``resources/``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from tunesafe.errors import TunesafeError


def resource_path(name: str) -> Path:
    """The file ``name`` (``/``-separated, e.g. ``judge/harmfulness.txt``) of this package."""
    ref = files(__name__).joinpath(*name.split("/"))
    if not isinstance(ref, Path) or not ref.is_file():
        raise TunesafeError(f"packaged file tunesafe/resources/{name} is missing (a broken install? reinstall tunesafe)")
    return ref


def label(name: str) -> str:
    """How a metrics file names a packaged default: the same on every machine."""
    return f"tunesafe/resources/{name}"
