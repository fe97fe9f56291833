"""The generic registry (tunesafe.registry) and the metric registry's metadata, from which
the workflow's benchmark lists, the tables' columns and the schema's metric names derive."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tunesafe.errors import TunesafeError
from tunesafe.evaluation import METRICS
from tunesafe.evaluation.registry import METRIC_INFO, metric_names
from tunesafe.registry import Registry
from tunesafe.report.tables import HEADLINE

REPO = Path(__file__).resolve().parents[1]


def test_registry_keeps_order_and_rejects_duplicates():
    reg: Registry[int] = Registry("engine")
    reg.add("vllm", 2)
    reg.add("hf", 1)
    assert reg.names() == ["vllm", "hf"] and reg.get("hf") == 1 and "hf" in reg and len(reg) == 2
    with pytest.raises(ValueError, match="engine 'hf' is already registered"):
        reg.add("hf", 3)
    assert reg.remove("hf") == 1 and reg.names() == ["vllm"]


def test_an_unknown_name_is_one_line_with_the_closest():
    reg: Registry[int] = Registry("judge backend")
    for name in ["openai", "heuristic", "local"]:
        reg.add(name, 0)
    with pytest.raises(TunesafeError) as e:
        reg.get("opneai")
    assert str(e.value) == ("unknown judge backend 'opneai'; did you mean 'openai'? "
                            "(valid judge backends: heuristic, local, openai)")
    with pytest.raises(TunesafeError) as e:
        reg.get("zzzzzz")
    assert "did you mean" not in str(e.value)
    assert str(e.value).startswith("unknown judge backend 'zzzzzz' (valid judge backends: heuristic,")


def test_the_schema_metric_names_are_the_registry_names():
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    enum = schema["properties"]["benchmarks"]["additionalProperties"]["properties"]["metric"]["enum"]
    assert sorted(enum) == sorted(METRIC_INFO.names())


def test_every_metric_of_generations_has_a_scorer_and_every_scorer_its_metadata():
    scored = set(metric_names("generations")) | set(metric_names("judge"))
    assert set(METRICS) == scored
    assert metric_names("model") == ["mmlu"]  # lm-evaluation-harness scores the model itself


def test_the_workflow_lists_by_what_a_metric_needs():
    assert metric_names("judge") == ["harmfulness", "mtbench"]
    assert set(metric_names("generations")) == {"asr", "rouge1", "math_accuracy"}
    assert {m for m in METRIC_INFO if not METRIC_INFO.get(m).higher_is_better} == {"asr", "harmfulness"}


def test_the_table_columns_come_from_the_registry_in_order():
    # the tables' columns as the Safe Delta paper prints them: safety first, then utility
    assert list(HEADLINE.items()) == [
        ("asr", ("ASR (%)", 100)), ("harmfulness_score", ("HS", 1)), ("mmlu", ("MMLU (%)", 100)),
        ("mtbench_score", ("MT-B", 1)), ("rouge1_f1", ("ROUGE-1 F1 (%)", 100)), ("accuracy", ("Accuracy (%)", 100))]


def test_every_lookup_of_the_project_is_a_registry():
    """Formats, constraint checkers, metrics, engines, judges, scorers and factors share one
    type, so each unknown name gets the same one-line "did you mean" error."""
    from tunesafe.data.formats import FORMATS
    from tunesafe.evaluation.judges import JUDGES
    from tunesafe.evaluation.registry import METRIC_INFO, METRICS
    from tunesafe.generation import ENGINES
    from tunesafe.mathif.checkers import CHECKERS
    from tunesafe.mathif.scoring import JUDGES as CORRECTNESS
    from tunesafe.picky.transforms import TRANSFORMS
    from tunesafe.rebound.scorers import SCORERS

    for reg in [FORMATS, JUDGES, METRIC_INFO, METRICS, ENGINES, CHECKERS, CORRECTNESS, TRANSFORMS, SCORERS]:
        assert isinstance(reg, Registry) and len(reg) >= 2, reg
