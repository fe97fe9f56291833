"""The MathIF arm (arXiv 2505.14810), all of it: data and prompts (:mod:`.data`), the toy
reasoning world (:mod:`.toy`), the 15 constraint checkers (:mod:`.checkers`), scoring
(:mod:`.scoring`, :mod:`.fastnum`, the official correctness grader :mod:`.grader`), the
evaluation of a responses file (:mod:`.evaluate`), Tables 3 and 6 and the breakdown figures
(:mod:`.tables`); every MathIF command is parsed in :mod:`.cli`."""
