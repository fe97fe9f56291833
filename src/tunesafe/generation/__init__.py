"""Generation: one interface, two engines (``hf``: transformers, CPU or GPU; ``vllm``: GPU).

An engine turns chat prompts into responses with :class:`SamplingSettings`. Engines are
registered by name in :data:`ENGINES` (a :class:`tunesafe.registry.Registry`); a new one is
a module with a class implementing :class:`Engine` plus one entry there.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

from tunesafe.errors import TunesafeError
from tunesafe.registry import Registry


@dataclass
class SamplingSettings:
    """Decoding settings. ``temperature == 0`` means greedy decoding."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 50  # 0 or -1: no top-k filtering
    max_new_tokens: int = 512
    seed: int = 42

    def __post_init__(self):
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.max_new_tokens < 1:
            raise TunesafeError(f"sampling settings {self} are invalid (temperature >= 0, 0 < top_p <= 1, max_new_tokens >= 1)")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


class Engine(Protocol):
    def generate(self, prompts: list[list[dict[str, str]]], sampling: SamplingSettings,
                 prefixes: list[str] | None = None) -> list[str]:
        """One response per chat prompt, in order. With ``prefixes``, prompt i is rendered
        with the generation prompt and then ``prefixes[i]`` (raw text the assistant turn
        starts with), and the response is the model's continuation of it."""
        ...


# engine name -> "module:class", imported only when the engine is loaded (vLLM is optional)
ENGINES: Registry[str] = Registry("generation engine")
ENGINES.add("hf", "tunesafe.generation.hf:HFEngine")
ENGINES.add("vllm", "tunesafe.generation.vllm:VLLMEngine")


def load_engine(name: str, model: str, adapter: str | None = None, **options) -> Engine:
    """Instantiate engine ``name`` for ``model`` (and an optional LoRA ``adapter``)."""
    module, cls = ENGINES.get(name).split(":")
    return getattr(importlib.import_module(module), cls)(model, adapter=adapter, **options)
