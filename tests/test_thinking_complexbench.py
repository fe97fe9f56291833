"""ComplexBench for the When Thinking Fails arm: the real schema, DRFR with the official
dependency rule, rule checks as the official con_rule.py, LLM verdicts as the official parse."""

from __future__ import annotations

import json

import pytest

from tunesafe.errors import TunesafeError
from tunesafe.thinking import complexbench as cb
from tunesafe.thinking.complexbench_rules import check, extracted_parts


def _q(point_id, question, rule, dep):
    return {"point_id": point_id, "question": question + " (zh)", "question_en": question, "rule": rule,
            "constraint_dimensions": [], "composition_types": [], "dep": dep}


# a hand-written item in the data_final.json schema with a dependency chain 0 <- 1 <- 2
ITEM = {"main_id": 5, "group": "", "idx_in_group": 0, "instruction": "(zh)",
        "instruction_en": "Describe a lighthouse in one short sentence.", "task_types": "Creative Writing",
        "constraint_dimensions": ["Length"], "composition_types": ["And"], "category": "And_1",
        "scoring_questions": [_q(0, "Is it about the sea?", None, []),
                              _q(1, "Is the sentence at most 30 characters?", "model_length:[1,30]", [0]),
                              _q(2, "Is it one sentence?", None, [1]),
                              _q(3, "Does it mention a lighthouse?", "keyword:[lighthouse]", []),
                              _q(4, "Is each part short?", "model_length_each:[1,5]", [])]}
ANSWER = "A lighthouse stands tall."
JUDGE = "EVAL <{input}> <{output}> <{question}>"
EXTRACT = "EXTRACT <{instruction}> <{response}> <{question}>"
# the judge's replies by question: q0 no, q2 yes; extractions: q1 the whole answer, q3 a part
REPLIES = {"Is it about the sea?": "答案：否", "Is it one sentence?": "答案：是",
           "Is the sentence at most 30 characters?": "评分对象：all",
           "Does it mention a lighthouse?": "评测对象：A lighthouse stands tall."}


def _grade(seen):
    def grade(prompts):
        seen.extend(prompts)
        return [next(v for k, v in REPLIES.items() if f"<{k}>" in p) for p in prompts]
    return grade


def test_drfr_counts_a_question_only_with_its_direct_dependencies_met():
    """By hand: raw verdicts q0 no, q1 yes (25 chars <= 30), q2 yes, q3 yes, q4 unscored (a rule
    kind not restated). Official get_rely_judgment: q1 fails through q0; q2 depends on q1's
    own (raw) verdict, yes, so it stays. DRFR = 2 of the 4 scored = 50%."""
    seen = []
    response = {"id": "5", "response": "<think>\nthe sea, waves\n</think>\n\n" + ANSWER}
    rows = cb.score_rows([ITEM], [response], _grade(seen), JUDGE, EXTRACT)
    assert rows[0]["verdicts"] == [False, True, True, True, None]
    assert rows[0]["judged"] == [False, False, True, True, None]
    assert cb.drfr(rows) == {"drfr": 50.0, "n_items": 1, "n_questions": 5, "n_rule_unscored": 1}
    # the judge sees the English instruction and the final answer only, never the thinking
    assert seen[0] == f"EVAL <{ITEM['instruction_en']}> <{ANSWER}> <Is it about the sea?>"
    assert len(seen) == 4 and all("waves" not in p for p in seen)


def test_official_verdict_parse_and_rule_checks():
    assert cb.parse_verdict("分析……\n答案：是") is True
    assert cb.parse_verdict("答案：否") is False
    assert cb.parse_verdict("是的") is True and cb.parse_verdict("是否满足？否") is False
    assert extracted_parts("whole", "评分对象：all") == ["whole"]
    assert extracted_parts("whole", "评测对象：None") == []
    assert extracted_parts("whole", "评分对象：a || b\n\n注意：x") == ["a", "b"]
    assert check("model_length:[1,5]", ['"abcde"']) is True      # 7 characters, 5 without the quotes
    assert check("model_length:[1,5]", []) is False
    assert check("model_forbidden_word:[storm,sea]", []) is True
    assert check("model_forbidden_word:[storm,sea]", ["the sea"]) is False
    assert check("length_word:[2,3]", ["one two three four"]) is False
    # "." becomes "。" before matching, and an end phrase followed by "。" counts
    assert check("endswith:done", ["all done."]) is True and check("endswith:done", ["done, all"]) is False
    assert check("model_keyword_num:[1,2,a,b]", ["a"]) is None   # not restated: unscored


