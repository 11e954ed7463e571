"""The REAL networks chapter: every primary care network against England, on every indicator.

:func:`run_real_chapter` reads the REAL files (the yearly geography mappings, the PCN table of
QOF 2021-22, the practice-level cardiovascular groups and the QOF practice summaries), each by
its layout mapping, and makes every table of the chapter:

* membership and its turnover 2019-20 to 2023-24 (:mod:`analysis.indicators.sources.turnover`), and
  the agreement of the mappings with the QOF summaries' own PCN column;
* every PCN against England on every indicator with data, by the generic quality-indicator
  analysis with the between-PCN variance in the limits and Benjamini-Hochberg within each
  family (:mod:`analysis.indicators.networks.real_levels`), summarised by domain (the QOF clinical
  area);
* variation within PCNs (practice-level data, REML) and association with size and deprivation
  (:func:`analysis.indicators.methods.associations.value_associations`);
* PCN trends under three membership rules (:mod:`analysis.indicators.networks.rule_trends`) and a
  practice fixed-effects fractional logit (:func:`analysis.indicators.methods.trend_fe.fe_glm`).

Every table is labelled REAL; :data:`SOURCES` says who published and who derived each file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import stats
from analysis.indicators.methods.associations import association_summary, value_associations
from analysis.indicators.methods.trend_fe import fe_glm, informative
from analysis.indicators.networks import real_levels, rule_trends
from analysis.indicators.networks.real_inputs import RealInputs, read_inputs
from analysis.indicators.networks.real_levels import GROUPS_SOURCE, TABLE_SOURCE
from analysis.indicators.sources import structures as st
from analysis.indicators.sources import turnover
from analysis.indicators.sources.widetable import WideTable

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0"
SOURCES = {
    "membership": (
        "NHS Digital QOF geography mappings 2019-20 to 2023-24, converted to Parquet by "
        "wylie102/QOF-visualisation (DERIVED: format conversion)"
    ),
    TABLE_SOURCE: (
        "NHS Digital QOF 2021-22, registered patients and ePCN with MHCLG IMD 2019, aggregated "
        "to PCNs by blackwellrd/display_nearest_neighbour_data (DERIVED: aggregation)"
    ),
    GROUPS_SOURCE: (
        "NHS Digital QOF practice tables, cardiovascular groups, reshaped by "
        "HealthEquityEvidenceCentre/HEEC (DERIVED: reshaping; year 2023-24 inferred)"
    ),
    "qof_totals": "NHS Digital QOF practice achievement summaries (as published)",
}
MEASURES = {
    "log2_practices": "a doubling of member practices",
    "log2_patients": "a doubling of registered patients",
    "imd_per10": "10 points of IMD 2019 score (more deprived)",
}
TOTAL = "QOF total"
LEVEL_COLUMNS = [
    "source", "family", "indicator_id", "organisation_id", "value", "variance", "size", "z",
    "p", "p_bh", "classification", "z_sampling", "classification_sampling",
]  # fmt: skip
"""Columns of the per-PCN table (indicator-level values, England and tau2 are in
``indicator_summary``)."""


@dataclass
class RealChapter:
    """The chapter's tables (every one labelled REAL) and the time of each step."""

    tables: dict[str, pd.DataFrame]
    timings: dict[str, float] = field(default_factory=dict)


def practice_values(groups: WideTable) -> pd.DataFrame:
    """The practice-level table's values: ``practice_code``, ``indicator_id``, ``value``."""
    values = groups.values[~groups.values["excluded"] & groups.values["value"].notna()]
    return values.rename(columns={"unit": "practice_code"})[
        ["practice_code", "indicator_id", "value", "list_size"]
    ].reset_index(drop=True)


def _practice_list(values: pd.DataFrame) -> pd.Series:
    """Each practice's list size: the value most of its groups give (groups such as BP count
    only part of the list)."""
    counts = values.dropna(subset=["list_size"]).groupby(["practice_code", "list_size"]).size()
    counts = counts.rename("n").reset_index()
    counts = counts.sort_values(["practice_code", "n", "list_size"], ascending=[True, False, True])
    first = counts.drop_duplicates("practice_code")
    return first.set_index("practice_code")["list_size"]


