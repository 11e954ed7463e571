"""Regular expressions from configuration, run in time linear in the text (RE2).

A pattern in a mapping file (``year_from_filename``, ``period_pattern``,
``practice_code_pattern``) is the user's, and Python's backtracking engine can take
exponential time on some patterns: ``'^(?:(?P<year>.)|.|.|.)*Z'`` ran for minutes on a file
name and kept a kernel spinning. Patterns from configuration are therefore compiled and run by
Google's RE2 (``google-re2``), which never backtracks: its syntax is Python's less
backreferences and look-around, and what it cannot run in linear time it refuses at compile
time, with a message. Patterns written in the code stay with :mod:`re`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

MAX_LENGTH = 1000
MAX_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern


class PatternError(ValueError):
    """A pattern RE2 cannot compile, too long, or without a group it needs."""


def _options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # the error is raised, not also printed to stderr
    options.max_mem = MAX_MEMORY
    return options


@lru_cache(maxsize=256)
def _compiled(text: str) -> Any:
    import re2

    if len(text) > MAX_LENGTH:
        raise PatternError(f"pattern of {len(text)} characters, above the {MAX_LENGTH} allowed")
    try:
        return re2.compile(text, _options())
    except re2.error as err:
        reason = err.args[0] if err.args else err
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(
            f"not a regular expression RE2 can run in linear time ({reason}); "
            "backreferences and look-around are not supported"
        ) from None


class ConfigPattern:
    """A pattern from configuration, compiled by RE2.

    Parameters
    ----------
    text
        The pattern (Python syntax less backreferences and look-around).
    groups
        Named groups it must define (``("year",)``).

    Raises
    ------
    PatternError
        Saying why the pattern cannot be used.
    """

    def __init__(self, text: str, groups: Iterable[str] = ()) -> None:
        if not isinstance(text, str):
            raise PatternError(f"expected a pattern (text), got {text!r}")
        self.text = text
        self._regex = _compiled(text)
        missing = [g for g in groups if g not in self._regex.groupindex]
        if missing:
            wanted = ", ".join(f"(?P<{g}>...)" for g in missing)
            raise PatternError(f"pattern {text!r} needs a named group {wanted}")

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._regex.groupindex)

    def search(self, text: str) -> dict[str, str] | None:
        """The named groups of the first match in ``text``, or None."""
        found = self._regex.search(text)
        return None if found is None else found.groupdict()

    def fullmatch(self, text: str) -> bool:
        return self._regex.fullmatch(text) is not None

    def extract(self, values: Iterable[str], group: str) -> list[str | None]:
        """Group ``group`` of the first match in each value (None where none), each distinct
        value matched once."""
        seen: dict[str, str | None] = {}
        out = []
        for value in values:
            if value not in seen:
                found = self.search(value) if isinstance(value, str) else None
                seen[value] = None if found is None else found.get(group)
            out.append(seen[value])
        return out

    def __repr__(self) -> str:
        return f"ConfigPattern({self.text!r})"
