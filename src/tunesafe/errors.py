"""The one exception type that user-facing code raises.

A ``TunesafeError`` carries a single line that names the thing that is wrong (a file and
line, a config key, a value) and what was expected. The CLI prints it without a traceback
and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class TunesafeError(Exception):
    """A problem with the user's input: config, data file, model path."""

    def __init__(self, message: str):
        super().__init__(" ".join(message.split("\n")))


def check_range(name: str, value: float, low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False) -> float:
    """``value`` if it lies in the interval; else a one-line error naming ``name`` and the interval.

    Commands check their numeric arguments with this before they load anything (a negative
    Safe Delta scale, a fraction outside [0, 1]). NaN lies in no interval.
    """
    ok = value == value  # not NaN
    if low is not None:
        ok = ok and (value > low if low_open else value >= low)
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        if high is None:
            expected = f"{'>' if low_open else '>='} {low:g}"
        elif low is None:
            expected = f"{'<' if high_open else '<='} {high:g}"
        else:
            expected = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise TunesafeError(f"{name} {value:g}: expected a value {expected}")
    return value


def key_values(specs: list[str], flag: str, cast: Callable[[str], Any] = str) -> dict[str, Any]:
    """Repeatable ``KEY=VALUE`` command-line specs of ``flag`` as {key: cast(value)}; a spec
    without ``=`` or key, or a value ``cast`` refuses, is one line naming the flag."""
    out = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key:
            raise TunesafeError(f"{flag} {spec!r}: expected KEY=VALUE")
        try:
            out[key] = cast(value)
        except ValueError:
            raise TunesafeError(f"{flag} {spec!r}: value {value!r} is not a {cast.__name__}") from None
    return out