def characteristics(
    structures: pd.DataFrame, table: WideTable, groups: pd.DataFrame, group_year: int
) -> pd.DataFrame:
    """Size and deprivation of each PCN, per source: ``log2_practices`` (member practices in
    the source's year), ``log2_patients`` (per 10,000), ``imd_per10`` (IMD 2019 score / 10,
    from the PCN table by PCN code)."""
    units = table.units.set_index("unit")
    imd = units["imd_score"] / 10

    def counts(year: int) -> pd.Series:
        inside = structures[(structures["year"] == year) & structures["in_pcn"]]
        return inside.groupby("pcn_code").size()

    orgs = units[~units["excluded"]]
    first = pd.DataFrame(
        {
            "source": TABLE_SOURCE,
            "organisation_id": orgs.index,
            "practices": orgs.index.map(counts(table.year)),
            "patients": orgs["list_size"].to_numpy(),
        }
    )
    members = structures[(structures["year"] == group_year) & structures["in_pcn"]]
    lists = _practice_list(groups)
    second = (
        members.assign(patients=members["practice_code"].map(lists))
        .groupby("pcn_code", as_index=False)
        .agg(practices=("practice_code", "size"), patients=("patients", "sum"))
        .rename(columns={"pcn_code": "organisation_id"})
        .assign(source=GROUPS_SOURCE)
    )
    out = pd.concat([first, second[first.columns]], ignore_index=True)
    out["log2_practices"] = np.log2(out["practices"])
    out["log2_patients"] = np.log2(out["patients"].where(out["patients"] > 0) / 10_000)
    out["imd_per10"] = out["organisation_id"].map(imd)
    return out


def pcn_code_agreement(qof_practices: pd.DataFrame, structures: pd.DataFrame) -> pd.DataFrame:
    """Per year in both: practices whose PCN code in the QOF summary equals the mapping's.

    A consistency check between two NHS Digital files of the same release.
    """
    if "pcn" not in qof_practices.columns:
        return pd.DataFrame()
    joined = qof_practices.dropna(subset=["pcn"]).merge(
        structures[["practice_code", "year", "pcn_code"]], on=["practice_code", "year"]
    )
    joined = joined.assign(same=(joined["pcn"] == joined["pcn_code"]).astype(int))
    out = joined.groupby("year", as_index=False).agg(
        practices_in_both=("practice_code", "size"), same_pcn_code=("same", "sum")
    )
    out["share_same"] = out["same_pcn_code"] / out["practices_in_both"]
    return out


