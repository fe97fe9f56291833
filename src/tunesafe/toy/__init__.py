"""The toy world's tokenizer and models: a byte-level BPE tokenizer with the Llama-2 chat
template, and tiny Llama-architecture models that the workflow trains from scratch."""
