"""MathIF scoring speed: seconds per 1000 items on one CPU core (arXiv 2505.14810).

Scores synthetic responses to every MathIF item in two settings (with and without the
constraints in the prompt, as the study scores both) through :func:`tunesafe.evaluation.
mathif.evaluate`, the code behind ``tunesafe evaluate mathif``. Each response has a
thinking part (~150 words) and an answer of ~60 words that meets some constraints by
chance; half end in the reference answer, half in a wrong one (a wrong LaTeX answer goes
through math-verify, the slow path). Usage:

    taskset -c 0 python benchmarks/mathif_scoring.py [--data /path/to/mathif]

Prints the one-off start-up (imports, langdetect profiles, sympy) and the steady-state
seconds per 1000 items over the 2 x 420 items, after one warm-up pass on other responses
(parsed answers are cached within a run, so the timed pass gets fresh responses), the
constraint checks alone, and how many answers went through math-verify's parser.
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


def response(rng: random.Random, item: dict, correct: bool) -> str:
    thinking = " ".join(rng.choice(WORDS) for _ in range(150))
    answer = " ".join(rng.choice(WORDS) for _ in range(60))
    if rng.random() < 0.5:
        answer = answer.lower().replace(",", "")
    if rng.random() < 0.3:
        answer = f'"{answer}"'
    ref = str(item["answer"]).strip().strip("$")
    boxed = ref if correct else (str(int(ref) + 1) if ref.isdigit() else f"{ref} + 1")
    return f"<think>\n{thinking}\n</think>\n\n{answer} The answer is \\boxed{{{boxed}}}."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/shared/real-formats/mathif",
                        help="MathIF directory, file or HF id (default: the real files)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    from tunesafe.evaluation.mathif import check, evaluate, split_thinking
    from tunesafe.evaluation.mathif.checkers import detect_language
    from tunesafe.evaluation.mathif.scoring import _parsed, is_correct
    from tunesafe.mathif.data import load_mathif

    items = load_mathif(args.data)
    detect_language("warm up the language profiles")
    is_correct("\\boxed{\\frac{1}{2}}", "0.5")  # imports sympy / math-verify
    startup = time.perf_counter() - t0
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for setting in ("warmup", "constraints", "no_constraints"):
            path = Path(tmp) / f"{setting}.jsonl"
            path.write_text("".join(json.dumps({"response": response(rng, it, rng.random() < 0.5)}) + "\n"
                                    for it in items))
            files.append(path)
        evaluate(args.data, files[0], Path(tmp) / "o.json")
        parses_before = _parsed.cache_info().misses
        t = time.perf_counter()
        results = [evaluate(args.data, f, Path(tmp) / "o.json") for f in files[1:]]
        best = time.perf_counter() - t
        parses = _parsed.cache_info().misses - parses_before
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
        "items_scored": n, "cpu_cores_allowed": cores, "startup_s": round(startup, 3),
        "seconds": round(best, 3), "seconds_per_1000_items": round(1000 * best / n, 3),
        "checks_only_seconds_per_1000_items": round(1000 * checks / n, 3),
        # answers (references and predictions) that needed math-verify's LaTeX parser in
        # the timed pass: the rest of the cost
        "math_verify_parses": parses,
        "hacc": [round(r["hacc"], 4) for r in results], "correct": [round(r["correct"], 4) for r in results],
    }))


if __name__ == "__main__":
    main()
