"""One registry type for every name -> entry lookup of the project.

A :class:`Registry` maps names to entries in registration order (the order tables and
listings use) and answers an unknown name with one line that names the kind, suggests the
closest name (:func:`difflib.get_close_matches`) and lists the valid ones::

    unknown metric 'rouge'; did you mean 'rouge1'? (valid metrics: asr, harmfulness, ...)

It is torch-free: the workflow imports registries when it is parsed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Generic, TypeVar

from tunesafe.errors import TunesafeError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one ``kind`` (``"metric"``, ``"engine"``...); a name is registered once."""

    def __init__(self, kind: str, plural: str | None = None) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name``; return it (so it can be used as a decorator's result)."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> T | None:
        """Drop ``name`` (tests that register a temporary entry); None when absent."""
        return self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """The entry ``name``, or a one-line :class:`TunesafeError` with a "did you mean"."""
        try:
            return self._entries[name]
        except KeyError:
            pass
        valid = list(self._entries)
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.4)
        hint = f"; did you mean {close[0]!r}? " if close else " "
        raise TunesafeError(f"unknown {self.kind} {name!r}{hint}(valid {self.plural}: {', '.join(sorted(valid))})")

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def values(self) -> list[T]:
        return list(self._entries.values())

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]
