"""Respondent-level survey microdata: the schemas, reading a file (the synthetic
reconstruction or a real file in the same schema) and preparing it for tabulation.

The 2015 practice survey and the staff survey were published only as aggregates; the stored
files are the SYNTHETIC reconstruction of :mod:`analysis.survey.reconstruction`. A real
microdata file is read with :func:`read_microdata` against the same schema
(:data:`PRACTICE_SCHEMA` or :data:`STAFF_SCHEMA`; the ``tier`` column is optional) and goes
through the same tabulation (:mod:`analysis.survey.tabulation`) and checks
(:mod:`analysis.survey.microdata_checks`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import DataError, read_table
from analysis.paths import data_dir
from analysis.survey.published import rows_error

SURVEYS = ("practice", "staff")
MATURITY = ("0-12 months", "13-24 months", "25+ months")
ORG_FORMS = ("federation", "super-partnership", "other")
ACTIVITIES = (
    "strategy",
    "extended_services",
    "staff_training",
    "clinical_pathways",
    "patient_access",
    "pooled_hr",
    "opening_hours",
    "new_clinics",
    "back_office",
    "new_workforce",
    "shared_it",
    "peer_review",
)
MOTIVES = ("efficiencies", "extended_services", "ccg_encouraged", "tendering")
SUPPORT = ("demand", "org_development", "legal")
ROLES = ("administrators", "receptionists", "GP partners", "salaried GPs", "other roles")

_FLAG = pa.Check.isin([0, 1])


def _flag(nullable: bool = True) -> pa.Column:
    return pa.Column("Int64", _FLAG, nullable=nullable)


PRACTICE_SCHEMA = pa.DataFrameSchema(
    {
        "respondent_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "ccg_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "weight": pa.Column(float, pa.Check.gt(0)),
        "collaborates": _flag(nullable=False),
        "formed_2014_15": _flag(),
        "same_ccg": _flag(),
        "formal": _flag(),
        "maturity_group": pa.Column(str, pa.Check.isin(MATURITY), nullable=True),
        "population_50k_plus": _flag(),
        "org_form": pa.Column(str, pa.Check.isin(ORG_FORMS), nullable=True),
        **{f"act_{a}": _flag() for a in ACTIVITIES},
        **{f"motive_{m}": _flag() for m in MOTIVES},
        **{f"support_{s}": _flag(nullable=False) for s in SUPPORT},
    },
    coerce=True,
)
"""One row per practice-survey respondent (binary items 1/0; empty where not asked)."""

STAFF_SCHEMA = pa.DataFrameSchema(
    {
        "respondent_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "role": pa.Column(str, pa.Check.isin(ROLES)),
        "overall_satisfaction": pa.Column("Int64", pa.Check.in_range(1, 7)),
        "weight": pa.Column(float, pa.Check.gt(0)),
    },
    coerce=True,
)
"""One row per staff-survey respondent; satisfaction 1 (low) to 7 (high)."""

_SYNTHETIC_TIER = {"tier": pa.Column(str, pa.Check.isin(["synthetic"]))}
PRACTICE_SYNTHETIC_SCHEMA = PRACTICE_SCHEMA.add_columns(_SYNTHETIC_TIER)
"""The stored synthetic practice file: :data:`PRACTICE_SCHEMA` plus ``tier`` = synthetic."""
STAFF_SYNTHETIC_SCHEMA = STAFF_SCHEMA.add_columns(_SYNTHETIC_TIER)
"""The stored synthetic staff file: :data:`STAFF_SCHEMA` plus ``tier`` = synthetic."""

SCHEMAS = {"practice": PRACTICE_SCHEMA, "staff": STAFF_SCHEMA}


def synthetic_path(survey_name: str) -> Path:
    """The stored synthetic file of a survey."""
    check_survey(survey_name)
    return data_dir() / "survey" / "synthetic" / f"{survey_name}_respondents_synthetic.csv"


def check_survey(survey_name: str) -> None:
    """A ``ValueError`` naming the ``survey`` parameter unless it is one of :data:`SURVEYS`."""
    if survey_name not in SURVEYS:
        raise ValueError(f"parameter survey={survey_name!r}: expected one of {list(SURVEYS)}")


# Who was asked what: column -> the column whose value 1 means the respondent was asked it.
ASKED = {
    **{c: "collaborates" for c in ("formed_2014_15", "same_ccg", "formal")},
    **{f"motive_{m}": "collaborates" for m in MOTIVES},
    **{c: "formal" for c in ("population_50k_plus", "org_form")},
    **{f"act_{a}": "formal" for a in ACTIVITIES},
}
OPTIONAL_ASKED = {"maturity_group": "formal"}
"""Asked of formal collaborations but may be missing (7 of 355 gave no maturity)."""


def resolve_microdata(path: str | os.PathLike | None, survey_name: str) -> Path:
    """The file to tabulate: the synthetic one when ``path`` is empty, else ``path``
    (absolute, or relative to the repository root as for every ``path`` parameter)."""
    check_survey(survey_name)
    if not path:
        return synthetic_path(survey_name)
    path = Path(path).expanduser()
    return path if path.is_absolute() else data_dir().parent / path


def check_asked(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Items are answered exactly by the respondents who were asked them."""
    for column, parent in {**ASKED, **OPTIONAL_ASKED}.items():
        asked = frame[parent].eq(1).fillna(False)
        rows_error(
            path,
            frame,
            ~asked & frame[column].notna(),
            column,
            f"is given but {parent} is not 1 (expected empty)",
        )
        if column in ASKED:
            rows_error(
                path,
                frame,
                asked & frame[column].isna(),
                column,
                f"is missing although {parent} is 1",
            )


def read_microdata(path: str | os.PathLike, survey_name: str) -> pd.DataFrame:
    """Read and validate a microdata file (synthetic or real) of ``survey_name``.

    Raises
    ------
    DataError
        Naming file, line and column for any cell that breaks the schema or the routing of
        the questionnaire (e.g. an activity given for a respondent not in a formal
        collaboration).
    """
    check_survey(survey_name)
    frame = read_table(path, SCHEMAS[survey_name], unique=["respondent_id"], optional=["tier"])
    if "tier" in frame:
        bad = ~frame["tier"].isin(("synthetic", "user"))
        rows_error(Path(path), frame, bad, "tier", "is not 'synthetic' or 'user'")
        if frame["tier"].nunique() > 1:
            raise DataError(f"{path}: column 'tier' mixes {sorted(frame['tier'].unique())}")
    if survey_name == "practice":
        check_asked(frame, Path(path))
    return frame


def microdata_tier(frame: pd.DataFrame) -> str:
    """``synthetic`` when the file says so in its ``tier`` column, else ``user``."""
    if "tier" in frame and frame["tier"].eq("synthetic").all():
        return "synthetic"
    return "user"


def prepare(frame: pd.DataFrame, survey_name: str) -> pd.DataFrame:
    """Add derived variables: staff ``satisfied`` = satisfaction 5, 6 or 7 of 7."""
    frame = frame.copy()
    if survey_name == "staff":
        frame["satisfied"] = frame["overall_satisfaction"].ge(5).astype("Int64")
    return frame
