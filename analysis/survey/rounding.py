"""The counts and denominators a printed percentage allows, and Wilson intervals from them.

Rounding convention: a printed percentage ``p`` with ``d`` decimals is taken to be rounded
half up, so a count ``k`` of ``n`` is consistent with it when ``p - h <= 100 k / n < p + h``,
``h = 0.5 / 10**d`` (:func:`analysis.core.stats.rounding_interval`). The *point count* is the
count in that interval nearest ``p n / 100``; Wilson intervals are computed from it, and the
widest interval over the whole rounding interval is reported beside it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd

from analysis.core.datasets import DataError
from analysis.core.stats import _exact, round_half_up, rounding_interval, wilson_interval


def point_count(percent: float, n: int, decimals: int = 0) -> int:
    """The count out of ``n`` nearest ``percent * n / 100`` that still prints as ``percent``."""
    k_min, k_max = rounding_interval(percent, n, decimals)
    nearest = int(round_half_up(_exact(percent) * int(n) / 100))
    return min(max(nearest, k_min), k_max)


def denominator_interval(count: int, percent: float, decimals: int = 0) -> tuple[int, int]:
    """Totals ``n >= count`` for which ``count / n`` prints (half up) as ``percent``.

    Example: 94 CCGs printed as 45% allows 207 to 211 CCGs in all.
    """
    p, half = _exact(percent), Fraction(5, 10 ** (decimals + 1))
    if not (0 < p - half and p <= 100):
        raise ValueError(f"percent {percent} too small to bound the denominator")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    n_min = max(math.floor(100 * count / (p + half)) + 1, int(count))
    n_max = math.floor(100 * count / (p - half))
    if n_min > n_max:
        raise ValueError(f"no total makes {count} print as {percent}%")
    return int(n_min), int(n_max)


def figure_counts(key: pd.DataFrame) -> dict[str, int]:
    """Count behind each figure that has one: counts as printed, percentages as point counts
    of their (stated or assumed) denominator, resolved recursively."""
    rows = key.set_index("figure_id")
    counts: dict[str, int] = {}

    def resolve(fid: str, seen: tuple[str, ...] = ()) -> int | None:
        if fid in seen:
            raise DataError(f"key figures: denominators form a cycle through {fid!r}")
        if fid in counts:
            return counts[fid]
        row = rows.loc[fid]
        if row["unit"] == "count":
            counts[fid] = int(row["value"])
        elif row["unit"] == "percent" and pd.notna(row["denominator_id"]):
            n = resolve(row["denominator_id"], (*seen, fid))
            counts[fid] = point_count(row["value"], n, int(row["decimals"]))
        return counts.get(fid)

    for fid in rows.index:
        resolve(fid)
    return counts


def proportions(key: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Each printed percentage with a denominator: rounding interval, point count and Wilson CI.

    Returns
    -------
    pandas.DataFrame
        One row per percentage: ``n`` and its basis (stated/assumed), ``k_min``-``k_max``
        (counts that print as the percentage), ``k_point``, the Wilson interval from the point
        count (``ci_lower``, ``ci_upper``, in percent) and the widest interval over the
        rounding interval (``ci_lower_min`` at ``k_min``, ``ci_upper_max`` at ``k_max``).
    """
    counts = figure_counts(key)
    rows = key[key["unit"].eq("percent") & key["denominator_id"].notna()]
    records = []
    for row in rows.itertuples(index=False):
        n, decimals = counts[row.denominator_id], int(row.decimals)
        k_min, k_max = rounding_interval(row.value, n, decimals)
        k = counts[row.figure_id]
        lo, hi = wilson_interval(np.array([k, k_min, k_max]), n, confidence)
        records.append(
            {
                "figure_id": row.figure_id,
                "study": row.study,
                "quantity": row.quantity,
                "percent": row.value,
                "decimals": decimals,
                "denominator_id": row.denominator_id,
                "n": n,
                "n_basis": row.denominator_basis,
                "k_min": k_min,
                "k_max": k_max,
                "k_point": k,
                "percent_point": 100 * k / n,
                "ci_lower": 100 * lo[0],
                "ci_upper": 100 * hi[0],
                "ci_lower_min": 100 * lo[1],
                "ci_upper_max": 100 * hi[2],
                "confidence": confidence,
            }
        )
    return pd.DataFrame(records)


def implied_denominators(key: pd.DataFrame) -> pd.DataFrame:
    """Totals implied by a printed count and percentage whose total the text does not give.

    Adds, per population, the intersection of the intervals (``figure_id`` = ``all``): 94 CCGs
    = 45% and 184 CCGs = 87% both hold only if England had 211 CCGs.
    """
    rows = key[key["unit"].eq("percent") & key["numerator_id"].notna()]
    values = key.set_index("figure_id")["value"]
    records = []
    for row in rows.itertuples(index=False):
        count = int(values[row.numerator_id])
        n_min, n_max = denominator_interval(count, row.value, int(row.decimals))
        records.append(
            {
                "population": row.population,
                "figure_id": row.figure_id,
                "count": count,
                "percent": row.value,
                "n_min": n_min,
                "n_max": n_max,
            }
        )
    frame = pd.DataFrame(records)
    combined = frame.groupby("population", sort=True).agg(
        n_min=("n_min", "max"), n_max=("n_max", "min")
    )
    combined = combined[frame.groupby("population")["figure_id"].count() > 1].reset_index()
    combined["figure_id"] = "all"
    combined["consistent"] = combined["n_min"] <= combined["n_max"]
    frame["consistent"] = True
    return pd.concat([frame, combined], ignore_index=True)[
        ["population", "figure_id", "count", "percent", "n_min", "n_max", "consistent"]
    ].astype({"count": "Int64"})
