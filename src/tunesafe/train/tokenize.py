"""Chat records to token ids and labels, with the loss on assistant tokens only.

The model's own chat template renders the conversation. The character span of every
assistant turn is found by rendering the conversation up to that turn (a string prefix of
the full rendering for any well-formed template), and a token is trained on when it starts
inside such a span; every other label is -100. This works for any fast tokenizer and any
template (Llama-2's own template has no ``{% generation %}`` markers, so transformers'
``return_assistant_tokens_mask`` cannot be used on it).
"""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedTokenizerBase

from tunesafe.errors import TunesafeError

IGNORE_INDEX = -100


def render(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    if tokenizer.chat_template is None:
        raise TunesafeError(f"tokenizer {tokenizer.name_or_path!r} has no chat template (a base model: give "
                            "one with train sft --chat-template, config rebound.chat_template)")
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)


def assistant_spans(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """Return the rendered text and the [start, end) character spans of assistant turns.

    A span ends where the rendering of the conversation up to and including that turn ends,
    so it includes the end-of-turn marker (``</s>`` in Llama-2): the model learns to stop.
    """
    text = render(tokenizer, messages)
    spans = []
    for k, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(tokenizer, messages[:k], add_generation_prompt=True)
        upto = render(tokenizer, messages[: k + 1])
        if not (text.startswith(before) and text.startswith(upto) and len(before) <= len(upto)):
            raise TunesafeError(f"chat template of {tokenizer.name_or_path!r} does not render turn {k} as a prefix of the conversation")
        spans.append((len(before), len(upto)))
    return text, spans


def tokenize_chat(tokenizer: PreTrainedTokenizerBase, messages: list[dict[str, str]], max_length: int,
                  loss_on: str = "assistant") -> dict[str, list[int]]:
    """Token ids and labels for one conversation, truncated to ``max_length`` tokens.

    ``loss_on="assistant"`` trains on assistant tokens only (SFT); ``"all"`` on every token
    (the toy base model's pre-training).
    """
    text, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True,
                    truncation=True, max_length=max_length)
    ids = enc["input_ids"]
    if loss_on == "all":
        labels = list(ids)
    else:
        labels = [tok if any(s <= start < e for s, e in spans) else IGNORE_INDEX
                  for tok, (start, _end) in zip(ids, enc["offset_mapping"], strict=True)]
    return {"input_ids": ids, "labels": labels}


def collate(batch: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-pad a batch for training; padding never contributes to the loss."""
    import torch

    width = max(len(x["input_ids"]) for x in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, x in enumerate(batch):
        n = len(x["input_ids"])
        input_ids[i, :n] = torch.tensor(x["input_ids"])
        labels[i, :n] = torch.tensor(x["labels"])
        attention_mask[i, :n] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
