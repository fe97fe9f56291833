"""The vLLM engine (GPU): ``LLM.chat`` with ``SamplingParams``, LoRA via ``LoRARequest``;
``LLM.generate`` on the rendered chat template plus the prefix for continuations;
``chat_template_kwargs`` (e.g. Qwen3's ``{"enable_thinking": false}``) reach the template
both ways (``LLM.chat(chat_template_kwargs=...)``).

Thin on purpose: it only maps our settings onto vLLM's documented API. vLLM is imported
when this engine is chosen (``pip install tunesafe[gpu]``), never otherwise.
"""

from __future__ import annotations

from tunesafe.errors import TunesafeError
from tunesafe.generation import SamplingSettings


class VLLMEngine:
    def __init__(self, model: str, adapter: str | None = None, tensor_parallel_size: int = 1,
                 max_lora_rank: int = 64, gpu_memory_utilization: float = 0.9,
                 chat_template_kwargs: dict | None = None, **_: object):
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError:
            raise TunesafeError("generation engine 'vllm' needs the vllm package: pip install 'tunesafe[gpu]' (GPU machines only)") from None
        self.llm = LLM(model=model, tensor_parallel_size=tensor_parallel_size, enable_lora=adapter is not None,
                       max_lora_rank=max_lora_rank, gpu_memory_utilization=gpu_memory_utilization)
        self.lora_request = LoRARequest("adapter", 1, adapter) if adapter else None
        self.chat_template_kwargs = dict(chat_template_kwargs or {})

    def generate(self, prompts: list[list[dict[str, str]]], sampling: SamplingSettings,
                 prefixes: list[str] | None = None) -> list[str]:
        from vllm import SamplingParams

        params = SamplingParams(
            temperature=sampling.temperature, top_p=sampling.top_p,
            top_k=sampling.top_k if sampling.top_k > 0 else -1,
            max_tokens=sampling.max_new_tokens, seed=sampling.seed,
        )
        if prefixes is not None:  # raw continuation: chat template + the assistant's prefix
            tokenizer = self.llm.get_tokenizer()
            texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True,
                                                   **self.chat_template_kwargs) + prefix
                     for p, prefix in zip(prompts, prefixes, strict=True)]
            outputs = self.llm.generate(texts, params, lora_request=self.lora_request, use_tqdm=True)
        else:
            outputs = self.llm.chat(prompts, params, lora_request=self.lora_request, use_tqdm=True,
                                    chat_template_kwargs=self.chat_template_kwargs or None)
        return [o.outputs[0].text.strip() for o in outputs]