def test_loader_checks_the_schema_and_names_the_item(tmp_path):
    path = tmp_path / "data_final.json"
    path.write_text(json.dumps([ITEM, {**ITEM, "main_id": 6}]))
    assert [i["main_id"] for i in cb.load_items(str(path), n=1)] == [5]
    rows = cb.prompt_rows(cb.load_items(str(path)))
    assert rows[0]["key"] == 5 and rows[0]["prompt"] == ITEM["instruction_en"]
    bad = {**ITEM, "scoring_questions": [_q(0, "q", None, [3])]}
    path.write_text(json.dumps([bad]))
    with pytest.raises(TunesafeError, match=r"data_final.json: item 1 \(main_id 5\) question 0: dep \[3\]"):
        cb.load_items(str(path))
    with pytest.raises(TunesafeError, match="no {output} placeholder"):
        cb.score_rows([ITEM], [{"id": "5", "response": ANSWER}], _grade([]), "EVAL {input}", EXTRACT)


def test_score_command_runs_the_local_judge_and_writes_drfr(tmp_path, tiny_model_dir):
    """The command end to end with the local judge backend on a tiny model (its replies are
    noise; what is checked is the wiring: every question scored or counted, DRFR written)."""
    import subprocess
    import sys
    from pathlib import Path

    from tunesafe.io import read_json, read_jsonl, write_jsonl

    data = tmp_path / "data_final.json"
    data.write_text(json.dumps([ITEM]))
    (tmp_path / "eval.txt").write_text(JUDGE)
    (tmp_path / "extract.txt").write_text(EXTRACT)
    write_jsonl(tmp_path / "gen.jsonl", [{"id": "5", "response": ANSWER}])
    tunesafe = str(Path(sys.executable).with_name("tunesafe"))
    subprocess.run([tunesafe, "thinking", "complexbench-prepare", "--path", str(data), "--out",
                    str(tmp_path / "cb.jsonl")], check=True)
    subprocess.run([tunesafe, "thinking", "complexbench-score", "--data", str(tmp_path / "cb.jsonl"),
                    "--responses", str(tmp_path / "gen.jsonl"), "--judge-prompt", str(tmp_path / "eval.txt"),
                    "--extract-prompt", str(tmp_path / "extract.txt"), "--judge", "local", "--judge-model",
                    str(tiny_model_dir), "--engine", "hf", "--max-new-tokens", "4", "--out", str(tmp_path / "s.json"),
                    "--rows", str(tmp_path / "rows.jsonl")], check=True, capture_output=True)
    scores, rows = read_json(tmp_path / "s.json"), read_jsonl(tmp_path / "rows.jsonl")
    assert scores["n_questions"] == 5 and scores["n_rule_unscored"] == 1 and 0 <= scores["drfr"] <= 100
    assert rows[0]["verdicts"][4] is None and all(v in (True, False) for v in rows[0]["verdicts"][:4])
    missing = subprocess.run([tunesafe, "thinking", "complexbench-score", "--data", str(tmp_path / "cb.jsonl"),
                              "--responses", str(tmp_path / "gen.jsonl"), "--judge-prompt", str(tmp_path / "no.txt"),
                              "--extract-prompt", str(tmp_path / "extract.txt"), "--judge", "local",
                              "--judge-model", str(tiny_model_dir), "--out", str(tmp_path / "t.json")],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "no.txt: cannot read the ComplexBench prompt file" in missing.stderr
    assert not (tmp_path / "t.json").exists()
