"""Reward models score the arm's data sets and safety pairs (arXiv 2502.01116, Sec. 5).

Reward models are the shared scorer registry's (:mod:`tunesafe.rebound.scorers`): a scorer
maps (prompts, responses) to a number in [0, 1] per response. This module registers two
more there, without changing that module:

``reward_model``  a sequence-classification reward model with one output (the checkpoints
                  of RewardBench's leaderboard, e.g. ``Skywork/Skywork-Reward-Llama-3.1-8B-v0.2``):
                  prompt and response in the model's own chat template (a tokenizer
                  without one: the two as a text pair), score =
                  sigmoid(reward) (monotone, so every rank statistic is the reward's);
                  options ``model``, ``batch_size``, ``max_length``.
``toy_rm``        the toy reward model: the bag-of-tokens classifier of
                  :mod:`tunesafe.rebound.classifier` trained on toy preference pairs,
                  reading prompt and response together; option ``path``.

:func:`score_variants` scores, for every variant data set, (a) its records against corrupted
answers and (b) the safety pairs under the variant's own transforms, plus the mean score of
the variant's records (the x axis of the rank agreement, :mod:`tunesafe.picky.metrics`).
"""

from __future__ import annotations

import math
from typing import Any

from tunesafe.picky.metrics import pair_accuracy, separation
from tunesafe.picky.pairs import Pair, benign_pairs, pair_record
from tunesafe.picky.transforms import apply
from tunesafe.rebound.scorers import SCORERS, Scorer, get_scorer, load_scalar_head, register


class RewardModelScorer:
    def __init__(self, model: str, batch_size: int = 8, max_length: int = 2048):
        self.tokenizer, self.model, self.device = load_scalar_head(model)
        self.model.eval()
        self.batch_size, self.max_length = int(batch_size), int(max_length)

    def _encode(self, prompts: list[str], responses: list[str]):
        """The model's chat template over (user, assistant); a tokenizer without one (e.g. a
        DeBERTa reward model) gets the pair as two segments, question then answer."""
        kw = {"return_tensors": "pt", "padding": True, "truncation": True, "max_length": self.max_length}
        if not getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer(prompts, responses, **kw)
        texts = [self.tokenizer.apply_chat_template([{"role": "user", "content": p}, {"role": "assistant", "content": r}],
                                                    tokenize=False) for p, r in zip(prompts, responses, strict=True)]
        return self.tokenizer(texts, add_special_tokens=False, **kw)

    def prob_positive(self, prompts: list[str], responses: list[str]) -> list[float]:
        import torch

        out: list[float] = []
        with torch.inference_mode():
            for i in range(0, len(prompts), self.batch_size):
                enc = self._encode(prompts[i:i + self.batch_size], responses[i:i + self.batch_size]).to(self.device)
                reward = self.model(**enc).logits[:, 0].float().tolist()
                out += [1 / (1 + math.exp(-max(-60.0, min(60.0, x)))) for x in reward]
        return out


class ToyRewardScorer:
    def __init__(self, path: str):
        from tunesafe.rebound.classifier import ToyClassifier

        self.classifier = ToyClassifier(path)

    def prob_positive(self, prompts: list[str], responses: list[str]) -> list[float]:
        return self.classifier.prob_positive([f"{p}\n{r}" for p, r in zip(prompts, responses, strict=True)])


for _name, _factory in [("reward_model", RewardModelScorer), ("toy_rm", ToyRewardScorer)]:
    if _name not in SCORERS:
        register(_name, _factory)


def _score_pairs(scorer: Scorer, pairs: list[Pair]) -> tuple[list[float], list[float]]:
    prompts = [p["prompt"] for p in pairs]
    return (scorer.prob_positive(prompts, [p["chosen"] for p in pairs]),
            scorer.prob_positive(prompts, [p["rejected"] for p in pairs]))


def transformed_pairs(pairs: list[Pair], variant: str) -> list[Pair]:
    """Safety pairs with the variant's factors applied to prompt and both answers."""
    out = []
    for p in pairs:
        sides = {s: apply(pair_record(p, s), variant)["messages"] for s in ("chosen", "rejected")}
        out.append({**p, "prompt": sides["chosen"][0]["content"], "chosen": sides["chosen"][1]["content"],
                    "rejected": sides["rejected"][1]["content"]})
    return out


def score_variants(scorer: Scorer, variants: dict[str, list[dict[str, Any]]], safety: list[Pair]) -> dict[str, Any]:
    """Per variant: mean score of its records, separation of own vs corrupted answers, and
    accuracy and separation on the (transformed) safety pairs."""
    out = {}
    for name, records in variants.items():
        good, bad = _score_pairs(scorer, benign_pairs(records, where=f"variant {name}"))
        chosen, rejected = _score_pairs(scorer, transformed_pairs(safety, name))
        out[name] = {"mean_score": sum(good) / len(good), "separation": separation(good, bad),
                     "benign_pair_accuracy": pair_accuracy(good, bad), "safety_pair_accuracy": pair_accuracy(chosen, rejected),
                     "safety_separation": separation(chosen, rejected), "n_records": len(records),
                     "n_safety_pairs": len(safety)}
    return out


def score_files(scorer_name: str, options: dict[str, Any], variants: dict[str, list[dict[str, Any]]],
                safety: list[Pair]) -> dict[str, Any]:
    """:func:`score_variants` with a scorer from the registry, with the settings recorded."""
    scorer = get_scorer(scorer_name, **options)
    return {"scorer": scorer_name, "options": {k: str(v) for k, v in options.items()},
            "variants": score_variants(scorer, variants, safety)}
