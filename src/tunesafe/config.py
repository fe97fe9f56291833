"""Config validation: one YAML, one JSON Schema, one-line errors that name the key.

The workflow calls :func:`validate_config` when it is parsed, so a wrong key or type stops
it before any job runs, with one line such as::

    config error: finetune.tasks.purebad.train.lrr: unknown key (expected one of: epochs, lr, ...)
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from tunesafe.errors import TunesafeError
from tunesafe.evaluation.registry import METRIC_INFO


def _where(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def _describe(error: ValidationError) -> str:
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        key = extra[0] if extra else "?"
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        prefix = f"{where}." if error.absolute_path else ""
        return f"{prefix}{key}: unknown key{hint} (expected one of: {', '.join(allowed)})"
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return f"{where}: expected {expected}, got {error.instance!r}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not one of {error.validator_value}"
    return f"{where}: {error.message}"


def _filling_defaults(cls):
    """``cls`` extended to fill in a property's ``default`` where the instance lacks it
    (the jsonschema FAQ recipe): the filled value is validated and its own defaults filled."""
    validate_properties = cls.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, props, instance, schema)

    return validators.extend(cls, {"properties": properties})


DefaultsValidator = _filling_defaults(Draft202012Validator)


def validate_config(config: dict[str, Any], schema_path: str | Path) -> dict[str, Any]:
    """Validate ``config`` against the JSON Schema at ``schema_path``, filling in the schema's
    ``default`` of every missing key (in place); return it. Optional sections without a
    default (``baselines``, ``mathif``, ``rebound``...) stay absent."""
    # libyaml's parser when PyYAML has it: the same SafeLoader constructors, 15x faster on the
    # schema, which every parse of the workflow (each dry run) reads
    schema = yaml.load(Path(schema_path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    validator = DefaultsValidator(schema)
    error = best_match(validator.iter_errors(config), key=lambda e: len(e.absolute_path))
    if error is not None:
        raise TunesafeError(f"config error: {_describe(error)}")
    _check_references(config)
    return config


def safedelta_scale(scale: float | dict[str, float], task: str, source: str | None = None) -> float:
    """The Safe Delta budget s of ``task`` from config ``safedelta.scale``: one number for every
    task, or a map task -> s with an optional ``default`` (the official scripts use s 0.11 for
    PureBad and 0.1 for Dirty Summary). A fine-tune derived from a task (``<task>_n<size>`` of
    the size sweep) passes that task as ``source`` and gets its value."""
    if not isinstance(scale, dict):
        return scale
    for key in (task, source, "default"):
        if key is not None and key in scale:
            return scale[key]
    raise TunesafeError(f"config error: safedelta.scale: no value for task {task!r} and no 'default'")


def _must_be_in(value: str, key: str, names: Any, what: str) -> None:
    if value not in names:
        raise TunesafeError(f"config error: {key}: {value!r} is not in {what} ({', '.join(names)})")


def _check_references(config: dict[str, Any]) -> None:
    """Cross-key checks JSON Schema cannot express: names that must exist elsewhere."""
    datasets = config["datasets"]
    for name, spec in datasets.items():
        if spec.get("prompts") and (spec.get("system_prompt") or spec.get("user_template", "%s") != "%s"):
            raise TunesafeError(f"config error: datasets.{name}: an evaluation set (prompts: true) takes its prompt "
                                "style from benchmarks.<name>.system_prompt / user_template, not from the dataset")
    for which, spec in config["models"].items():
        if isinstance(spec, dict) and "sft" in spec:
            sft = spec["sft"]
            if sft["model"] == which:
                raise TunesafeError(f"config error: models.{which}.sft.model: {which!r} cannot be tuned from itself")
            for d in sft["data"]:
                _must_be_in(d, f"models.{which}.sft.data", datasets, "datasets")
            if sft.get("train", {}).get("method", "full") != "full":
                raise TunesafeError(f"config error: models.{which}.sft.train.method: must be full "
                                    "(the model is used as full weights)")
    for name, bench in config["benchmarks"].items():
        info = METRIC_INFO.get(bench["metric"])  # the schema's enum has the registry's names
        if "dataset" not in bench:
            if not info.lm_eval and "generations" not in bench:
                raise TunesafeError(f"config error: benchmarks.{name}.dataset: missing (only lm-eval hub tasks and "
                                    "benchmarks that score other generations go without one)")
        elif bench["dataset"] not in datasets:
            raise TunesafeError(f"config error: benchmarks.{name}.dataset: {bench['dataset']!r} is not in datasets ({', '.join(datasets)})")
        if "generations" in bench:
            _must_be_in(bench["generations"], f"benchmarks.{name}.generations", config["benchmarks"], "benchmarks")
        if info.judged and "judge" not in config:
            raise TunesafeError(f"config error: benchmarks.{name}: metric {bench['metric']} needs a judge section")
        if info.lm_eval and "task" not in bench.get("lm_eval", {}):
            raise TunesafeError(f"config error: benchmarks.{name}.lm_eval.task: missing (an lm-eval task, e.g. mmlu)")
    for task, spec in config["finetune"]["tasks"].items():
        for d in spec["data"]:
            if d not in datasets:
                raise TunesafeError(f"config error: finetune.tasks.{task}.data: {d!r} is not in datasets ({', '.join(datasets)})")
        for b in spec["benchmarks"]:
            if b not in config["benchmarks"]:
                raise TunesafeError(f"config error: finetune.tasks.{task}.benchmarks: {b!r} is not in benchmarks ({', '.join(config['benchmarks'])})")
    sd = config.get("safedelta")
    if sd:
        if sd["safety_set"] not in datasets:
            raise TunesafeError(f"config error: safedelta.safety_set: {sd['safety_set']!r} is not in datasets ({', '.join(datasets)})")
        if isinstance(sd["scale"], dict):
            tasks = config["finetune"]["tasks"]
            for t in sd["scale"]:
                if t != "default":
                    _must_be_in(t, "safedelta.scale", tasks, "finetune.tasks (or 'default')")
            if "default" not in sd["scale"]:
                for t in tasks:
                    if t not in sd["scale"]:
                        raise TunesafeError(f"config error: safedelta.scale: no value for task {t!r} and no 'default'")
        for key in ("sweep_tasks", "ablation_tasks"):
            for t in sd[key]:
                if t not in config["finetune"]["tasks"]:
                    raise TunesafeError(f"config error: safedelta.{key}: {t!r} is not in finetune.tasks ({', '.join(config['finetune']['tasks'])})")
    for name in (config.get("mathif") or {}).get("variants") or []:
        _must_be_in(name.split("/")[1], f"mathif.variants: {name}: task", config["finetune"]["tasks"], "finetune.tasks")
    base = config.get("baselines")
    if base:
        tasks = config["finetune"]["tasks"]
        _must_be_in(base["safety_data"], "baselines.safety_data", datasets, "datasets")
        for d in base["resta"]["unaligned_data"]:
            _must_be_in(d, "baselines.resta.unaligned_data", datasets, "datasets")
        if "unaligned_settings_from" in base["resta"]:
            _must_be_in(base["resta"]["unaligned_settings_from"], "baselines.resta.unaligned_settings_from", tasks, "finetune.tasks")
        _must_be_in(base["size_sweep"]["task"], "baselines.size_sweep.task", tasks, "finetune.tasks")
        _must_be_in(base["size_sweep"]["dataset"], "baselines.size_sweep.dataset", datasets, "datasets")
        for key in ("x_task", "y_task"):
            _must_be_in(base["pareto"][key], f"baselines.pareto.{key}", tasks, "finetune.tasks")
        for t in base["lora_tasks"]:
            _must_be_in(t, "baselines.lora_tasks", tasks, "finetune.tasks")
    resistance = config.get("rebound", {}).get("resistance", {})
    for name, spec in resistance.get("sets", {}).items():
        for key in ("train", "prompts"):  # a set with its own format (TruthfulQA, BeaverTails) has none
            if key in spec and spec[key] not in datasets:
                raise TunesafeError(f"config error: rebound.resistance.sets.{name}.{key}: {spec[key]!r} is not in datasets ({', '.join(datasets)})")
