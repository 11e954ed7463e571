"""Collaboration over time: the 2015 survey beside the March and December 2018 figures.

The three sources measure different things (survey respondents, all practices, a quoted
speaker), so the table puts them side by side with their populations; it is context, not a
time series.
"""

from __future__ import annotations

import pandas as pd

from analysis.core.datasets import DataError

OVER_TIME = (
    ("collaborating_pct", "In a collaboration or group", 2015.0),
    ("nhse2018_group_pct", "In a collaboration or group", 2018.2),
    ("same_ccg_pct", "Collaboration within one CCG", 2015.0),
    ("pcc2018_same_ccg_pct", "Collaboration within one CCG", 2018.9),
    ("population_50k_pct", "Collaboration covering 50,000+ patients", 2015.0),
    ("pcc2018_population_50k_pct", "Collaboration covering 50,000+ patients", 2018.9),
)
"""(figure, measure, plotting year): 2015 survey, NHS England March 2018, report of Dec 2018."""


def collaboration_over_time(key: pd.DataFrame, props: pd.DataFrame) -> pd.DataFrame:
    """The 2015, March 2018 and December 2018 figures side by side, with their populations."""
    spec = pd.DataFrame(OVER_TIME, columns=["figure_id", "measure", "year"])
    cols = ["figure_id", "study", "period", "value", "value_text", "population", "note"]
    frame = spec.merge(key[cols], on="figure_id", how="left", validate="one_to_one")
    missing = frame["study"].isna()
    if missing.any():
        raise DataError(f"key figures lack {list(frame.loc[missing, 'figure_id'])}")
    ci = props.set_index("figure_id")[["ci_lower", "ci_upper", "n", "n_basis"]]
    frame = frame.join(ci, on="figure_id").rename(columns={"value": "percent"})
    return frame.astype({"n": "Int64"})
