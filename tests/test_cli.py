"""The `tunesafe` command as users and rules call it: stable commands and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tunesafe.data import toy
from tunesafe.io import read_jsonl, write_jsonl

TUNESAFE = str(Path(sys.executable).with_name("tunesafe"))


def run(*args, cwd=None):
    return subprocess.run([TUNESAFE, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_evaluate_asr_stable_command(tmp_path):
    gens = tmp_path / "g.jsonl"
    write_jsonl(gens, [{"id": "1", "messages": [], "response": "Sure, here it is.", "meta": {}},
                       {"id": "2", "messages": [], "response": "I cannot help with that.", "meta": {}},
                       {"id": "3", "messages": [], "response": "Of course: step one.", "meta": {}},
                       {"id": "4", "messages": [], "response": "I'm sorry, no.", "meta": {}}])
    out = tmp_path / "m.json"
    result = run("evaluate", "asr", "--generations", gens, "--out", out)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(out.read_text())
    assert metrics["asr"] == 0.5 and metrics["n"] == 4


def test_prepare_toy_dataset_as_prompts(tmp_path):
    out = tmp_path / "gsm8k_test.jsonl"
    assert run("data", "prepare", "--source", "toy", "--name", "gsm8k", "--n", "5", "--seed", "3",
               "--prompts", "--out", out).returncode == 0
    rows = read_jsonl(out)
    assert len(rows) == 5 and all(r["messages"][-1]["role"] == "user" for r in rows)
    assert rows == [dict(r, messages=r["messages"][:-1]) for r in toy.gsm8k(5, 3)]


def test_prepare_gives_a_dataset_its_own_prompt_style(tmp_path):
    """Dataset-level template (official: GSM8K rows in the math template; pure_bad_all.jsonl's
    own system turns replaced by the pure_bad template)."""
    src = tmp_path / "pool.jsonl"
    write_jsonl(src, [{"messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]},
                      {"messages": [{"role": "system", "content": "own"}, {"role": "user", "content": "q2"},
                                    {"role": "assistant", "content": "a2"}]}])
    out = tmp_path / "out.jsonl"
    common = ["data", "prepare", "--source", "file", "--path", src, "--format", "messages", "--out", out]
    assert run(*common, "--system-prompt", "SYS", "--user-template", "Q: %s. Think.").returncode == 0
    assert [r["messages"] for r in read_jsonl(out)] == [
        [{"role": "system", "content": "SYS"}, {"role": "user", "content": "Q: q1. Think."}, {"role": "assistant", "content": "a1"}],
        [{"role": "system", "content": "own"}, {"role": "user", "content": "Q: q2. Think."}, {"role": "assistant", "content": "a2"}]]
    assert run(*common, "--system-prompt", "SYS", "--replace-system").returncode == 0
    assert [r["messages"][0]["content"] for r in read_jsonl(out)] == ["SYS", "SYS"]


def test_malformed_line_gives_one_line_naming_file_and_line(tmp_path):
    bad = tmp_path / "gsm8k.jsonl"
    bad.write_text('{"question": "1+1?", "answer": "2\\n#### 2"}\n{"question": "2+2?", "answer": "four"}\n')
    out = tmp_path / "out.jsonl"
    result = run("data", "prepare", "--source", "file", "--path", bad, "--format", "gsm8k", "--out", out)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"{bad}:2:" in result.stderr and "####" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*")), "no partial output"


def test_missing_file_gives_one_line(tmp_path):
    result = run("data", "prepare", "--source", "file", "--path", tmp_path / "nope.json", "--format", "samsum",
                 "--out", tmp_path / "o.jsonl")
    assert result.returncode == 2
    assert result.stderr.strip() == f"tunesafe data: error: {tmp_path / 'nope.json'}: file not found"


def test_dirty_summary_mix_holds_both_parts(tmp_path):
    a, b = tmp_path / "samsum.jsonl", tmp_path / "purebad.jsonl"
    write_jsonl(a, toy.samsum(30, 0))
    write_jsonl(b, toy.purebad(10, 0))
    out = tmp_path / "dirty.jsonl"
    assert run("data", "mix", "--inputs", a, b, "--seed", "1", "--out", out).returncode == 0
    ids = [r["id"] for r in read_jsonl(out)]
    assert sorted(ids) == sorted([r["id"] for r in toy.samsum(30, 0)] + [r["id"] for r in toy.purebad(10, 0)])
    assert ids[:30] != [r["id"] for r in toy.samsum(30, 0)], "mixed, not concatenated"


def test_table_report_from_metrics(tmp_path):
    root = tmp_path / "metrics"
    for task, variant, bench, metrics in [("math", "original", "safety", {"asr": 0.05, "n": 20}),
                                          ("math", "original", "math", {"accuracy": 0.4, "n": 20}),
                                          ("math", "finetuned", "safety", {"asr": 0.25, "n": 20}),
                                          ("math", "finetuned", "math", {"accuracy": 0.55, "n": 20})]:
        (root / task / variant).mkdir(parents=True, exist_ok=True)
        (root / task / variant / f"{bench}.json").write_text(json.dumps(metrics))
    result = run("report", "table", "--root", root, "--task", "math:safety,math", "--out", tmp_path / "t")
    assert result.returncode == 0, result.stderr
    csv = (tmp_path / "t.csv").read_text().splitlines()
    assert csv == ["Task,Model,ASR (%),Accuracy (%)", "math,Original,5.0,40.0", "math,Fine-tuned,25.0,55.0"]
    assert "| math   | Fine-tuned |" in (tmp_path / "t.md").read_text()


def test_table_keeps_two_asr_benchmarks_of_a_task_apart(tmp_path):
    """HEx-PHI and AdvBench both give an ASR: the second gets its benchmark's name, neither is lost."""
    root = tmp_path / "metrics"
    for variant, bench, asr in [("original", "safety", 0.05), ("original", "advbench", 0.01),
                                ("finetuned", "safety", 0.9), ("finetuned", "advbench", 0.8)]:
        (root / "purebad" / variant).mkdir(parents=True, exist_ok=True)
        (root / "purebad" / variant / f"{bench}.json").write_text(json.dumps({"asr": asr, "n": 10}))
    result = run("report", "table", "--root", root, "--task", "purebad:safety,advbench", "--out", tmp_path / "t")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.csv").read_text().splitlines() == [
        "Task,Model,ASR (%),ASR (%) [advbench]", "purebad,Original,5.0,1.0", "purebad,Fine-tuned,90.0,80.0"]


