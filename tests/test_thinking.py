"""When Thinking Fails arm (tunesafe.thinking): toy IFEval, final-answer scoring through
lm-eval's IFEval, agreement with lm-eval's own ``ifeval`` task, Table 1 and type deltas."""

from __future__ import annotations

import math
import os

import nltk
import pytest

from tunesafe.errors import TunesafeError
from tunesafe.thinking import ifeval, report
from tunesafe.thinking.toy import KWARG_FIELDS, answer, sft_records, toy_items


def _item(key, ids, kwargs, prompt="Explain how to cook rice."):
    full = [{f: kw.get(f) for f in KWARG_FIELDS} for kw in kwargs]
    return {"key": key, "prompt": prompt, "instruction_id_list": ids, "kwargs": full}


# hand-checked: which constraint each response meets (strict)
ITEMS = [
    _item(1, ["punctuation:no_comma"], [{}]),
    _item(2, ["punctuation:no_comma", "change_case:english_lowercase"], [{}, {}]),
    _item(3, ["keywords:existence", "startend:end_checker", "keywords:forbidden_words"],
          [{"keywords": ["river"]}, {"end_phrase": "That is all."}, {"forbidden_words": ["then"]}]),
]
RESPONSES = [
    # thinking has commas, the final answer none: passes only if the thinking is cut off
    "<think>\nfirst, boil water, then add rice\n</think>\n\nBoil the water and add the rice.",
    "boil the water, then add the rice.",                        # comma: fails; lowercase: passes
    "Boil water by the river and then add rice. That is all.",   # river yes, end yes, 'then' no
]
EXPECTED_STRICT = [[True], [False, True], [True, True, False]]


def test_toy_items_have_the_ifeval_schema_and_constraint_spans():
    items = toy_items(40, seed=3)
    assert [i["key"] for i in items] == list(range(1, 41))
    for item in items:
        assert 1 <= len(item["instruction_id_list"]) <= 3
        assert all(set(kw) == set(KWARG_FIELDS) for kw in item["kwargs"])
        # the question, then each constraint sentence, joined by single spaces, is the prompt
        spans = item["constraint_spans"]
        question = item["prompt"][: spans[0][0] - 1]
        assert question.endswith(("?", "."))
        rebuilt = " ".join([question] + [item["prompt"][a:b] for a, b in spans])
        assert rebuilt == item["prompt"]
        for name, (a, b) in zip(item["instruction_id_list"], spans, strict=True):
            if name == "punctuation:no_comma":
                assert item["prompt"][a:b] == "Do not use any commas."
    assert not ifeval.NLTK_TYPES & {t for i in items for t in i["instruction_id_list"]}
    assert toy_items(40, seed=3) == items and toy_items(40, seed=4) != items


def test_toy_answers_meet_their_constraints_by_lm_evals_checks():
    items = [i for i in toy_items(80, seed=5) if "change_case:english_capital" not in i["instruction_id_list"]]
    rows = ifeval.score_rows(items, [{"id": str(i["key"]), "response": answer(i)} for i in items])
    assert all(r["prompt_level_strict_acc"] for r in rows)
    records = sft_records(200, seed=1)
    cot = [r for r in records if r["meta"]["cot"]]
    assert 0.35 < len(cot) / len(records) < 0.65
    assert all(r["messages"][1]["content"].startswith("<think>\n") for r in cot)


def test_scores_on_the_final_answer_match_hand_checked_values():
    rows = ifeval.score_rows(ITEMS, [{"id": str(i + 1), "response": r} for i, r in enumerate(RESPONSES)])
    assert [r["inst_level_strict_acc"] for r in rows] == EXPECTED_STRICT
    agg = ifeval.aggregate(rows)
    assert agg["prompt_level_strict_acc"] == pytest.approx(100 / 3)
    assert agg["inst_level_strict_acc"] == pytest.approx(100 * 4 / 6)  # pooled over instructions
    assert agg["per_type_strict"]["punctuation:no_comma"] == pytest.approx(50.0)
    assert agg["n"] == 3


def test_scores_agree_with_lm_evals_own_ifeval_task():
    """The task's YAML (process_results and aggregations) on the same final answers."""
    from lm_eval.tasks._yaml_loader import load_yaml

    utils = ifeval.lm_eval_ifeval(ITEMS)
    task = load_yaml(os.path.join(os.path.dirname(utils.__file__), "ifeval.yaml"))
    answers = [ifeval.final_answer(r) for r in RESPONSES]
    per_doc = [task["process_results"](doc, [a]) for doc, a in zip(ITEMS, answers, strict=True)]
    ours = ifeval.aggregate(ifeval.score_rows(ITEMS, [{"id": str(i + 1), "response": r}
                                                      for i, r in enumerate(RESPONSES)]))
    for metric in task["metric_list"]:
        agg = metric["aggregation"]
        values = [d[metric["metric"]] for d in per_doc]
        theirs = sum(values) / len(values) if agg == "mean" else agg(values)
        assert ours[metric["metric"]] == pytest.approx(100 * theirs), metric["metric"]


