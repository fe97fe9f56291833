"""``tunesafe generate``: responses of a model to a prompt set."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("generate", help="generate responses to evaluation prompts")
    p.add_argument("--engine", default="hf", help="hf (transformers) or vllm")
    p.add_argument("--model", required=True, help="model directory or Hugging Face id")
    p.add_argument("--adapter", help="LoRA adapter directory on top of --model")
    p.add_argument("--prompts", required=True, help="JSONL evaluation prompts (chat records ending with a user turn)")
    p.add_argument("--out", required=True, help="output generations JSONL")
    p.add_argument("--system-prompt", help="system prompt for prompts that have none")
    p.add_argument("--user-template", default="%s", help="wraps the user turn; %%s marks the request")
    p.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch-size", type=int, default=16, help="hf: prompts per batch")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm: GPUs per model")
    p.add_argument("--limit", type=int, help="only the first LIMIT prompts")
    p.add_argument("--multi-turn", action="store_true", help="prompts hold every user turn in meta.turns (MT-Bench)")
    p.add_argument("--category-temperature", default=None,
                   help='JSON {category: temperature} by meta.category (MT-Bench as FastChat); others use --temperature')
    p.add_argument("--thinking-budget", type=int, default=None,
                   help="budget forcing: cut the thinking at this many new tokens, append </think>, continue")
    p.add_argument("--chat-template-kwargs", default=None, metavar="JSON",
                   help='JSON object of extra chat-template variables, e.g. {"enable_thinking": false} (Qwen3)')
    p.set_defaults(func=_generate)


def _generate(args: argparse.Namespace) -> None:
    import json

    from tunesafe.errors import TunesafeError
    from tunesafe.generation import SamplingSettings
    from tunesafe.generation.run import generate_file

    try:
        by_category = json.loads(args.category_temperature) if args.category_temperature else None
    except json.JSONDecodeError as e:
        raise TunesafeError(f"--category-temperature: not JSON ({e})") from None
    try:
        template_kwargs = json.loads(args.chat_template_kwargs) if args.chat_template_kwargs else None
    except json.JSONDecodeError as e:
        raise TunesafeError(f"--chat-template-kwargs: not JSON ({e})") from None
    if template_kwargs is not None and not isinstance(template_kwargs, dict):
        raise TunesafeError(f"--chat-template-kwargs: expected a JSON object, got {args.chat_template_kwargs!r}")

    sampling = SamplingSettings(args.temperature, args.top_p, args.top_k, args.max_new_tokens, args.seed)
    options = {"batch_size": args.batch_size} if args.engine == "hf" else {"tensor_parallel_size": args.tensor_parallel_size}
    n = generate_file(args.engine, args.model, args.prompts, args.out, sampling, adapter=args.adapter,
                      system_prompt=args.system_prompt, user_template=args.user_template, limit=args.limit,
                      multi_turn=args.multi_turn, category_temperature=by_category,
                      thinking_budget=args.thinking_budget, chat_template_kwargs=template_kwargs, **options)
    print(f"{args.out}: {n} generations")
