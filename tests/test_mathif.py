"""MathIF (arXiv 2505.14810): checker edges, thinking removal, loader, scoring, workflow."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from tunesafe.errors import TunesafeError
from tunesafe.mathif.checkers import CHECKERS, check
from tunesafe.mathif.data import (
    COT,
    FILES,
    intervention_records,
    load_mathif,
    prompt_records,
    user_prompt,
)
from tunesafe.mathif.evaluate import evaluate
from tunesafe.mathif.scoring import final_answer, math_verify_correct, score_item, split_thinking

# The official MathIF files (TingchenFu/MathIF data/), where a machine has them: MATHIF_DATA
# names the directory; without it the tests on the real files skip.
REAL = Path(os.environ.get("MATHIF_DATA", "/nonexistent"))


def test_all_fifteen_constraints_are_registered():
    assert len(CHECKERS) == 15


@pytest.mark.parametrize("name,answer,args,expected", [
    # length: \w+ tokens; "less than" is <, "at least" is >=
    ("length_constraint_checkers:number_words", "one two three", {"num_words": 3, "relation": "less than"}, False),
    ("length_constraint_checkers:number_words", "one two", {"num_words": 3, "relation": "less than"}, True),
    ("length_constraint_checkers:number_words", "one, two-three!", {"num_words": 3, "relation": "at least"}, True),
    ("length_constraint_checkers:number_words", "x_y", {"num_words": 2, "relation": "at least"}, False),
    # language: top language equals the code; undecidable (no letters) passes
    ("language:response_language", "Ceci est une réponse écrite entièrement en français, bien sûr.", {"language": "fr"}, True),
    ("language:response_language", "This answer is written entirely in the English language.", {"language": "fr"}, False),
    ("language:response_language", "123 + 456 = 579 !!!", {"language": "th"}, True),
    # keywords: substring, case-insensitive, no word boundary
    ("keywords:existence", "BECAUSE the problemset", {"keywords": ["because", "problem"]}, True),
    ("keywords:existence", "because", {"keywords": ["because", "problem"]}, False),
    ("keywords:existence", "costs $5 (a.b)", {"keywords": ["(a.b)"]}, True),
    ("keywords:frequency", "Because because becausE", {"keyword": "because", "frequency": 3, "relation": "less than"}, False),
    ("keywords:frequency", "becausebecause", {"keyword": " because ", "frequency": 2, "relation": "at least"}, True),
    ("keywords:frequency", "no keyword here", {"keyword": "win", "frequency": 1, "relation": "less than"}, True),
    # forbidden words: whole word only
    ("keywords:forbidden_words", "the winner is", {"forbidden_words": ["win"]}, True),
    ("keywords:forbidden_words", "we WIN.", {"forbidden_words": ["win"]}, False),
    ("keywords:forbidden_words", "max-imum", {"forbidden_words": ["maximum", "imum"]}, False),
    # bullets: "*" + non-"*" or "-" at line start (after whitespace); exact count
    ("detectable_format:number_bullet_lists", "* a\n  * b\n- c", {"num_bullets": 3}, True),
    ("detectable_format:number_bullet_lists", "**bold** line\n* a", {"num_bullets": 1}, True),
    ("detectable_format:number_bullet_lists", "* a\n* b\n* c", {"num_bullets": 2}, False),
    ("detectable_format:number_bullet_lists", "*", {"num_bullets": 1}, False),
    ("detectable_format:number_bullet_lists", "a - b\n--- rule", {"num_bullets": 1}, True),
    # highlights: *x* and **x**; blank spans ("**") do not count
    ("detectable_format:number_highlighted_sections", "*one* and *two*", {"num_highlights": 2}, True),
    ("detectable_format:number_highlighted_sections", "**bold**", {"num_highlights": 1}, True),
    ("detectable_format:number_highlighted_sections", "**bold**", {"num_highlights": 2}, False),  # "**" spans are blank
    ("detectable_format:number_highlighted_sections", "** ** and * *", {"num_highlights": 1}, False),
    ("detectable_format:number_highlighted_sections", "*across\nlines*", {"num_highlights": 1}, False),
    # sections: splitter + digits; pieces - 1 >= n
    ("detectable_format:multiple_sections", "SECTION 1\na\nSECTION 2\nb", {"section_spliter": "SECTION", "num_sections": 2}, True),
    ("detectable_format:multiple_sections", "SECTION 1\na\nSECTION X\nb", {"section_spliter": "SECTION", "num_sections": 2}, False),
    ("detectable_format:multiple_sections", "Section1 a Section 2 b", {"section_spliter": " Section ", "num_sections": 2}, True),
    ("detectable_format:multiple_sections", "section 1 a section 2 b", {"section_spliter": "Section", "num_sections": 1}, False),
    # case: whole text upper/lower + English; undecidable passes
    ("change_case:english_capital", "THE ANSWER IS SEVEN BECAUSE THREE PLUS FOUR IS SEVEN.", None, True),
    ("change_case:english_capital", "THE ANSWER IS seven.", None, False),
    ("change_case:english_capital", "THE ANSWER, 7", None, True),
    ("change_case:english_capital", "123", None, False),  # no cased character: isupper() is False
    ("change_case:english_lowercase", "the answer is seven because three plus four is seven.", None, True),
    ("change_case:english_lowercase", "the answer is Seven.", None, False),
    ("change_case:english_lowercase", "la respuesta es siete porque tres más cuatro son siete.", None, False),
    # capital words: all-uppercase tokens
    ("change_case:capital_word_frequency", "NASA and the USA, a X2 b", {"capital_frequency": 3, "capital_relation": "at least"}, True),
    ("change_case:capital_word_frequency", "NASA and the USA", {"capital_frequency": 2, "capital_relation": "less than"}, False),
    ("change_case:capital_word_frequency", "I am. OK.", {"capital_frequency": 2, "capital_relation": "at least"}, True),
    # commas: ASCII only
    ("punctuation:no_comma", "one，two", None, True),
    ("punctuation:no_comma", "one, two", None, False),
    # repeat prompt: stripped, lower-cased prefix
    ("combination:repeat_prompt", "  what is 1+1? It is 2.", {"prompt_to_repeat": " What is 1+1?"}, True),
    ("combination:repeat_prompt", "Sure. What is 1+1? 2", {"prompt_to_repeat": "What is 1+1?"}, False),
    # end phrase: surrounding quotes removed, lower case
    ("startend:end_checker", '"The answer is 2. Any other questions?"', {"end_phrase": "Any other questions?"}, True),
    ("startend:end_checker", "any OTHER questions?  \n", {"end_phrase": " Any other questions? "}, True),
    ("startend:end_checker", "Any other questions? Thanks", {"end_phrase": "Any other questions?"}, False),
    # quotation: longer than one character
    ("startend:quotation", '  "x"  ', None, True),
    ("startend:quotation", '"', None, False),
    ("startend:quotation", '""', None, True),
    ("startend:quotation", '"x" y', None, False),
])
def test_checker_edges(name, answer, args, expected):
    assert check(name, answer, args) is expected


def test_punctuation_only_text_is_undecidable_and_passes():
    assert check("language:response_language", "?!... 42", {"language": "ja"}) is True
    assert check("change_case:english_capital", "!!!", None) is False  # isupper() needs a cased letter


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_empty_answer_fails_every_constraint(name):
    args = {"num_words": 5, "relation": "less than", "language": "en", "keywords": ["a"], "keyword": "a",
            "frequency": 1, "forbidden_words": ["a"], "num_bullets": 1, "num_highlights": 1,
            "section_spliter": "SECTION", "num_sections": 1, "capital_frequency": 1, "capital_relation": "less than",
            "prompt_to_repeat": "q", "end_phrase": "bye"}
    required = CHECKERS[name].required
    assert check(name, "   \n", {k: args[k] for k in required}) is False


def test_language_detection_is_deterministic():
    text = "ok si"
    assert len({check("language:response_language", text, {"language": "en"}) for _ in range(20)}) == 1


def test_unknown_constraint_and_missing_args_are_errors_naming_them():
    with pytest.raises(TunesafeError, match="keywords:existance.*did you mean 'keywords:existence'"):
        check("keywords:existance", "x", {"keywords": ["x"]})
    with pytest.raises(TunesafeError, match="num_bullets"):
        check("detectable_format:number_bullet_lists", "* a", {"num_bullets": 0})  # falsy: dropped


def test_falsy_args_are_dropped():
    assert check("punctuation:no_comma", "no commas", {"unused": None, "x": ""}) is True


@pytest.mark.parametrize("response,thinking,answer", [
    ("<think>a</think>b", "a", "b"),
    ("a</think>b", "a", "b"),  # R1 templates open <think> in the prompt
    ("<think>a b", "a b", "a b"),  # never closed: the text after <think>
    ("plain", "", "plain"),
    ("<think>a</think>x<answer>y</answer>z", "a", "y"),
    ("<think>a</think>b</think>c", "a", "b"),  # split(tag)[1], as official
])
def test_split_thinking(response, thinking, answer):
    assert split_thinking(response) == (thinking, answer)


@pytest.mark.parametrize("text,reference,ok", [
    ("so \\boxed{7}", "7", True),
    ("\\boxed{1} then \\boxed{\\frac{1}{2}}", "0.5", True),
    ("The answer is 33.", "033", True),
    ("#### 12", "12.0", True),
    ("\\boxed{3.61 \\times 10^{-10}}", "3.61e-10", True),
    ("\\boxed{\\arcsin(10/13)}", "np.arcsin(10/13)", True),
    ("\\boxed{(2, 4)}", "$(2,4)$", True),
    ("\\boxed{288\\pi}", "288 \\pi", True),
    ("\\boxed{8}", "7", False),
    ("no answer at all", "7", False),
])
def test_math_verify_correctness(text, reference, ok):
    assert math_verify_correct(text, reference) is ok


def test_final_answer_prefers_boxed():
    assert final_answer("the answer is 3, so \\boxed{4}") == "4"


def test_evaluate_correctness_judge_is_selectable(tmp_path):
    # 200 for 2: the official grader's percent leniency (2 * 100) accepts it, math-verify not
    d, r = tmp_path / "d.jsonl", tmp_path / "r.jsonl"
    _write(d, [_item(["punctuation:no_comma"], [None], answer="2")])
    r.write_text(json.dumps({"response": "<think>x</think>\\boxed{200}"}) + "\n")
    from tunesafe.cli import main

    for judge, correct in (("official", True), ("math_verify", False)):
        out = tmp_path / f"{judge}.json"
        assert main(["evaluate", "mathif", "--data", str(d), "--responses", str(r), "--out", str(out),
                     "--correctness", judge]) == 0
        res = json.loads(out.read_text())
        assert res["correctness"] == judge and res["items"][0]["correct"] is correct
    with pytest.raises(TunesafeError, match="--correctness 'sympy'"):
        evaluate(d, r, tmp_path / "x.json", correctness="sympy")


def _item(names, args, question="What is 1+1?", answer="2"):
    return {"source": "toy", "id": "x", "question": question, "answer": answer,
            "constraint_desc": [f"desc {n}" for n in names], "constraint_name": names, "constraint_args": args}


def _write(path: Path, items, blank_tail=True):
    path.write_text("".join(json.dumps(i) + "\n" for i in items) + ("\n\n" if blank_tail else ""))


def test_loader_keys_by_file_and_line_and_skips_blank_lines(tmp_path):
    d = tmp_path / "mathif"
    d.mkdir()
    _write(d / "gsm8k_single.jsonl", [_item(["punctuation:no_comma"], [None])] * 2)
    _write(d / "aime_double.jsonl", [_item(["punctuation:no_comma", "startend:quotation"], None)])
    items = load_mathif(d)
    assert [i["key"] for i in items] == ["gsm8k_single:1", "gsm8k_single:2", "aime_double:1"]
    assert [i["subset"] for i in items] == ["gsm8k", "gsm8k", "aime"]
    assert items[2]["constraint_args"] == [None, None] and items[2]["n_constraints"] == 2


def test_loader_errors_name_file_and_line(tmp_path):
    f = tmp_path / "gsm8k_single.jsonl"
    bad = _item(["punctuation:no_comma"], [None])
    del bad["answer"]
    _write(f, [_item(["punctuation:no_comma"], [None]), bad])
    with pytest.raises(TunesafeError, match=r"gsm8k_single.jsonl:2: no 'answer'"):
        load_mathif(f)
    _write(f, [_item(["punctuation:no_comma", "startend:quotation"], [None])])
    with pytest.raises(TunesafeError, match="constraint_args"):
        load_mathif(f)


@pytest.mark.skipif(not REAL.is_dir(), reason="real MathIF files not present (set MATHIF_DATA)")
def test_loader_reads_all_420_real_items():
    items = load_mathif(REAL)
    assert len(items) == 420
    assert len({i["key"] for i in items}) == 420
    assert {i["key"].split(":")[0] for i in items} == set(FILES)
    by_subset = {s: sum(i["subset"] == s for i in items) for s in ("gsm8k", "math500", "minerva", "olympiad", "aime")}
    assert by_subset == {"gsm8k": 90, "math500": 90, "minerva": 90, "olympiad": 90, "aime": 60}
    assert {n for i in items for n in i["constraint_name"]} == set(CHECKERS)
    for it in items:  # every real item's arguments are accepted by its checkers
        for n, a in zip(it["constraint_name"], it["constraint_args"], strict=True):
            check(n, "x", a)


def test_prompts_are_the_official_user_turn(tmp_path):
    it = _item(["punctuation:no_comma", "startend:quotation"], None)
    assert user_prompt(it) == "What is 1+1?" + COT + "desc punctuation:no_comma desc startend:quotation"
    assert user_prompt(it, constraints=False) == "What is 1+1?" + COT
    f = tmp_path / "d.jsonl"
    _write(f, [it])
    rec = prompt_records(load_mathif(f))[0]
    assert [m["role"] for m in rec["messages"]] == ["user"]  # no system prompt
    inter = intervention_records(load_mathif(f), [{"id": "d:1", "response": "<think>1+1=2</think> \\boxed{2}"}])[0]
    assert inter["assistant_prefix"].startswith("<think>1+1=2\n\nWait, desc punctuation:no_comma")
    assert "</think>" not in inter["assistant_prefix"]


def test_evaluate_command_scores_in_data_order(tmp_path):
    d = tmp_path / "d.jsonl"
    _write(d, [_item(["punctuation:no_comma", "startend:quotation"], None),
               _item(["keywords:existence"], [{"keywords": ["apple"]}], answer="3")])
    r = tmp_path / "r.jsonl"
    r.write_text(json.dumps({"response": '<think>1, 2</think>"So \\boxed{2}"'}) + "\n"
                 + json.dumps({"response": "<think>apple</think>\\boxed{4}, banana"}) + "\n")
    out = tmp_path / "o.json"
    from tunesafe.cli import main

    assert main(["evaluate", "mathif", "--data", str(d), "--responses", str(r), "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert [i["follow"] for i in res["items"]] == [[True, True], [False]]
    assert [i["hard"] for i in res["items"]] == [True, False]
    assert [i["correct"] for i in res["items"]] == [True, False]
    assert res["hacc"] == 0.5 and res["sacc"] == 0.5 and res["correct"] == 0.5
    assert res["items"][0]["thinking_tokens"] == 2
    assert res["correctness"] == "official"
    r.write_text(json.dumps({"response": "x"}) + "\n")
    with pytest.raises(TunesafeError, match="1 responses for 2"):
        evaluate(d, r, out)


def test_sacc_gives_partial_credit_for_items_that_meet_some_of_their_constraints(tmp_path):
    """SAcc (arXiv 2505.14810, Sec. 3.2) is the mean over items of the share of constraints met;
    here the items meet 2 of 3, 1 of 2, 0 of 1 and 1 of 1: SAcc = (2/3 + 1/2 + 0 + 1) / 4 = 13/24,
    HAcc = 1/4 (a per-item all-or-nothing SAcc would give 1/4 too)."""
    d = tmp_path / "d.jsonl"
    _write(d, [_item(["punctuation:no_comma", "startend:quotation", "keywords:existence"],
                     [None, None, {"keywords": ["apple"]}]),
               _item(["punctuation:no_comma", "keywords:existence"], [None, {"keywords": ["banana"]}]),
               _item(["punctuation:no_comma"], [None]),
               _item(["startend:quotation"], [None])])
    r = tmp_path / "r.jsonl"
    r.write_text("".join(json.dumps({"response": f"<think>x</think>{a}"}) + "\n" for a in
                         ['"apple, pie \\boxed{2}"', "no comma here \\boxed{2}", "a, b", '"x"']))
    res = evaluate(d, r, tmp_path / "o.json")
    assert [i["follow"] for i in res["items"]] == [[False, True, True], [True, False], [False], [True]]
    assert [i["soft"] for i in res["items"]] == pytest.approx([2 / 3, 1 / 2, 0.0, 1.0])
    assert res["sacc"] == pytest.approx(13 / 24) and res["hacc"] == pytest.approx(1 / 4)
    assert json.loads((tmp_path / "o.json").read_text())["sacc"] == pytest.approx(13 / 24)


def test_thinking_length_is_counted_in_tokens_of_the_given_tokenizer(tmp_path, tiny_tokenizer_dir):
    """Fig. 6 bins items by thinking length in the model's tokens: the text before </think>
    (after <think>), without special tokens; words when no tokenizer is given."""
    from transformers import AutoTokenizer

    d = tmp_path / "d.jsonl"
    _write(d, [_item(["punctuation:no_comma"], [None])] * 3)
    thinking = ["First add one and one, which gives two.", "", "Count: 1 2 3"]
    r = tmp_path / "r.jsonl"
    r.write_text(json.dumps({"response": f"<think>{thinking[0]}</think>\\boxed{{2}}"}) + "\n"
                 + json.dumps({"response": "\\boxed{2}"}) + "\n"
                 + json.dumps({"response": f"{thinking[2]}</think>\\boxed{{2}}"}) + "\n")
    res = evaluate(d, r, tokenizer=str(tiny_tokenizer_dir))
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    expected = [len(tok.encode(t, add_special_tokens=False)) for t in thinking]
    assert expected[0] > len(thinking[0].split())  # a 512-token BPE splits words: tokens != words
    assert res["thinking_unit"] == "tokens" and [i["thinking_tokens"] for i in res["items"]] == expected
    words = evaluate(d, r)
    assert words["thinking_unit"] == "words" and [i["thinking_tokens"] for i in words["items"]] == [8, 0, 4]
    with pytest.raises(TunesafeError, match="--tokenizer .*nowhere: cannot load"):
        evaluate(d, r, tokenizer=str(tmp_path / "nowhere"))


@pytest.mark.parametrize("latex,value", [
    ("288 \\pi", 288 * 3.141592653589793), ("2\\sqrt{113}", 2 * 113 ** 0.5), ("\\dfrac{17}{50}", 0.34),
    ("3.61\\times10^{-10}", 3.61e-10), ("-\\frac{\\pi}{6}", -3.141592653589793 / 6), ("\\sqrt[3]{8}", 2.0),
    ("x+1", None), ("(1,2)", None), ("__import__('os')", None), ("2^{10}", 1024.0), ("9**9**9", None),
])
def test_fast_numeric_reading_of_constant_latex(latex, value):
    from tunesafe.mathif.fastnum import latex_value

    got = latex_value(latex)
    assert (got is None) if value is None else abs(got - value) < 1e-9 * max(1, abs(value))


@pytest.mark.skipif(not REAL.is_dir(), reason="real MathIF files not present (set MATHIF_DATA)")
def test_fast_numeric_path_reads_every_plain_constant_real_reference_as_math_verify_does():
    """The fast path must take over every real reference that math-verify reads as one
    constant number and that is written in plain LaTeX arithmetic, and agree with it on each.
    The exceptions, worked out here from the text alone: degrees (``30^\\circ``), subscripts
    (``4210_{5}``), e-notation (normalised before the fast path), thousands separators,
    leading zeros (the plain-number path reads ``033``) and any letter outside a LaTeX
    command (units, symbols)."""
    import re

    import sympy
    from math_verify import parse

    from tunesafe.mathif.fastnum import latex_value

    def plain_latex(ref: str) -> bool:
        text = ref.strip("$")
        if "\\circ" in text or re.match(r"0\d", text):
            return False
        return not re.search(r"[A-Za-z_,]", re.sub(r"\\[A-Za-z]+", "", text))

    references = sorted({str(it["answer"]) for it in load_mathif(REAL)})
    constants = {}
    for ref in references:
        parsed = parse("\\boxed{" + ref.strip("$") + "}")
        if parsed and isinstance(parsed[0], sympy.Expr) and not parsed[0].free_symbols:
            with contextlib.suppress(TypeError, ValueError):
                constants[ref] = complex(parsed[0].evalf())
    handled = {ref: v for ref in references if (v := latex_value(ref)) is not None}
    expected = {ref for ref in constants if plain_latex(ref)}
    assert len(expected) > 150  # most real references are plain constants
    assert set(handled) == expected, (sorted(expected - set(handled))[:10], sorted(set(handled) - expected)[:10])
    for ref, v in handled.items():
        assert abs(constants[ref] - v) <= 1e-6 * max(1, abs(v)), ref


def test_toy_items_follow_the_schema_and_split_evenly():
    from tunesafe.mathif.toy import toy_items

    items = toy_items(12, 0)
    assert items == toy_items(12, 0)  # a pure function of (n, seed)
    assert [i["n_constraints"] for i in items] == [1, 1, 2, 2, 3, 3] * 2
    assert {i["subset"] for i in items} == {"toyadd", "toysub"}
    for it in items:
        assert set(it["constraint_name"]) <= set(CHECKERS)
        assert len(it["constraint_desc"]) == len(it["constraint_args"]) == it["n_constraints"]
        for n, a in zip(it["constraint_name"], it["constraint_args"], strict=True):
            check(n, "x", a)  # arguments accepted by the checkers


def test_toy_reasoning_labels_agree_with_the_checkers_and_no_tradeoff_is_built_into_the_data():
    from tunesafe.mathif.toy import reasoning_records

    records = reasoning_records(600, 1)
    agree, total, follow_by_steps = 0, 0, {}
    for r in records:
        m = r["meta"]
        assert r["messages"][1]["content"].startswith("<think>\n") and "</think>" in r["messages"][1]["content"]
        if not m["constraints"]:
            continue
        it = {"question": "", "answer": "0", "constraint_name": m["constraints"], "constraint_args": m["args"]}
        got = score_item(it, r["messages"][1]["content"])["follow"]
        agree += got == m["follow"]
        total += 1
        if not m["wait"]:
            follow_by_steps.setdefault(m["thinking_steps"], []).extend(got)
    assert agree / total > 0.98  # langdetect may misread a short all-capitals answer
    # following does not depend on the thinking length in the data (arXiv 2505.14810's
    # trade-off is to be measured on the trained model, not written into its data)
    short = [f for k, v in follow_by_steps.items() if k <= 2 for f in v]
    long = [f for k, v in follow_by_steps.items() if k >= 3 for f in v]
    assert abs(sum(short) / len(short) - sum(long) / len(long)) < 0.08


def test_generation_continues_an_assistant_prefix(tmp_path, tiny_model_dir):
    from tunesafe.generation import SamplingSettings
    from tunesafe.generation.run import generate_file
    from tunesafe.io import read_jsonl, write_jsonl

    prompts = tmp_path / "p.jsonl"
    write_jsonl(prompts, [{"id": "a", "messages": [{"role": "user", "content": "hi"}], "meta": {},
                           "assistant_prefix": "<think>x\n\nWait, be brief.\n"},
                          {"id": "b", "messages": [{"role": "user", "content": "hi"}], "meta": {}}])
    out = tmp_path / "g.jsonl"
    generate_file("hf", str(tiny_model_dir), str(prompts), str(out), SamplingSettings(0, 1.0, 0, 4, 0), batch_size=2)
    rows = read_jsonl(out)
    assert rows[0]["response"].startswith("<think>x\n\nWait, be brief.\n")
    assert rows[0]["assistant_prefix"] == "<think>x\n\nWait, be brief.\n"
    assert "assistant_prefix" not in rows[1]


def _scores(root: Path, model: str, setting: str, hard: list[bool], thinking: list[int], judge="official"):
    items = [{"key": f"f:{i}", "subset": "toyadd" if i % 2 else "toysub", "n_constraints": 1 + i % 3,
              "follow": [h], "hard": h, "soft": float(h), "correct": not h, "thinking_tokens": t}
             for i, (h, t) in enumerate(zip(hard, thinking, strict=True))]
    path = root / model / f"{setting}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"hacc": sum(hard) / len(hard), "sacc": sum(hard) / len(hard),
                                "correct": 1 - sum(hard) / len(hard), "correctness": judge, "items": items}))


def test_report_tables_and_figures(tmp_path):
    import pandas as pd

    from tunesafe.cli import main

    root = tmp_path / "metrics"
    for setting, hard in [("constraints", [True, False, False, True, False, False]),
                          ("no_constraints", [False] * 6), ("intervention", [True] * 6)]:
        _scores(root, "m", setting, hard, [5, 50, 60, 8, 70, 80], "math_verify" if setting == "intervention" else "official")
    numbers = tmp_path / "paper.yaml"
    numbers.write_text("mathif:\n  table3:\n    org/m: {hacc: 44.05, sacc: 61.43, correct: 58.57}\n")
    assert main(["report", "mathif", "--root", str(root), "--model", "m=org/m", "--intervention", "m",
                 "--paper", f"{numbers}:mathif.table3", "--tables", str(tmp_path), "--figures", str(tmp_path),
                 "--bins", "2"]) == 0
    table = pd.read_csv(tmp_path / "mathif.csv")
    assert table.loc[0, "HAcc (%)"] == pytest.approx(33.33) and table.loc[0, "Paper HAcc (%)"] == 44.05
    assert table.loc[0, "Correct w/o constraints (%)"] == 100.0
    inter = pd.read_csv(tmp_path / "mathif_intervention.csv")
    assert list(inter["HAcc (%)"]) == [pytest.approx(33.33), 100.0]
    assert table.loc[0, "Correctness judge"] == "official"  # the judge each row was scored with
    assert list(inter["Correctness judge"]) == ["official", "math_verify"]
    for name in ("by_constraints", "by_source", "cot_length"):
        assert (tmp_path / f"mathif_{name}.png").stat().st_size > 0 and (tmp_path / f"mathif_{name}.pdf").exists()


def test_figures_plot_the_breakdowns_of_the_hand_made_scores(tmp_path, monkeypatch):
    """The three breakdown figures (Fig. 6 and the constraint-count / source breakdowns) plot
    the means of the items' hard and soft verdicts; the expected percentages are worked out
    by hand from the six items below (model m) and from model k, which meets everything."""
    from tunesafe.mathif import tables as report

    #            subset, n_constraints, hard, soft, thinking
    m_items = [("toyadd", 1, True, 1.0, 10), ("toysub", 2, False, 0.5, 20), ("toyadd", 3, False, 1 / 3, 30),
               ("toysub", 1, False, 0.0, 40), ("toyadd", 2, True, 1.0, 50), ("toysub", 3, False, 2 / 3, 60)]
    for model, items in (("m", m_items), ("k", [(s, n, True, 1.0, t) for s, n, _, _, t in m_items])):
        rows = [{"key": f"f:{i}", "subset": s, "n_constraints": n, "follow": [h], "hard": h, "soft": soft,
                 "correct": True, "thinking_tokens": t} for i, (s, n, h, soft, t) in enumerate(items)]
        (tmp_path / model).mkdir()
        (tmp_path / model / "constraints.json").write_text(json.dumps(
            {"hacc": 0.0, "sacc": 0.0, "correct": 1.0, "items": rows}))
    plotted = {}
    save = report._save

    def capture(fig, prefix):
        panels = {}
        for ax in fig.axes:
            handles, labels = ax.get_legend_handles_labels()
            panels[ax.get_ylabel()] = {label: [float(y) for y in (h.get_ydata() if hasattr(h, "get_ydata")
                                                                   else [p.get_height() for p in h])]
                                       for h, label in zip(handles, labels, strict=True)}
        plotted[Path(prefix).name] = panels
        save(fig, prefix)

    monkeypatch.setattr(report, "_save", capture)
    tables = report.figures(tmp_path, ["m", "k"], tmp_path / "fig", bins=2)
    expected = {  # figure -> x values -> (HAcc %, SAcc %) of model m
        "mathif_by_constraints": {1: (50, 50), 2: (50, 75), 3: (0, 50)},
        "mathif_by_source": {"toyadd": (200 / 3, 700 / 9), "toysub": (0, 700 / 18)},
        "mathif_cot_length": {"10-35": (100 / 3, 1100 / 18), "35-60": (100 / 3, 500 / 9)},
    }
    by = {"mathif_by_constraints": "n_constraints", "mathif_by_source": "subset", "mathif_cot_length": "thinking length"}
    for name, cells in expected.items():
        table = tables[name.removeprefix("mathif_")]
        m = table[table["Model"] == "m"]
        assert [str(x) for x in m[by[name]]] == [str(x) for x in cells]
        assert list(m["hard"]) == pytest.approx([h for h, _ in cells.values()])
        assert list(m["soft"]) == pytest.approx([s for _, s in cells.values()])
        assert list(table.loc[table["Model"] == "k", "hard"]) == pytest.approx([100.0] * len(cells))
        assert plotted[name]["HAcc (%)"]["m"] == pytest.approx([h for h, _ in cells.values()])
        assert plotted[name]["SAcc (%)"]["m"] == pytest.approx([s for _, s in cells.values()])
        assert plotted[name]["SAcc (%)"]["k"] == pytest.approx([100.0] * len(cells))
        assert (tmp_path / "fig" / f"{name}.png").stat().st_size > 0


MATHIF_TARGETS = [f"results/tables/{n}.{e}" for n in ("mathif", "mathif_intervention") for e in ("csv", "md")]
MATHIF_TARGETS += [f"results/figures/mathif_{n}.{e}" for n in ("by_constraints", "by_source", "cot_length")
                   for e in ("pdf", "png")]


def small_mathif_config() -> dict:
    """config.yaml with a smaller toy base, toy MathIF and toy reasoning model."""
    import copy

    import yaml

    repo = Path(__file__).resolve().parents[1]
    config = copy.deepcopy(yaml.safe_load((repo / "config" / "config.yaml").read_text()))
    config["toy"]["corpus"]["base_corpus"] = 1000
    config["toy"]["base_training"]["epochs"] = 2
    m = config["mathif"]
    m["data"].update(n=12)
    m["variants"] = []  # the Safe Delta study's models: see test_mathif_variants_are_planned
    m["toy_reasoning"].update(n=160)
    m["toy_reasoning"]["training"].update(epochs=1)
    m["sampling"]["max_new_tokens"] = 100
    m["intervention_max_new_tokens"] = 60
    m["training"]["prompts"]["n"] = 16
    m["training"]["grpo"].update(steps=2, prompts_per_step=1, group_size=4, micro_batch=4, max_completion_length=40)
    config["threads"] = 1  # two one-thread jobs at a time on 2 cores, not one two-thread job
    return config


@pytest.mark.workflow
def test_mathif_workflow_builds_the_tables_and_figures(tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    import yaml

    repo = Path(__file__).resolve().parents[1]
    for item in ["Snakefile", "workflow", "config", "resources", "envs"]:
        src = repo / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    (tmp_path / "small.yaml").write_text(yaml.safe_dump(small_mathif_config(), sort_keys=False))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    training = ["results/tables/mathif_training.csv"]
    run = subprocess.run([snakemake, *MATHIF_TARGETS, *training, "--cores", "2", "--configfile", "small.yaml"],
                         cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr[-4000:]
    check_mathif_outputs(tmp_path)
    check_training_table(tmp_path)


def check_training_table(root: Path) -> None:
    """The training paradigms' table against the score files of its models: every RL variant
    and seed is a model the GRPO rule wrote and the MathIF rules scored."""
    import pandas as pd

    table = pd.read_csv(root / "results" / "tables" / "mathif_training.csv")
    per_model = table[table["Seed"] != "mean"]
    assert list(per_model["Seed"]) == ["training/base", "toy_reasoning", "rl/sft_rl/s1", "rl/sft_rl/s2", "rl/cold_rl/s1",
                                       "rl/cold_rl/s2", "rl/cold_rl_format/s1", "rl/cold_rl_format/s2"]
    for row in per_model.to_dict("records"):
        scores = json.loads((root / "results" / "metrics" / "mathif" / row["Seed"] / "constraints.json").read_text())
        assert row["HAcc (%)"] == pytest.approx(round(100 * scores["hacc"], 2))
        assert row["SAcc (%)"] == pytest.approx(round(100 * scores["sacc"], 2))
    for variant in ("sft_rl", "cold_rl", "cold_rl_format"):
        for seed in (1, 2):
            summary = json.loads((root / "results" / "models" / "mathif_rl" / variant / f"s{seed}" /
                                  "train_summary.json").read_text())
            assert summary["steps"] == 2 and len(summary["rewards"]) == 2


def check_mathif_outputs(root: Path) -> None:
    """The workflow's MathIF tables against the per-item score files it wrote."""
    import pandas as pd

    table = pd.read_csv(root / "results" / "tables" / "mathif.csv")
    assert list(table["Model"]) == ["toy_reasoning"]
    # the table's cells recomputed from the per-item verdicts of the score files
    cells = {}
    for setting in ("constraints", "no_constraints", "intervention"):
        items = json.loads((root / "results" / "metrics" / "mathif" / "toy_reasoning" /
                            f"{setting}.json").read_text())["items"]
        assert len(items) == 12 and all(len(i["follow"]) == i["n_constraints"] for i in items)
        cells[setting] = {"HAcc (%)": round(100 * sum(all(i["follow"]) for i in items) / 12, 2),
                          "SAcc (%)": round(100 * sum(sum(i["follow"]) / len(i["follow"]) for i in items) / 12, 2),
                          "Correct (%)": round(100 * sum(i["correct"] for i in items) / 12, 2),
                          "Mean thinking length": round(sum(i["thinking_tokens"] for i in items) / 12, 1)}
    c = cells["constraints"]
    assert table.loc[0, "HAcc (%)"] == pytest.approx(c["HAcc (%)"])
    assert table.loc[0, "SAcc (%)"] == pytest.approx(c["SAcc (%)"])
    assert table.loc[0, "Correct w/ constraints (%)"] == pytest.approx(c["Correct (%)"])
    assert table.loc[0, "Correct w/o constraints (%)"] == pytest.approx(cells["no_constraints"]["Correct (%)"])
    assert table.loc[0, "Correctness judge"] == "official"  # config mathif.correctness, the default
    inter = pd.read_csv(root / "results" / "tables" / "mathif_intervention.csv")
    assert list(inter["Setting"]) == ["w/o intervention", "w/ intervention"]
    for row, setting in zip(inter.to_dict("records"), ("constraints", "intervention"), strict=True):
        assert {k: row[k] for k in cells[setting]} == pytest.approx(cells[setting])
    gens = [json.loads(line) for line in
            (root / "results" / "generations" / "mathif" / "toy_reasoning" / "intervention.jsonl").open()]
    assert len(gens) == 12 and all("\n\nWait, " in g["response"] for g in gens)
    for target in MATHIF_TARGETS:
        assert (root / target).stat().st_size > 0


