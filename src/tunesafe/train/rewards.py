"""Reward functions for RL (``tunesafe train grpo``): one registry, one signature.

A reward is a pure function ``reward(response, reference) -> float`` of one completion's
text and its prompt's reference answer (None where the prompt set has none). The GRPO
trainer (:mod:`tunesafe.train.grpo`) wraps each named reward into the batch form TRL's
``GRPOTrainer`` calls. To add one, write it in the module of the arm it belongs to,
register it with :func:`register`, and add that module to :data:`REWARD_MODULES`.

Torch-free, like every registry: the workflow and ``--help`` import it cheaply.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from tunesafe.registry import Registry

Reward = Callable[[str, Any], float]
REWARDS: Registry[Reward] = Registry("reward")
# modules whose import registers rewards (each arm that defines some)
REWARD_MODULES = ["tunesafe.mathif.rewards"]


def register(name: str) -> Callable[[Reward], Reward]:
    """Decorator: register ``fn`` as the reward ``name``."""

    def wrap(fn: Reward) -> Reward:
        return REWARDS.add(name, fn)

    return wrap


def get_reward(name: str) -> Reward:
    """The reward ``name``; an unknown name is a one-line error with the closest one."""
    for module in REWARD_MODULES:
        importlib.import_module(module)
    return REWARDS.get(name)
