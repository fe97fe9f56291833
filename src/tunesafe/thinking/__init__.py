"""When Thinking Fails (arXiv 2505.11423): chain of thought against instruction following.

- :mod:`.toy`: the toy IFEval (real ``google/IFEval`` schema, constraint character spans)
  and the toy instruct model's SFT data (direct and ``<think>`` answers);
- :mod:`.ifeval`: IFEval items, the direct and think-then-answer prompts (Sec. 3), the
  final answer after the reasoning, and scoring through lm-evaluation-harness's checkers;
- :mod:`.attention`: constraint attention beta per layer, direct vs CoT (Sec. 5);
- :mod:`.selective`: classifier-selective reasoning (Sec. 6);
- :mod:`.report`: Table 1 (direct vs CoT), the per-type deltas (Sec. 4), the mitigation
  table and the attention figure.
"""
