"""Who an organisation is compared with: England (every practice, or a published or derived
England value) or the rest of England, and the pooled counts of its member practices.

:func:`national_rates` gives England's rate per indicator and year; :func:`comparator_rates`
the comparator of a level or trend comparison (England or the practices outside every
organisation) with what its own sampling variance needs; :func:`organisation_totals` pools
each organisation's member practices. Used by :mod:`analysis.indicators.methods.comparison`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import pandas as pd

from analysis.indicators.methods.selection import unknown_value

COMPARATORS = ("england", "rest")


PUBLISHED_ENGLAND = "published England value"
SMALL_COMPARATOR = 30
"""A comparator computed from fewer practices than this gets a warning."""


def national_rates(data: pd.DataFrame, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """England's rate per indicator and year: the published value where given, else the
    pooled rate of every practice in the data.

    Parameters
    ----------
    data
        Output of :func:`analysis.indicators.methods.selection.prepare`.
    published
        Optional published England rows (``indicator_id``, ``year``, ``numerator``,
        ``denominator``), e.g. a Fingertips export's own England row; an optional
        ``comparator`` column says what a row is when it is not a published England value
        (an England derived from a table that publishes none).

    Returns
    -------
    pandas.DataFrame
        ``indicator_id``, ``year``, ``n_practices`` (practices in the data), ``numerator``,
        ``denominator``, ``national_rate`` and ``comparator`` (``published England value``
        or ``sum of practices``).

    Warns
    -----
    UserWarning
        When a comparator computed from the practices covers fewer than 30 of them.
    """
    out = data.groupby(["indicator_id", "year"], as_index=False).agg(
        n_practices=("practice_code", "size"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
    )
    out["national_rate"] = out["numerator"] / out["denominator"]
    out["comparator"] = "sum of practices"
    if published is not None and len(published):
        label = published["comparator"] if "comparator" in published else PUBLISHED_ENGLAND
        rates = published.assign(
            _rate=published["numerator"] / published["denominator"],
            _label=pd.Series(label, index=published.index).fillna(PUBLISHED_ENGLAND),
        )
        rates = rates[["indicator_id", "year", "_rate", "_label"]].dropna()
        out = out.merge(rates, on=["indicator_id", "year"], how="left", validate="1:1")
        found = out["_rate"].notna()
        out.loc[found, "national_rate"] = out.loc[found, "_rate"]
        out.loc[found, "comparator"] = out.loc[found, "_label"]
        out = out.drop(columns=["_rate", "_label"])
    small = (out["comparator"] == "sum of practices") & (out["n_practices"] < SMALL_COMPARATOR)
    if small.any():
        warnings.warn(
            f"England is the sum of fewer than {SMALL_COMPARATOR} practices for "
            f"{int(small.sum())} indicator-year(s) (e.g. {out.loc[small, 'indicator_id'].iloc[0]} "
            f"{out.loc[small, 'year'].iloc[0]}: {out.loc[small, 'n_practices'].iloc[0]} practices)",
            UserWarning,
            stacklevel=2,
        )
    return out


def organisation_totals(data: pd.DataFrame, organisations: Sequence[str]) -> pd.DataFrame:
    """Pooled counts of each organisation's member practices per indicator and year.

    ``herfindahl`` is ``sum (n_j / N)^2`` over member practices, used by the additive
    overdispersion adjustment.
    """
    members = data[data["organisation_id"].isin(organisations)].copy()
    members["n_sq"] = members["denominator"] ** 2
    out = members.groupby(["organisation_id", "indicator_id", "year"], as_index=False).agg(
        n_practices=("practice_code", "size"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        n_sq=("n_sq", "sum"),
    )
    out["herfindahl"] = out["n_sq"] / out["denominator"] ** 2
    return out.drop(columns="n_sq")


REST_OF_ENGLAND = "rest of England (practices outside every organisation)"


def comparator_rates(
    data: pd.DataFrame, comparator: str = "england", *, national: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The comparator's rate per indicator and year.

    ``england``: every practice (as published for levels), or the published England value
    where ``national`` gives one (:func:`national_rates`); ``rest``: the pooled practices
    outside every organisation that year (the trend comparator).

    Returns
    -------
    pandas.DataFrame
        ``indicator_id``, ``year``, ``national_rate``, ``comparator`` (which comparator:
        ``published England value``, ``sum of practices`` or the rest of England),
        ``comparator_practices``, ``comparator_denominator`` and ``comparator_herfindahl``
        (of the practices pooled, for the comparator's own sampling variance).
    """
    if comparator not in COMPARATORS:
        raise unknown_value("comparator", [comparator], COMPARATORS)
    frame = data if comparator == "england" else data[data["organisation_id"].isna()]
    frame = frame.assign(n_sq=frame["denominator"] ** 2)
    out = frame.groupby(["indicator_id", "year"], as_index=False).agg(
        numerator=("numerator", "sum"),
        comparator_denominator=("denominator", "sum"),
        n_sq=("n_sq", "sum"),
    )
    out["comparator_herfindahl"] = out["n_sq"] / out["comparator_denominator"] ** 2
    if comparator == "england":
        rates = national_rates(data, national)[
            ["indicator_id", "year", "national_rate", "comparator", "n_practices"]
        ]
        out = out.merge(rates, on=["indicator_id", "year"], how="left", validate="1:1")
        out = out.rename(columns={"n_practices": "comparator_practices"})
    else:
        counts = frame.groupby(["indicator_id", "year"]).size().rename("comparator_practices")
        out = out.merge(counts.reset_index(), on=["indicator_id", "year"], validate="1:1")
        out["national_rate"] = out["numerator"] / out["comparator_denominator"]
        out["comparator"] = REST_OF_ENGLAND
    return out[
        [
            "indicator_id",
            "year",
            "national_rate",
            "comparator",
            "comparator_practices",
            "comparator_denominator",
            "comparator_herfindahl",
        ]
    ]
