"""Shared fixtures: a tiny tokenizer and a tiny Llama built the way the toy rules build them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> Path:
    from tunesafe.data import toy
    from tunesafe.toy.tokenizer import chat_template_path, corpus_texts, train_tokenizer

    out = tmp_path_factory.mktemp("tokenizer")
    records = toy.lexicon(60, 0)
    tokenizer = train_tokenizer(corpus_texts(records), 512, chat_template_path().read_text())
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_tokenizer_dir) -> Path:
    """A randomly initialised 2-layer Llama (d=32) with the toy tokenizer."""
    from transformers import AutoTokenizer

    from tunesafe.toy.model import ToyModelConfig, init_model

    out = tmp_path_factory.mktemp("model")
    tokenizer = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    model = init_model(ToyModelConfig(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                                      max_position_embeddings=256), tokenizer, seed=0)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def sharp_model_dir(tmp_path_factory, tiny_model_dir) -> Path:
    """The tiny Llama with every matrix scaled by 5. At the toy initialisation scale a random
    model's next token depends almost only on the last one (two prompts ending in the same
    chat-template tokens get the same reply); scaled up, its outputs depend on the whole
    context, so a test can tell which prompt a component sent."""
    from safetensors.torch import load_file, save_file

    out = tmp_path_factory.mktemp("sharp_model")
    shutil.copytree(tiny_model_dir, out, dirs_exist_ok=True)
    state = load_file(out / "model.safetensors")
    save_file({k: v * 5 if v.dim() == 2 else v for k, v in state.items()}, out / "model.safetensors",
              metadata={"format": "pt"})
    return out


@pytest.fixture
def model_copy(tmp_path, tiny_model_dir) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(tiny_model_dir, dst)
    return dst


def skip_or_fail_in_ci(reason: str) -> None:
    """Skip a test whose environment cannot be set up here, except under ``CI=true`` (what CI
    sets): there the environment is the project's own, so a failed install is a failure."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: this must work in CI, so it fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def unavailable():
    """:func:`skip_or_fail_in_ci`, for tests and fixtures."""
    return skip_or_fail_in_ci
