"""MathIF scoring speed: seconds per 1000 items on one CPU core (arXiv 2505.14810).

Scores synthetic responses to every MathIF item in two settings (with and without the
constraints in the prompt, as the study scores both) through :func:`tunesafe.evaluation.
mathif.evaluate`, the code behind ``tunesafe evaluate mathif``, with a correctness judge
(``--judge``, default ``official``: the official evaluator's grader, as ``tunesafe evaluate
mathif`` uses by default). Each response has a thinking part (~150 words) and an answer of
~60 words that meets some constraints by chance, ending in the reference answer (boxed,
in an equivalent form, or after "The answer is" without a box) or in a wrong one (a wrong
answer goes through sympy, the slow path). Usage:

    taskset -c 0 python benchmarks/mathif_scoring.py [--data /path/to/mathif] [--judge official]

Prints the one-off start-up (imports, langdetect profiles, sympy, pylatexenc) and the
seconds per 1000 items over the 2 x 420 items (wall clock, and CPU time of this process,
which other jobs on a shared machine disturb less), after one warm-up pass on other responses
(the grader's caches are cleared before each timed setting, so no answer is judged from a
cache filled by the warm-up or the other setting), the constraint checks alone, and how
many strings the official grader handed to sympy's parser and to ``simplify``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

WORDS = "we add the two numbers then check the result because the total must match".split()


def _final(rng: random.Random, ref: str) -> str:
    """The end of a response: a right answer in one of three forms, or a wrong one."""
    r = rng.random()
    if r < 0.3:
        return f"The answer is \\boxed{{{ref}}}."
    if r < 0.4:
        return f"The answer is {ref}."
    if r < 0.5:  # an equivalent form the normalisations must see through
        return "So \\boxed{" + (f"{ref}.0" if ref.lstrip("-").isdigit() else ref.replace("\\frac", "\\dfrac")) + "}"
    wrong = str(int(ref) + 1) if ref.lstrip("-").isdigit() else f"{ref} + 1"
    return f"The answer is \\boxed{{{wrong}}}."


def response(rng: random.Random, item: dict) -> str:
    thinking = " ".join(rng.choice(WORDS) for _ in range(150))
    answer = " ".join(rng.choice(WORDS) for _ in range(60))
    if rng.random() < 0.5:
        answer = answer.lower().replace(",", "")
    if rng.random() < 0.3:
        answer = f'"{answer}"'
    return f"<think>\n{thinking}\n</think>\n\n{answer} {_final(rng, str(item['answer']).strip().strip('$'))}"


def _clear_grader_caches() -> None:
    from tunesafe.mathif import grader

    for fn in (grader._judge, grader.normalize_prm, grader._parse, grader._simplifies_to_zero,
               grader._sympy_input_ok):
        fn.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MATHIF_DATA"), required="MATHIF_DATA" not in os.environ,
                        help="MathIF directory, file or HF id (default: $MATHIF_DATA, the real files)")
    parser.add_argument("--judge", default="official", choices=["official", "math_verify"],
                        help="correctness judge (default: official)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    from tunesafe.mathif import grader
    from tunesafe.mathif.checkers import check, detect_language
    from tunesafe.mathif.data import load_mathif
    from tunesafe.mathif.evaluate import evaluate
    from tunesafe.mathif.scoring import JUDGES, split_thinking

    items = load_mathif(args.data)
    detect_language("warm up the language profiles")
    for judge in JUDGES.values():  # imports sympy, pylatexenc, math-verify
        judge("\\boxed{\\frac{1}{2}}", "x+1")
    startup = time.perf_counter() - t0
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for setting in ("warmup", "constraints", "no_constraints"):
            path = Path(tmp) / f"{setting}.jsonl"
            path.write_text("".join(json.dumps({"response": response(rng, it)}) + "\n" for it in items))
            files.append(path)
        evaluate(args.data, files[0], Path(tmp) / "o.json", correctness=args.judge)
        best, cpu, parses, simplifies, results = 0.0, 0.0, 0, 0, []
        for f in files[1:]:
            _clear_grader_caches()
            t, c = time.perf_counter(), time.process_time()
            results.append(evaluate(args.data, f, Path(tmp) / "o.json", correctness=args.judge))
            best += time.perf_counter() - t
            cpu += time.process_time() - c
            parses += grader._parse.cache_info().misses
            simplifies += grader._simplifies_to_zero.cache_info().misses
        # the instruction-following part alone: thinking removal + the constraint checks
        t = time.perf_counter()
        for f in files[1:]:
            for it, line in zip(items, f.read_text().splitlines(), strict=True):
                answer = split_thinking(json.loads(line)["response"])[1]
                [check(n, answer, a) for n, a in zip(it["constraint_name"], it["constraint_args"], strict=True)]
        checks = time.perf_counter() - t
    n = 2 * len(items)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(json.dumps({
        "judge": args.judge, "items_scored": n, "cpu_cores_allowed": cores, "startup_s": round(startup, 3),
        "seconds": round(best, 3), "seconds_per_1000_items": round(1000 * best / n, 3),
        # CPU seconds of this process: the figure to read on a machine shared with other jobs
        "cpu_seconds_per_1000_items": round(1000 * cpu / n, 3),
        "checks_only_seconds_per_1000_items": round(1000 * checks / n, 3),
        # strings the official grader handed to sympy's parser / simplify in the timed passes
        "sympy_parses": parses if args.judge == "official" else None,
        "sympy_simplifies": simplifies if args.judge == "official" else None,
        "hacc": [round(r["hacc"], 4) for r in results], "correct": [round(r["correct"], 4) for r in results],
    }))


if __name__ == "__main__":
    main()
