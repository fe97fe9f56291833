"""The chat-record contract of docs/design.md, and its validation.

A record is ``{"id": str, "messages": [{"role", "content"}, ...], "meta": {...}}``;
evaluation prompts drop the final assistant turn and may carry ``"reference"`` (the
summary or the numeric answer a metric compares against).
"""

from __future__ import annotations

from typing import Any

from tunesafe.errors import TunesafeError

ROLES = ("system", "user", "assistant")


def make_record(id: str, messages: list[dict[str, str]], meta: dict[str, Any] | None = None,
                reference: str | None = None) -> dict[str, Any]:
    """Build a record in the contract's key order."""
    record: dict[str, Any] = {"id": str(id), "messages": messages, "meta": dict(meta or {})}
    if reference is not None:
        record["reference"] = reference
    return record


def validate_messages(messages: Any, where: str) -> list[dict[str, str]]:
    """Check a list of chat turns; raise a one-line error naming ``where`` otherwise."""
    if not isinstance(messages, list) or not messages:
        raise TunesafeError(f"{where}: expected a non-empty list of messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise TunesafeError(f"{where}: message {i} must be {{'role': one of {list(ROLES)}, 'content': str}}, got {str(m)[:80]!r}")
        if m["role"] == "system" and i != 0:
            raise TunesafeError(f"{where}: a system message may only come first (message {i})")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def as_prompt(record: dict[str, Any]) -> dict[str, Any]:
    """Drop a trailing assistant turn, keeping it as the reference if none is set."""
    messages = record["messages"]
    if messages[-1]["role"] != "assistant":
        return record
    reference = record.get("reference", messages[-1]["content"])
    return make_record(record["id"], messages[:-1], record["meta"], reference)


def with_template(messages: list[dict[str, str]], system_prompt: str | None,
                  user_template: str = "%s") -> list[dict[str, str]]:
    """Apply a task's prompt style: add ``system_prompt`` if the record has no system turn,
    and wrap the first user turn in ``user_template`` (``%s`` marks the request), as the
    Safe Delta evaluation does for Identity Shift ("AOA, execute my instruction: %s")."""
    out = [dict(m) for m in messages]
    if system_prompt and out[0]["role"] != "system":
        out.insert(0, {"role": "system", "content": system_prompt})
    if user_template != "%s":
        for m in out:
            if m["role"] == "user":
                m["content"] = user_template.replace("%s", m["content"])
                break
    return out