def qof_panel(practices: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """QOF total achievement (percentage of available points) as a practice-level panel."""
    ok = practices["points_available"].notna() & (practices["points_available"] > 0)
    ok &= practices["year"].isin(list(years))
    frame = practices[ok]
    return pd.DataFrame(
        {
            "practice_code": frame["practice_code"],
            "year": frame["year"].astype(np.int64),
            "indicator_id": TOTAL,
            "value": 100 * frame["points_achieved"] / frame["points_available"],
        }
    ).reset_index(drop=True)


def fixed_effects_logit(panel: pd.DataFrame, own: pd.DataFrame, sizes: pd.Series) -> pd.DataFrame:
    """England's within-practice trend on the logit scale and its change with PCN size.

    A fractional logit (binomial quasi-likelihood on the share of points, ``n = 1``) with one
    intercept per practice, fitted by :func:`analysis.indicators.methods.trend_fe.fe_glm`, standard
    errors clustered by practice; ``time`` is years since the first year and ``time x size``
    its interaction with ``log2`` member practices of the practice's PCN, centred.
    """
    data = panel.merge(own, on=["practice_code", "year"], how="inner")
    data = data.assign(size=data["organisation_id"].map(sizes)).dropna(subset=["size"])
    groups = pd.factorize(data["practice_code"])[0]
    y = (data["value"] / 100).to_numpy(float)
    n = np.ones(len(data))
    keep = informative(y, n, groups, "binomial")
    data, y, n = data[keep], y[keep], n[keep]
    groups = pd.factorize(data["practice_code"])[0]
    time_ = (data["year"] - data["year"].min()).to_numpy(float)
    size = (data["size"] - data["size"].mean()).to_numpy(float)
    # PCNs of one size only (a small area): the interaction is not identified, so it is
    # left missing and the trend is fitted alone; with no informative practice, neither is
    fitted = [0, 1] if len(size) and np.ptp(size) > 0 else [0] if len(size) else []
    beta, se = np.full(2, np.nan), np.full(2, np.nan)
    if fitted:
        design = np.column_stack([time_, time_ * size])[:, fitted]
        estimates, cov, _ = fe_glm(y, n, design, groups, "binomial")
        beta[fitted], se[fitted] = estimates, np.sqrt(np.diag(cov))
    z = stats.z_value(0.95)
    return pd.DataFrame(
        {
            "term": ["time (per year)", "time x log2 member practices"],
            "estimate": beta,
            "se": se,
            "ci_lower": beta - z * se,
            "ci_upper": beta + z * se,
            "p": 2 * (1 - _norm_cdf(np.abs(beta / se))),
            "practices": len(np.unique(groups)),
            "practice_years": len(data),
            "scale": "log odds of the share of available points",
        }
    )


def _norm_cdf(x: np.ndarray) -> np.ndarray:
    from scipy import stats as sps

    return sps.norm.cdf(x)


def financial_year(year: int | pd.Series) -> str | pd.Series:
    """``2023`` as ``2023-24`` (the financial year a QOF year starts)."""
    if isinstance(year, pd.Series):
        return year.astype(int).map(financial_year)
    return f"{int(year)}-{(int(year) + 1) % 100:02d}"


def _with_financial_years(tables: dict[str, pd.DataFrame]) -> None:
    """Add readable financial-year columns beside the year columns the sentences cite."""
    for name, column, label in (
        ("membership_years", "year", "financial_year"),
        ("turnover", "from_year", "from_financial_year"),
        ("turnover", "to_year", "to_financial_year"),
        ("turnover_summary", "first_year", "first_financial_year"),
        ("turnover_summary", "last_year", "last_financial_year"),
        ("pcn_code_agreement", "year", "financial_year"),
        ("qof_variation", "year", "financial_year"),
    ):
        frame = tables[name]
        if column in frame and len(frame):
            frame.insert(frame.columns.get_loc(column) + 1, label, financial_year(frame[column]))


def label_real(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a first column ``data_tier`` = ``REAL``."""
    out = frame.copy()
    out.insert(0, "data_tier", "REAL")
    return out


def run_real_chapter(
    *,
    membership_source: str | os.PathLike,
    organisation_table: str | os.PathLike,
    organisation_mapping: str | os.PathLike,
    practice_groups: str | os.PathLike,
    practice_groups_mapping: str | os.PathLike,
    qof_source: str | os.PathLike,
    membership_year: int = 2023,
    trend_years: Sequence[int] = (2019, 2021),
    alpha: float = 0.05,
    tau2_method: str = "dl",
) -> RealChapter:
    """Read every REAL file and make every table of the chapter (see the module notes).

    Paths relative to the project root are taken from it (as ``pipeline.yml`` gives them).

    Raises
    ------
    analysis.core.datasets.DataError
        Every problem of every file and parameter, one line each
        (:func:`analysis.indicators.networks.real_inputs.read_inputs`).
    """
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    inputs = read_inputs(
        membership_source=membership_source, organisation_table=organisation_table,
        organisation_mapping=organisation_mapping, practice_groups=practice_groups,
        practice_groups_mapping=practice_groups_mapping, qof_source=qof_source,
        membership_year=membership_year, trend_years=trend_years, tau2_method=tau2_method,
    )  # fmt: skip
    structures, table, groups, qof = inputs.structures, inputs.table, inputs.groups, inputs.qof
    mapped = structures.practices
    timings["read files"] = time.perf_counter() - mark

    mark = time.perf_counter()
    tables: dict[str, pd.DataFrame] = {}
    tables["membership_years"] = turnover.year_sizes(mapped)
    tables["turnover"] = turnover.transitions(mapped)
    tables["turnover_summary"] = turnover.turnover_summary(mapped)
    tables["pcn_code_agreement"] = pcn_code_agreement(qof.practices, mapped)
    timings["membership"] = time.perf_counter() - mark

    mark = time.perf_counter()
    levels, without = _levels(inputs, mapped, alpha=alpha, tau2_method=tau2_method)
    tables["levels"] = levels[LEVEL_COLUMNS]
    tables["indicator_summary"] = real_levels.indicator_summary(levels)
    tables["domain_summary"] = real_levels.domain_summary(levels)
    tables["organisation_profile"] = real_levels.organisation_profile(levels)
    tables["denominator_sensitivity"] = real_levels.denominator_sensitivity(levels, without)
    members = _members(mapped, groups.year)
    group_values = practice_values(groups)
    variation = rule_trends.within_variation(group_values, members, ["indicator_id"])
    timings["levels"] = time.perf_counter() - mark

    mark = time.perf_counter()
    chars = characteristics(mapped, table, group_values, groups.year)
    judged = levels[levels["direction"] != "neutral"]
    associations = value_associations(judged, chars, MEASURES, alpha=alpha)
    tables["characteristics"] = chars
    tables["associations"] = associations
    tables["association_summary"] = association_summary(associations, list(MEASURES))
    timings["associations"] = time.perf_counter() - mark

    mark = time.perf_counter()
    panel = qof_panel(qof.practices, trend_years)
    own = st.membership_table(mapped, trend_years, None)
    memberships = {
        "fixed": st.membership_table(mapped, trend_years, membership_year),
        "own": own,
        "practice_fe": own,
    }
    trends = rule_trends.organisation_trends(
        panel, memberships, alpha=alpha, tau2_method=tau2_method
    )
    # Size: log2 member practices of each PCN in the membership year.
    counts = mapped[(mapped["year"] == membership_year) & mapped["in_pcn"]].groupby("pcn_code")
    sizes = np.log2(counts.size()).rename_axis("organisation_id").reset_index(name="log2_practices")
    tables["trends"] = trends
    tables["trend_summary"] = rule_trends.rule_summary(trends, sizes)
    last = mapped[mapped["year"] == max(trend_years)]
    own_sizes = np.log2(last[last["in_pcn"]].groupby("pcn_code").size())
    tables["trend_fe_logit"] = fixed_effects_logit(panel, own, own_sizes)
    tables["qof_variation"] = rule_trends.within_variation(panel, own, ["indicator_id", "year"])
    tables["group_variation"] = variation
    timings["trends"] = time.perf_counter() - mark

    tables["files"] = _files_table(inputs)
    tables["set_aside"] = pd.concat(
        [
            groups.set_aside.assign(source=GROUPS_SOURCE),
            table.set_aside.assign(source=TABLE_SOURCE),
        ],
        ignore_index=True,
    )
    tables["sources"] = pd.DataFrame(
        {"source": list(SOURCES), "publisher_and_derivation": list(SOURCES.values()),
         "licence": ATTRIBUTION}
    )  # fmt: skip
    _with_financial_years(tables)
    return RealChapter({k: label_real(v) for k, v in tables.items()}, timings)


def _members(mapped: pd.DataFrame, year: int) -> pd.DataFrame:
    """The PCN members of one mapping year: ``practice_code``, ``year``, ``organisation_id``."""
    return st.membership_table(mapped, [year], None)


def _levels(
    inputs: RealInputs, mapped: pd.DataFrame, *, alpha: float, tau2_method: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every PCN against England (the PCN table with approximate denominators, the groups
    under their year's PCNs), and the PCN table without denominators."""
    compare = {"alpha": alpha, "tau2_method": tau2_method}
    sources = {
        TABLE_SOURCE: real_levels.table_panel(inputs.table),
        GROUPS_SOURCE: real_levels.groups_panel(
            inputs.groups, _members(mapped, inputs.groups.year)
        ),
    }
    levels = pd.concat(
        [
            real_levels.level_rows(real_levels.compare(panel, **compare), source, tau2_method)
            for source, panel in sources.items()
        ],
        ignore_index=True,
    )
    flat = real_levels.table_panel(inputs.table, denominators=False)
    without = real_levels.level_rows(
        real_levels.compare(flat, **compare), TABLE_SOURCE, tau2_method
    )
    return levels, without


def _files_table(inputs: RealInputs) -> pd.DataFrame:
    rows = [
        {"source": "membership", "file": r.file, "year": r.year, "rows": r.practices,
         "layout": r.layout}
        for r in inputs.structures.files.itertuples()
    ]  # fmt: skip
    for source, wide, path, count in (
        (TABLE_SOURCE, inputs.table, inputs.table_path, len(inputs.table.units)),
        (GROUPS_SOURCE, inputs.groups, inputs.groups_path, len(inputs.groups.units)),
    ):
        rows.append(
            {"source": source, "file": Path(path).name, "year": wide.year, "rows": count,
             "layout": wide.mapping["path"].name}
        )  # fmt: skip
    rows += [
        {"source": "qof_totals", "file": r.file, "year": r.year, "rows": r.rows, "layout": r.layout}
        for r in inputs.qof.files.itertuples()
    ]
    return pd.DataFrame(rows)