def test_mathif_variants_are_planned_from_the_safe_delta_study(tmp_path):
    """mathif.variants: the Safe Delta study's models (full weights and a LoRA adapter) get
    MathIF generations and rows; a bad entry is one line naming it."""
    import subprocess
    import sys

    import yaml

    from tunesafe.config import validate_config

    repo = Path(__file__).resolve().parents[1]
    snakemake = str(Path(sys.executable).with_name("snakemake"))

    def plan(variants: list[str]) -> subprocess.CompletedProcess:
        config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
        config["mathif"]["variants"] = variants
        (tmp_path / "v.yaml").write_text(yaml.safe_dump(config))
        return subprocess.run([snakemake, "-n", "--printshellcmds", "results/tables/mathif.csv",
                               "--configfile", str(tmp_path / "v.yaml")],
                              cwd=repo, capture_output=True, text=True)

    run = plan(["safedelta/math", "lora/purebad"])
    assert run.returncode == 0, run.stderr[-3000:]
    shells = [line for line in run.stdout.splitlines() if " generate " in line and "mathif" in line]
    sd = [s for s in shells if "results/generations/mathif/safedelta/math/constraints.jsonl" in s]
    assert sd and "--model results/models/safedelta/math/s" in sd[0] and "--adapter" not in sd[0]
    lora = [s for s in shells if "results/generations/mathif/lora/purebad/no_constraints.jsonl" in s]
    assert lora and "--adapter results/models/lora/purebad" in lora[0]
    assert "--model safedelta/math=safedelta/math" in run.stdout  # a row of the tables

    run = plan(["nosuch/math"])
    assert run.returncode != 0 and "mathif.variants: unknown method 'nosuch'" in run.stdout + run.stderr
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    config["mathif"]["variants"] = ["safedelta/nosuch"]
    with pytest.raises(TunesafeError, match=r"mathif.variants: safedelta/nosuch: task: 'nosuch' is not in finetune.tasks"):
        validate_config(config, repo / "config" / "schema.yaml")
