"""Checks of the case-study notebook's list and threshold parameters.

Each raises a ``ValueError`` that names the parameter, so a bad value in a run is reported
as the parameter the user gave, not as a failure deep in the analysis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def check_choices(parameter: str, values: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """Validate a list parameter against its allowed values; return it as a list.

    Raises
    ------
    ValueError
        Naming the parameter, the offending values and what is allowed.
    """
    if isinstance(values, str):
        raise ValueError(f"{parameter}: expected a list of names, got the string {values!r}")
    values = list(values)
    if not values:
        raise ValueError(f"{parameter}: empty; choose from {list(allowed)}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(
            f"{parameter}: unknown value(s) {unknown}; expected any of {list(allowed)}"
        )
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"{parameter}: {dupes} given more than once")
    return values


def check_threshold(parameter: str, value: float) -> float:
    """A threshold on the 0-1 score scale."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{parameter}: expected a number in [0, 1], got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{parameter}: {value} is outside [0, 1] (scores run from 0 to 1)")
    return float(value)