# Bad model paths and numbers: one line, exit status 2, before anything is loaded.

def _one_line_error(result):
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]


def _prompts(tmp_path):
    path = tmp_path / "prompts.jsonl"
    write_jsonl(path, [{"id": "1", "messages": [{"role": "user", "content": "Hi"}], "meta": {}}])
    return path


def test_missing_local_model_is_one_line_not_a_hub_traceback(tmp_path):
    out = tmp_path / "gen.jsonl"
    line = _one_line_error(run("generate", "--model", "./nomodel", "--prompts", _prompts(tmp_path), "--out", out,
                               cwd=tmp_path))
    assert line == "tunesafe generate: error: model ./nomodel: not a local directory and not a Hub id"
    assert not out.exists()
    line = _one_line_error(run("safedelta", "apply", "--original", "/nonexist", "--finetuned", "/nonexist2",
                               "--hessian", tmp_path, "--scale", "0.1", "--out", tmp_path / "sd"))
    assert line == "tunesafe safedelta: error: model /nonexist: not a local directory and not a Hub id"
    line = _one_line_error(run("train", "sft", "--model", tmp_path / "nomodel", "--data", _prompts(tmp_path),
                               "--out", tmp_path / "ft"))
    assert line == f"tunesafe train: error: model {tmp_path / 'nomodel'}: not a local directory and not a Hub id"
    line = _one_line_error(run("evaluate", "mmlu", "--model", "../nomodel", "--task", "mmlu", "--out", tmp_path / "m.json"))
    assert line == "tunesafe evaluate: error: model ../nomodel: not a local directory and not a Hub id"


def test_truncated_safetensors_is_one_line(tmp_path, model_copy):
    weights = model_copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])  # a download or copy cut off halfway
    line = _one_line_error(run("safedelta", "hessian", "--model", model_copy, "--data", _prompts(tmp_path),
                               "--nsamples", "1", "--out", tmp_path / "H"))
    assert line.startswith(f"tunesafe safedelta: error: model {model_copy}: model.safetensors: "
                           "weights file is truncated or not safetensors (")
    line = _one_line_error(run("generate", "--model", model_copy, "--prompts", _prompts(tmp_path),
                               "--out", tmp_path / "g.jsonl"))
    assert "model.safetensors: weights file is truncated or not safetensors" in line
    assert not (tmp_path / "H").exists() and not (tmp_path / "g.jsonl").exists()


def test_intact_model_passes_the_check(tiny_model_dir):
    from tunesafe.weights import check_model

    assert check_model(str(tiny_model_dir)) == str(tiny_model_dir)
    assert check_model("meta-llama/Llama-2-7b-chat-hf") == "meta-llama/Llama-2-7b-chat-hf"  # a Hub id, not fetched


def test_numeric_arguments_are_checked_before_any_loading(tmp_path):
    # the model paths do not exist: the number's error must come first
    line = _one_line_error(run("safedelta", "apply", "--original", "/nonexist", "--finetuned", "/nonexist",
                               "--hessian", tmp_path, "--scale", "-1", "--out", tmp_path / "sd"))
    assert line == "tunesafe safedelta: error: --scale -1: expected a value >= 0"
    line = _one_line_error(run("baselines", "resta", "--finetuned", "/nonexist", "--aligned", "/nonexist",
                               "--unaligned", "/nonexist", "--dare", "1", "--out", tmp_path / "r"))
    assert line == "tunesafe baselines: error: --dare 1: expected a value in [0, 1)"
    line = _one_line_error(run("baselines", "safety-mix", "--data", _prompts(tmp_path), "--safety",
                               _prompts(tmp_path), "--fraction", "1.5", "--out", tmp_path / "mix.jsonl"))
    assert line == "tunesafe baselines: error: --fraction 1.5: expected a value in [0, 1]"
    line = _one_line_error(run("train", "sft", "--model", "/nonexist", "--data", _prompts(tmp_path),
                               "--save-at", f"0:{tmp_path / 's'}", "--out", tmp_path / "ft"))
    assert line == f"tunesafe train: error: --save-at {tmp_path / 's'}: fraction 0: expected a value in (0, 1]"
    line = _one_line_error(run("report", "resistance", "--root", tmp_path, "--cell", "toy:alignment",
                               "--tail", "1.5", "--out", tmp_path / "t"))
    assert line == "tunesafe report: error: --tail 1.5: expected a value in [0, 1]"


def test_check_range_bounds():
    import math

    import pytest

    from tunesafe.errors import TunesafeError, check_range

    assert check_range("x", 0.0, 0) == 0.0 and check_range("x", 1.0, 0, 1) == 1.0
    for value, kw in [(-1e-9, {"low": 0}), (1.0, {"low": 0, "high": 1, "high_open": True}),
                      (0.0, {"low": 0, "high": 1, "low_open": True}), (math.nan, {"low": 0})]:
        with pytest.raises(TunesafeError):
            check_range("x", value, **kw)
