"""Byte-level BPE tokenizer for the toy world, trained on the toy corpus.

Built with Hugging Face ``tokenizers`` and wrapped as a ``PreTrainedTokenizerFast`` with the
Llama-2 special tokens (``<s>``, ``</s>``) and a Llama-2 ``[INST] <<SYS>>`` chat template, so
the toy models load and chat exactly like Llama-2-7b-chat does through transformers.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]


def chat_template_path() -> Path:
    """The Llama-2 chat template shipped in the package (``tunesafe/resources``)."""
    from tunesafe.resources import resource_path

    return resource_path("llama2_chat_template.jinja")


def train_tokenizer(texts: Iterable[str], vocab_size: int, chat_template: str) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE of ``vocab_size`` entries on ``texts``."""
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    bpe.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>", chat_template=chat_template, model_max_length=4096,
        clean_up_tokenization_spaces=False,
    )


def corpus_texts(records: Iterable[dict]) -> Iterable[str]:
    """All message contents of chat records, plus the chat-format markers."""
    yield "[INST] <<SYS>>\n\n<</SYS>>\n\n [/INST]"
    for record in records:
        for message in record["messages"]:
            yield message["content"]


def build_tokenizer(corpus: list[str], vocab_size: int, out: str, chat_template: str | None = None) -> int:
    """Train the toy tokenizer on the chat records of the ``corpus`` files and save it to
    ``out`` (atomically) with ``chat_template`` (a Jinja file; default: the packaged Llama-2
    template); returns its vocabulary size."""
    from tunesafe.io import atomic_path, read_jsonl, require_file

    records = [r for path in corpus for r in read_jsonl(path)]
    template = (require_file(chat_template, "chat template") if chat_template else chat_template_path()).read_text()
    tokenizer = train_tokenizer(corpus_texts(records), vocab_size, template)
    with atomic_path(out, directory=True) as tmp:
        tokenizer.save_pretrained(tmp)
    return len(tokenizer)
