"""The transformers engine: batched ``generate`` with left padding, on CPU or GPU.

Prompts are rendered with the model's chat template (``add_generation_prompt=True``) and
sorted by length so a batch pads little (``chat_template_kwargs``, e.g. Qwen3's
``{"enable_thinking": false}``, go to the template as extra variables); responses come back in the prompts' order. A LoRA
adapter directory is loaded on top of the model with peft. Sampling is seeded once per run
(``torch.manual_seed``), so the same settings and batch size give the same responses.
"""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from tunesafe.generation import SamplingSettings


class HFEngine:
    def __init__(self, model: str, adapter: str | None = None, batch_size: int = 16, dtype: str = "auto",
                 chat_template_kwargs: dict | None = None, **_: object):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        torch_dtype = torch.float32 if self.device == "cpu" else (torch.bfloat16 if dtype == "auto" else getattr(torch, dtype))
        self.tokenizer = AutoTokenizer.from_pretrained(adapter or model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype).to(self.device)
        if adapter:
            from peft import PeftModel

            self.model = PeftModel.from_pretrained(self.model, adapter)
        self.model.eval()
        self.batch_size = batch_size
        self.chat_template_kwargs = dict(chat_template_kwargs or {})

    @torch.inference_mode()
    def generate(self, prompts: list[list[dict[str, str]]], sampling: SamplingSettings,
                 prefixes: list[str] | None = None) -> list[str]:
        texts = [self.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True,
                                                    **self.chat_template_kwargs) for p in prompts]
        if prefixes is not None:  # continue an assistant turn that starts with the prefix
            texts = [t + prefix for t, prefix in zip(texts, prefixes, strict=True)]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        responses: list[str] = [""] * len(texts)
        torch.manual_seed(sampling.seed)
        kwargs = dict(max_new_tokens=sampling.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                      eos_token_id=self.tokenizer.eos_token_id)
        if sampling.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p,
                          top_k=sampling.top_k if sampling.top_k > 0 else None)
        for start in tqdm(range(0, len(order), self.batch_size), desc="generate", mininterval=10):
            idx = order[start:start + self.batch_size]
            enc = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
            out = self.model.generate(**enc, **kwargs)
            new_tokens = out[:, enc["input_ids"].shape[1]:]
            for i, text in zip(idx, self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True), strict=True):
                responses[i] = text.strip()
        return responses
