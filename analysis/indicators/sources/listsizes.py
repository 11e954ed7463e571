"""The REAL distribution of practice list sizes (HSCIC, April-June 2013), for calibration.

:func:`read_list_sizes` reads the published registered-patient counts by practice and
age-sex band (``data/indicators/real/list_sizes/``) and sums each practice's bands; codes
with no registered patients are other settings (shared-care services, outreach clinics)
and are dropped. :func:`ks_distance` compares a synthetic panel's list sizes with it
(two-sample Kolmogorov-Smirnov statistic, :func:`scipy.stats.ks_2samp`).

Published by the Health and Social Care Information Centre under the Open Government
Licence v3.0: "Contains public sector information licensed under the Open Government
Licence v3.0".
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from scipy import stats as sps

from analysis.core.datasets import DataError
from analysis.indicators.sources.panel import indicators_dir

AGE_BANDS = ["0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
BAND_COLUMNS = [f"{sex} {band}" for band in AGE_BANDS for sex in ("Male", "Female")]
ID_COLUMNS = [
    "Regional Office Name",
    "Regional Office Code",
    "Area Team Name",
    "Area Team Code",
    "PCO Name",
    "PCO Code",
    "Practice Name",
    "Practice Code",
]

LIST_SIZE_SCHEMA = pa.DataFrameSchema(
    {
        **{name: pa.Column(str) for name in ID_COLUMNS},
        **{name: pa.Column("int64", pa.Check.ge(0), coerce=True) for name in BAND_COLUMNS},
    },
    strict=True,
    ordered=True,
)
"""The published file: one row per organisation code, registered patients per age-sex band."""


def stored_file() -> Path:
    """The shipped REAL list-size file (gzip-compressed as published)."""
    return indicators_dir() / "real" / "list_sizes" / "patient_list_size_2013_04-06.csv.gz"


def read_list_sizes(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Registered patients per practice (all ages), practices with at least one patient.

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``list_size`` (int), sorted by practice code.

    Raises
    ------
    DataError
        Missing band columns, non-numeric or negative counts, naming file and line.
    """
    path = Path(path or stored_file())
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: cannot be read as a CSV ({err})") from None
    missing = [c for c in ["Practice Code", *BAND_COLUMNS] if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: line 1: missing column(s) {missing}")
    bands = frame[BAND_COLUMNS].apply(pd.to_numeric, errors="coerce")
    bad = bands.isna() | (bands < 0)
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise DataError(
            f"{path}: line {row + 2}, column {BAND_COLUMNS[col]!r}: "
            f"{frame.iat[row, frame.columns.get_loc(BAND_COLUMNS[col])]!r} is not a count >= 0"
        )
    out = pd.DataFrame(
        {"practice_code": frame["Practice Code"], "list_size": bands.sum(axis=1).astype(int)}
    )
    return out[out["list_size"] > 0].sort_values("practice_code", ignore_index=True)


def ks_distance(sample: np.ndarray | pd.Series, reference: np.ndarray | pd.Series) -> float:
    """Two-sample Kolmogorov-Smirnov distance (largest gap between the two ECDFs)."""
    return float(sps.ks_2samp(np.asarray(sample), np.asarray(reference)).statistic)