def test_missing_punkt_tab_is_one_line_naming_the_data(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    item = _item(1, ["length_constraints:number_sentences"], [{"num_sentences": 2, "relation": "less than"}])
    with pytest.raises(TunesafeError, match="punkt_tab.*number_sentences"):
        ifeval.score_rows([item], [{"id": "1", "response": "One. Two."}])


def test_self_reflection_prompt_shows_the_cot_final_answer_then_asks_to_revise():
    cot = ifeval.prompts(ITEMS[:1], "cot", "THINK")
    out = ifeval.reflection_prompts(cot, [{"id": "1", "response": RESPONSES[0]}], "CHECK")
    assert [m["role"] for m in out[0]["messages"]] == ["user", "assistant", "user"]
    assert out[0]["messages"][1]["content"] == "Boil the water and add the rice."  # no thinking
    assert out[0]["messages"][2]["content"] == "CHECK" and out[0]["meta"]["condition"] == "reflect"
    with pytest.raises(TunesafeError, match="no CoT generation with id '1'"):
        ifeval.reflection_prompts(cot, [], "CHECK")


def test_few_shot_prompts_put_the_example_turns_first():
    shots = sft_records(2, seed=0, cot_share=1.0)
    out = ifeval.prompts(ITEMS[:1], "fewshot", "THINK", shots)[0]["messages"]
    assert [m["role"] for m in out] == ["user", "assistant", "user", "assistant", "user"]
    assert out[1]["content"].startswith("<think>\n") and out[3] == shots[1]["messages"][1]
    assert out[-1]["content"] == "Explain how to cook rice. THINK"
    with pytest.raises(TunesafeError, match="fewshot needs examples"):
        ifeval.prompts(ITEMS[:1], "fewshot", "THINK", [])


def test_prompts_and_bad_rows():
    cot = ifeval.prompts(ITEMS, "cot", "THINK")
    assert cot[0]["messages"][0]["content"] == "Explain how to cook rice. THINK"
    assert ifeval.prompts(ITEMS, "direct")[0]["messages"][0]["content"] == "Explain how to cook rice."
    with pytest.raises(TunesafeError, match="row 1: missing kwargs"):
        ifeval.check_items([{"key": 1, "prompt": "x", "instruction_id_list": []}], "f.jsonl")
    with pytest.raises(TunesafeError, match="no response with id 2"):
        ifeval.score_rows(ITEMS[:2], [{"id": "1", "response": "a"}])


def test_table1_and_type_deltas_average_over_seeds():
    def s(p, t):
        return {"prompt_level_strict_acc": p, "inst_level_strict_acc": p, "prompt_level_loose_acc": p,
                "inst_level_loose_acc": p, "per_type_strict": {"a": t}, "per_type_n": {"a": 2}}

    scores = {("toy-seed1", "direct"): s(50, 100), ("toy-seed1", "cot"): s(40, 50),
              ("toy-seed2", "direct"): s(60, 50), ("toy-seed2", "cot"): s(30, 0)}
    t1 = report.table1(scores, {"toy": "toy"}, {"toy": {"direct": 70.0}}).iloc[0]
    assert t1["runs"] == 2 and t1["prompt_strict_direct"] == 55 and t1["prompt_strict_cot"] == 35
    assert t1["prompt_strict_delta"] == -20
    assert t1["prompt_strict_delta_sd"] == pytest.approx(math.sqrt(200))  # deltas -10 and -30
    assert t1["paper_prompt_strict_direct"] == 70.0 and math.isnan(t1["paper_prompt_strict_cot"])
    types = report.types_table(scores).iloc[0]
    assert (types["n"], types["direct"], types["cot"], types["delta"]) == (4, 75, 25, -50)


def test_constraint_attention_on_hand_made_attention():
    import torch

    from tunesafe.thinking.attention import beta, summary, token_sets

    # text "ab cd|ef": tokens at chars [0,2) [3,5) [5,6) [6,8); constraint span [3,5); answer from 6
    c, ans = token_sets([(0, 2), (3, 5), (5, 6), (6, 8)], [(3, 5)], answer_start=6)
    assert (c, ans) == ([1], [3])
    # 1 layer, 2 heads, 4 tokens: token 3 puts 0.2 and 0.6 on token 1 -> head mean 0.4
    a = torch.zeros(1, 2, 4, 4)
    a[0, 0, 3] = torch.tensor([0.5, 0.2, 0.2, 0.1])
    a[0, 1, 3] = torch.tensor([0.1, 0.6, 0.2, 0.1])
    raw, norm = beta([a], [1], [3])
    assert raw == [pytest.approx(0.4)]
    assert norm == [pytest.approx(0.4 / (1 / 4))]  # uniform share of |C| = 1 among 4 keys
    rows = [{"case": "fixes", "direct": {"beta": [0.5], "beta_norm": [2.0]}, "cot": {"beta": [0.2], "beta_norm": [1.0]}},
            {"case": "same", "direct": {"beta": [0.3], "beta_norm": [1.0]}, "cot": {"beta": [0.3], "beta_norm": [1.0]}}]
    table = {(r["case"], r["layer"]): r for r in summary(rows)}
    assert table[("all", 0)]["beta_drop"] == pytest.approx(0.15) and table[("all", 0)]["n"] == 2
    assert table[("fixes", 0)]["beta_norm_drop"] == pytest.approx(1.0) and ("breaks", 0) not in table


def test_constraint_attention_teacher_forced_on_a_tiny_model(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tunesafe.thinking.attention import item_betas

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="eager").eval()
    item = {"key": 1, "prompt": "Cook rice. Do not use any commas.", "constraint_spans": [[11, 33]]}
    gen = {"id": "1", "prompt_text": "[INST] Cook rice. Do not use any commas. [/INST]",
           "response": "<think>\nboil water\n</think>\n\nBoil the water and add rice."}
    out = item_betas(model, tok, item, gen)
    assert len(out["beta"]) == model.config.num_hidden_layers and out["n_c"] > 0 and out["n_answer"] > 0
    assert all(0 < b <= 1 for b in out["beta"])  # attention mass on a subset of the keys


def test_classifier_selective_reasoning_learns_where_cot_helps():
    from tunesafe.thinking.selective import classifier_selective

    # type A: CoT passes, direct fails; type B: the reverse. The instruction decides it.
    items, direct, cot = [], [], []
    for k in range(1, 41):
        t = "startend:quotation" if k % 2 else "punctuation:no_comma"
        items.append({"key": k, "prompt": f"Task {k}. " + ("Use quotes." if k % 2 else "No commas."),
                      "instruction_id_list": [t]})
        helps = bool(k % 2)
        direct.append({"key": k, "prompt_level_strict_acc": not helps, "inst_level_strict_acc": [not helps]})
        cot.append({"key": k, "prompt_level_strict_acc": helps, "inst_level_strict_acc": [helps]})
    out = classifier_selective(items, direct, cot, seed=3, extra={"reflect": direct})
    assert (out["n_train"], out["n_test"]) == (20, 20)
    assert out["direct_prompt_strict"] + out["cot_prompt_strict"] == pytest.approx(100)
    assert out["oracle_prompt_strict"] == 100 and out["classifier_acc"] == 100
    assert out["classifier_selective_prompt_strict"] == 100
    assert out["cot_chosen"] == pytest.approx(out["cot_prompt_strict"])
    assert out["reflect_prompt_strict"] == out["direct_prompt_strict"]  # same rows, same half


def test_paper_config_plans_every_model_and_condition_greedy_offline():
    """`snakemake -n -p --configfile config/paper.yaml thinking_report`: every model x
    condition generated at temperature 0, IFEval from google/IFEval, NLTK data fetched."""
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[1]
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    run = subprocess.run([snakemake, "thinking_report", "results/tables/wtf_complexbench.csv", "-n", "-p",
                          "--configfile", "config/paper.yaml"],
                         cwd=repo, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    think = yaml.safe_load((repo / "config" / "paper.yaml").read_text())["thinking"]
    models, switch = think["models"], think["enable_thinking"]
    assert sorted(switch.values()) == [False, True]  # Table 2: a Qwen3 with thinking off and on
    gen = [line for line in out.splitlines() if " generate --engine " in line and "/ifeval/" in line]
    assert len(gen) == 4 * len(models)  # direct, CoT and the self-selective and self-reflection mitigations
    for name, ref in models.items():
        for cond in ("direct", "cot", "selfselect", "reflect"):
            line = next(g for g in gen if f"--out results/generations/thinking/{name}/ifeval/{cond}.jsonl" in g)
            assert f"--model {ref} " in line and "--temperature 0 " in line and f"/{cond}.jsonl" in line
            flag = {True: "true", False: "false"}.get(switch.get(name))
            kwargs = f"""--chat-template-kwargs '{{"enable_thinking": {flag}}}'"""
            assert (kwargs in line) if flag else ("--chat-template-kwargs" not in line)
    assert "thinking prepare --source hf --id google/IFEval --split train" in out
    # ComplexBench (Table 1): every model x {direct, CoT} generated and scored by the LLM judge
    for name in models:
        for cond in ("direct", "cot"):
            assert f"--out results/generations/thinking/{name}/complexbench/{cond}.jsonl" in out
            assert f"--responses results/generations/thinking/{name}/complexbench/{cond}.jsonl" in out
    assert out.count("thinking complexbench-score ") == 2 * len(models)
    assert "--judge openai --judge-model gpt-4-1106-preview" in out
    assert f"--prompts results/thinking/prompts/{name}/ifeval/reflect.jsonl" in out
    assert "thinking nltk-data --out results/nltk_data" in out and "--nltk-data results/nltk_data > " in out


def test_cot_length_correlation_on_hand_made_rows(tmp_path):
    from tunesafe.io import write_jsonl

    # lengths 10, 20, 30, 100 with pass, pass, fail, fail: Pearson r by hand: x - mean = -30,
    # -20, -10, 60; y - mean = .5, .5, -.5, -.5; sum xy = -50; sqrt(5000 * 1) (Spearman: -0.894)
    rows = [{"thinking_chars": n, "prompt_level_strict_acc": ok, "inst_level_strict_acc": [ok]}
            for n, ok in [(10, True), (20, True), (30, False), (100, False)]]
    write_jsonl(tmp_path / "m-seed1" / "ifeval" / "cot_rows.jsonl", rows[:2])
    write_jsonl(tmp_path / "m-seed2" / "ifeval" / "cot_rows.jsonl", rows[2:])
    t = report.cot_length_table(tmp_path, ["m-seed1", "m-seed2"]).iloc[0]
    assert t["model"] == "m" and t["n"] == 4 and t["mean_thinking_chars"] == 40
    assert t["r_prompt_strict"] == pytest.approx(-50 / math.sqrt(5000), abs=1e-9)


def test_case_checks_are_deterministic_across_runs():
    """langdetect samples: without a fixed seed the same upper-case text flips verdicts."""
    import subprocess
    import sys

    code = ("from tunesafe.thinking.ifeval import score_rows\n"
            "from tunesafe.thinking.toy import KWARG_FIELDS\n"
            "texts = ['SURE! TO PAINT A FENCE, FIRST CLEAN A FENCE.', 'OK FINE DONE NOW', 'HALLO WELT JA',"
            " 'SURE! TO COOK PASTA BOIL SOME WATER THEN ADD PASTA TO THE POT.', 'CIAO BELLA ROMA']\n"
            "items = [{'key': i, 'prompt': 'x', 'instruction_id_list': ['change_case:english_capital'],"
            " 'kwargs': [dict.fromkeys(KWARG_FIELDS)]} for i in range(len(texts))]\n"
            "rows = score_rows(items, [{'id': str(i), 'response': t} for i, t in enumerate(texts * 1)])\n"
            "print([r['prompt_level_strict_acc'] for r in rows])\n")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(4)}
    assert len(outs) == 1, outs


def test_mitigation_table_has_one_row_per_method_averaged_over_runs(tmp_path):
    from tunesafe.io import write_json

    def s(direct, reflect, acc):
        return {"n_test": 10, "direct_prompt_strict": direct, "direct_inst_strict": direct + 1,
                "classifier_selective_prompt_strict": 50.0, "classifier_selective_inst_strict": 60.0,
                "classifier_acc": acc, "cot_chosen": 0.0, "reflect_prompt_strict": reflect,
                "reflect_inst_strict": reflect, "seed": 0}

    write_json(tmp_path / "m-seed1" / "ifeval" / "selective.json", s(40.0, 10.0, 80.0))
    write_json(tmp_path / "m-seed2" / "ifeval" / "selective.json", s(60.0, 30.0, 90.0))
    t = report.mitigations_table(tmp_path, ["m-seed1", "m-seed2"]).set_index("method")
    assert list(t.index) == ["direct", "self-reflection", "classifier-selective"]
    assert t.loc["direct", "prompt_strict"] == 50 and t.loc["direct", "inst_strict"] == 51
    assert t.loc["self-reflection", "prompt_strict"] == 20 and t.loc["classifier-selective", "classifier_acc"] == 85
    assert math.isnan(t.loc["direct", "classifier_acc"]) and (t["runs"] == 2).all()


def test_report_command_writes_every_table_with_the_paper_numbers(tmp_path):
    """`tunesafe report thinking` as the rule runs it: score files in, the four tables and the
    figure out, the paper's numbers read through --paper FILE:KEY."""
    import pandas as pd

    from tunesafe.cli import main
    from tunesafe.io import write_json, write_jsonl

    score = {"prompt_level_strict_acc": 50.0, "inst_level_strict_acc": 60.0, "prompt_level_loose_acc": 50.0,
             "inst_level_loose_acc": 60.0, "per_type_strict": {"a": 50.0}, "per_type_n": {"a": 2}}
    for condition, p in [("direct", 50.0), ("cot", 30.0)]:
        write_json(tmp_path / "m" / "toy-seed1" / "ifeval" / f"{condition}.json", {**score, "prompt_level_strict_acc": p})
    write_jsonl(tmp_path / "m" / "toy-seed1" / "ifeval" / "cot_rows.jsonl",
                [{"thinking_chars": n, "prompt_level_strict_acc": ok, "inst_level_strict_acc": [ok]}
                 for n, ok in [(10, True), (30, False)]])
    write_json(tmp_path / "m" / "toy-seed1" / "ifeval" / "selective.json",
               {"n_test": 2, "direct_prompt_strict": 50.0, "direct_inst_strict": 60.0,
                "classifier_selective_prompt_strict": 50.0, "classifier_selective_inst_strict": 60.0,
                "classifier_acc": 100.0, "cot_chosen": 0.0, "seed": 0})
    (tmp_path / "paper.yaml").write_text("thinking:\n  table1:\n    toy-id: {direct: 70.0, cot: 61.0}\n")
    assert main(["report", "thinking", "--root", str(tmp_path / "m"), "--run", "toy-seed1", "--model-id",
                 "toy=toy-id", "--paper", f"{tmp_path / 'paper.yaml'}:thinking.table1", "--mitigations",
                 "--tables", str(tmp_path / "t"), "--figures", str(tmp_path / "f")]) == 0
    t1 = pd.read_csv(tmp_path / "t" / "wtf_ifeval.csv").iloc[0]
    assert (t1["prompt_strict_direct"], t1["prompt_strict_cot"], t1["paper_prompt_strict_cot"]) == (50, 30, 61.0)
    for name in ["wtf_types", "wtf_cot_length", "wtf_mitigations"]:
        assert (tmp_path / "t" / f"{name}.csv").exists() and (tmp_path / "t" / f"{name}.md").exists()
    assert (tmp_path / "f" / "wtf_types.png").exists()
    assert main(["report", "thinking", "--root", str(tmp_path / "m"), "--run", "toy-seed1",
                 "--paper", f"{tmp_path / 'paper.yaml'}:thinking.table9", "--tables", str(tmp_path / "t2")]) == 2


def test_constraint_spans_of_real_ifeval_items_are_the_sentences_stating_each_instruction():
    """Hand-written items in the google/IFEval schema; expected spans found by hand with
    str.index on the sentences that state the instructions."""
    from tunesafe.thinking.spans import constraint_spans, with_spans

    task = "Write a short story about a lighthouse keeper who finds a lost whale."
    words = "The story should have at least 300 words."
    case = "Your entire response should be in english, and in all lowercase letters."
    avoid = "Do not include the words sea or storm in the response."
    prompt = f"{task} {words}\n{case} {avoid}"
    item = _item(7, ["length_constraints:number_words", "change_case:english_lowercase", "keywords:forbidden_words"],
                 [{"num_words": 300, "relation": "at least"}, {}, {"forbidden_words": ["sea", "storm"]}], prompt)

    def at(s):
        return [prompt.index(s), prompt.index(s) + len(s)]

    assert constraint_spans(item) == [at(words), at(case), at(avoid)]
    # a cue word in the task sentence does not count when a later sentence also has it; the
    # kwarg value ("P.S.") wins over cues; a type found nowhere adds nothing
    prompt2 = "Explain why lowercase letters came after capitals. Answer in lowercase. At the end, add a note starting with P.S."
    item2 = _item(8, ["change_case:english_lowercase", "detectable_content:postscript", "punctuation:no_comma"],
                  [{}, {"postscript_marker": "P.S."}, {}], prompt2)
    assert constraint_spans(item2) == [[prompt2.index("Answer"), prompt2.index("Answer") + len("Answer in lowercase.")],
                                       [prompt2.index("At the end"), len(prompt2)]]
    toy = toy_items(3, seed=1)
    assert with_spans(toy) == toy  # the toy generator's exact spans are kept
    assert with_spans([item])[0]["constraint_spans"] == [at(words), at(case), at(avoid)]
