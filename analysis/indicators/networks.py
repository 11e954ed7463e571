"""Primary care networks against England on QOF achievement: the 2016 question asked of today.

The outcome is each practice's percentage of its available QOF points
(``100 * points_achieved / points_available``). QOF points are not counts of independent
events (an indicator's points follow a sliding scale of its own patients), so nothing here
is binomial: the percentage is a continuous outcome, and practices are nested in their
organisation (PCN), so a linear mixed model with a random intercept per organisation
(statsmodels ``MixedLM``, REML) estimates how much of the variation lies between
organisations and how much between practices within them. The model is fitted by
:mod:`analysis.indicators.mixed` (closed-form REML, the same estimates as ``MixedLM``, which
:func:`mixedlm_check` fits beside it for one year).

* :func:`practice_outcomes`: the analysis table (one row per practice and year).
* :func:`national_comparator`: England per year, with which comparator and how many
  practices it covers (the QOF summaries publish no England row, so it is always computed
  from the practices in the files).
* :func:`variance_partition`: between- and within-organisation variance and the intraclass
  correlation per year.
* :func:`organisation_funnel` and :func:`funnel_summary`: each organisation's mean against
  England with funnel limits for a mean of ``n`` practices, and how many fall outside
  against how many would by chance.
* :func:`size_associations`: organisation size (practices, registered patients) against
  achievement and against its change between the first and last year.
* :func:`membership_sensitivity`: the variance partition and size associations under
  different membership years.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.regression.mixed_linear_model import MixedLMParams
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from analysis.indicators.membership import Membership, derive
from analysis.indicators.mixed import fit_random_intercept

COMPARATORS = ("practice_mean", "pooled_points")
"""``practice_mean``: mean of practices' percentages (what an organisation's mean is
compared with); ``pooled_points``: all points achieved over all points available."""
SIZE_MEASURES = {
    "log2_practices": "member practices (doubling)",
    "log2_patients": "registered patients (doubling)",
}
POSITIONS = ("below 99.8%", "below 95%", "within 95%", "above 95%", "above 99.8%")
SMALL = 30


class SmallComparatorWarning(UserWarning):
    """The comparator or a comparison group covers few practices."""


def practice_outcomes(practices: pd.DataFrame, membership: Membership) -> pd.DataFrame:
    """One row per practice and year with its organisation and percentage of available points.

    Practices whose points are published as not available are dropped (counted in the
    membership's ``counts`` as practices, not as outcomes).

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``year``, ``organisation_id`` (missing: none), ``list_size``,
        ``points_achieved``, ``points_available``, ``max_points``, ``pct``.
    """
    columns = ["practice_code", "year", "list_size", "points_achieved", "points_available"]
    frame = practices[[*columns, "max_points"]].merge(
        membership.table, on=["practice_code", "year"], how="left", validate="1:1"
    )
    frame = frame[frame["points_available"].notna() & (frame["points_available"] > 0)].copy()
    frame["pct"] = 100 * frame["points_achieved"] / frame["points_available"]
    order = ["practice_code", "year", "organisation_id", *columns[2:], "max_points", "pct"]
    return frame[order].sort_values(["year", "practice_code"], ignore_index=True)


def national_comparator(data: pd.DataFrame, comparator: str = "practice_mean") -> pd.DataFrame:
    """England per year from every practice in the data, saying which comparator it is.

    Parameters
    ----------
    data
        :func:`practice_outcomes`.
    comparator
        One of :data:`COMPARATORS`.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``comparator``, ``basis``, ``n_practices``, ``value`` (percent), ``sd``
        (between-practice SD of ``pct``), ``practice_mean`` and ``pooled_points``.

    Warns
    -----
    SmallComparatorWarning
        When a year's comparator covers fewer than 30 practices.
    """
    if comparator not in COMPARATORS:
        raise ValueError(f"parameter 'comparator': {comparator!r}; expected one of {COMPARATORS}")
    out = data.groupby("year", as_index=False).agg(
        n_practices=("pct", "size"),
        practice_mean=("pct", "mean"),
        sd=("pct", "std"),
        achieved=("points_achieved", "sum"),
        available=("points_available", "sum"),
    )
    out["pooled_points"] = 100 * out["achieved"] / out["available"]
    out["value"] = out[comparator]
    out["comparator"] = comparator
    out["basis"] = "sum of the practices in the file (QOF summaries publish no England row)"
    small = out.loc[out["n_practices"] < SMALL, "year"].tolist()
    if small:
        warnings.warn(
            f"the England comparator covers fewer than {SMALL} practices in year(s) {small}",
            SmallComparatorWarning,
            stacklevel=2,
        )
    columns = ["year", "comparator", "basis", "n_practices", "value", "sd"]
    return out[[*columns, "practice_mean", "pooled_points"]]


def _members(data: pd.DataFrame) -> pd.DataFrame:
    return data[data["organisation_id"].notna()]


def random_intercept(frame: pd.DataFrame, outcome: str = "pct", terms: Sequence[str] = ()):
    """REML fit of ``outcome ~ terms`` with a random intercept per ``organisation_id``.

    See :mod:`analysis.indicators.mixed` (the same model as statsmodels ``MixedLM``).
    """
    exog = pd.DataFrame({"Intercept": 1.0, **{t: frame[t] for t in terms}}, index=frame.index)
    return fit_random_intercept(frame[outcome], exog, frame["organisation_id"])


def _anova_ratio(frame: pd.DataFrame) -> float:
    """Method-of-moments between/within variance ratio of ``z`` (unbalanced one-way ANOVA)."""
    groups = frame.groupby("organisation_id")["z"]
    n, k, total = groups.size(), groups.ngroups, len(frame)
    within = ((frame["z"] - groups.transform("mean")) ** 2).sum() / (total - k)
    between = (n * (groups.mean() - frame["z"].mean()) ** 2).sum() / (k - 1)
    n0 = (total - (n**2).sum() / total) / (k - 1)
    return max((between - within) / n0, 1e-3) / within


def mixedlm_check(data: pd.DataFrame, year: int) -> pd.DataFrame:
    """The variance partition of ``year`` by statsmodels ``MixedLM`` (REML), as a cross-check.

    The outcome is standardised for the optimiser (``MixedLM`` stalls at the boundary on
    percentages near 100) and the variances scaled back.

    Returns
    -------
    pandas.DataFrame
        One row per method (``closed-form REML``, ``statsmodels MixedLM``): ``year``,
        ``mean``, ``between_var``, ``within_var``, ``icc``.
    """
    frame = _members(data)
    frame = frame[frame["year"] == year]
    centre, scale = frame["pct"].mean(), frame["pct"].std()
    standard = frame.assign(z=(frame["pct"] - centre) / scale)
    ours = random_intercept(frame)
    # started at the method-of-moments ratio (not at our answer), so the check is independent
    start = MixedLMParams.from_components(
        fe_params=np.zeros(1), cov_re=np.array([[_anova_ratio(standard)]])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = smf.mixedlm("z ~ 1", standard, groups=standard["organisation_id"])
        result = model.fit(reml=True, method=["bfgs"], start_params=start)
    rows = [
        (
            "closed-form REML (analysis.indicators.mixed)",
            ours.params["Intercept"],
            ours.between_var,
            ours.within_var,
        ),
        (
            "statsmodels MixedLM (REML, bfgs)",
            centre + scale * result.fe_params["Intercept"],
            scale**2 * float(result.cov_re.iloc[0, 0]),
            scale**2 * float(result.scale),
        ),
    ]
    out = pd.DataFrame(rows, columns=["method", "mean", "between_var", "within_var"])
    out.insert(1, "year", int(year))
    out["icc"] = out["between_var"] / (out["between_var"] + out["within_var"])
    return out


def variance_partition(data: pd.DataFrame) -> pd.DataFrame:
    """Between- and within-organisation variance of practices' percentages, per year.

    Only practices in an organisation are used. ``icc`` is the share of the variance that
    lies between organisations; ``between_sd`` and ``within_sd`` are in percentage points.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``n_organisations``, ``n_practices``, ``mean``, ``between_var``,
        ``within_var``, ``between_sd``, ``within_sd``, ``icc``, ``method``.
    """
    rows = []
    for year, frame in _members(data).groupby("year", sort=True):
        fit = random_intercept(frame)
        rows.append(
            {
                "year": int(year),
                "n_organisations": fit.n_groups,
                "n_practices": fit.n_obs,
                "mean": float(fit.params["Intercept"]),
                "between_var": fit.between_var,
                "within_var": fit.within_var,
                "between_sd": np.sqrt(fit.between_var),
                "within_sd": np.sqrt(fit.within_var),
                "icc": fit.icc,
                "method": "REML, random intercept per organisation",
            }
        )
    return pd.DataFrame(rows)


def organisation_table(data: pd.DataFrame) -> pd.DataFrame:
    """Per organisation and year: member practices, registered patients and mean percentage."""
    out = (
        _members(data)
        .groupby(["organisation_id", "year"], as_index=False)
        .agg(
            n_practices=("pct", "size"),
            patients=("list_size", "sum"),
            mean_pct=("pct", "mean"),
            sd_pct=("pct", "std"),
        )
    )
    out["log2_practices"] = np.log2(out["n_practices"])
    out["log2_patients"] = np.log2(out["patients"] / 10_000)
    return out


def _position(z: np.ndarray) -> np.ndarray:
    z95, z998 = sps.norm.ppf(0.975), sps.norm.ppf(0.999)
    bins = [-np.inf, -z998, -z95, z95, z998, np.inf]
    return np.asarray(pd.cut(z, bins, labels=list(POSITIONS), right=False).astype(str))


def organisation_funnel(data: pd.DataFrame, national: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each organisation's mean percentage against England in ``year``, with funnel limits.

    Under the null that an organisation is like any ``n`` practices of England, its mean of
    ``n`` practices' percentages has standard error ``sd / sqrt(n)``, ``sd`` the
    between-practice SD in England (:func:`national_comparator`). Limits are England
    +- 1.96 and 3.09 standard errors.

    Returns
    -------
    pandas.DataFrame
        :func:`organisation_table` columns plus ``national``, ``comparator``, ``se``, ``z``,
        ``lower95``, ``upper95``, ``lower998``, ``upper998`` and ``position``.
    """
    england = national.set_index("year")
    if year not in england.index:
        raise ValueError(f"parameter 'last_year': {year} is not a year of the data")
    value, sd = float(england.at[year, "value"]), float(england.at[year, "sd"])
    out = organisation_table(data)
    out = out[out["year"] == year].reset_index(drop=True)
    out["national"] = value
    out["comparator"] = england.at[year, "comparator"]
    out["se"] = sd / np.sqrt(out["n_practices"])
    out["z"] = (out["mean_pct"] - value) / out["se"]
    for label, confidence in (("95", 0.95), ("998", 0.998)):
        half = sps.norm.ppf(0.5 + confidence / 2) * out["se"]
        out[f"lower{label}"] = value - half
        out[f"upper{label}"] = value + half
    out["position"] = _position(out["z"].to_numpy())
    return out.sort_values("organisation_id", ignore_index=True)


def funnel_summary(funnel: pd.DataFrame) -> pd.DataFrame:
    """Organisations by funnel position against the number expected if none differed."""
    expected = {
        "below 99.8%": 0.001,
        "below 95%": 0.024,
        "within 95%": 0.95,
        "above 95%": 0.024,
        "above 99.8%": 0.001,
    }
    n = len(funnel)
    counts = funnel["position"].value_counts().reindex(list(POSITIONS), fill_value=0)
    return pd.DataFrame(
        {
            "position": list(POSITIONS),
            "organisations": counts.to_numpy(),
            "share": counts.to_numpy() / n if n else np.nan,
            "expected_by_chance": [expected[p] * n for p in POSITIONS],
        }
    )


def _size_rows(frame: pd.DataFrame, outcome: str, label: str) -> list[dict]:
    rows = []
    for measure, meaning in SIZE_MEASURES.items():
        fit = random_intercept(frame, outcome, [measure])
        lower, upper = fit.conf_int().loc[measure]
        rows.append(
            {
                "outcome": label,
                "size_measure": measure,
                "per": meaning,
                "n_practices": len(frame),
                "n_organisations": frame["organisation_id"].nunique(),
                "coefficient": float(fit.params[measure]),
                "ci_lower": float(lower),
                "ci_upper": float(upper),
                "p": float(fit.pvalues[measure]),
                "icc": fit.icc,
            }
        )
    return rows


def size_associations(data: pd.DataFrame, first_year: int, last_year: int) -> pd.DataFrame:
    """Organisation size against achievement (each year) and its change (first to last year).

    Practice-level mixed models with a random intercept per organisation and the
    organisation's size (``log2`` of member practices, or of registered patients / 10,000,
    in that year) as a fixed effect; the coefficient is the difference in percentage points
    per doubling of size. The change model takes practices present in both years, their
    change ``pct(last) - pct(first)`` and the size in the last year.

    Returns
    -------
    pandas.DataFrame
        ``outcome``, ``size_measure``, ``per``, ``n_practices``, ``n_organisations``,
        ``coefficient``, ``ci_lower``, ``ci_upper``, ``p``, ``icc`` (residual, given size).
    """
    sizes = organisation_table(data)[["organisation_id", "year", *SIZE_MEASURES]]
    members = _members(data).merge(sizes, on=["organisation_id", "year"], how="left")
    rows = []
    for year, frame in members.groupby("year", sort=True):
        rows += _size_rows(frame, "pct", f"achievement {year}")
    first = members[members["year"] == first_year].set_index("practice_code")["pct"]
    last = members[members["year"] == last_year].set_index("practice_code")
    change = last.assign(change=last["pct"] - first.reindex(last.index)).dropna(subset=["change"])
    if first_year != last_year and len(change):
        rows += _size_rows(change.reset_index(), "change", f"change {first_year}-{last_year}")
    return pd.DataFrame(rows)


def membership_sensitivity(
    practices: pd.DataFrame,
    *,
    group: str,
    exclude: Sequence[str],
    membership_years: Sequence[int | None],
    first_year: int,
    last_year: int,
) -> pd.DataFrame:
    """The variance partition and size-change association under each membership rule.

    Parameters
    ----------
    practices
        :func:`analysis.indicators.qof.read_qof_years` practices.
    group, exclude
        As :func:`analysis.indicators.membership.derive`.
    membership_years
        Each a year (fixed membership) or ``None`` (each year's own codes).
    first_year, last_year
        Years of the change model.

    Returns
    -------
    pandas.DataFrame
        One row per rule and year: ``rule``, ``year``, ``n_organisations``, ``n_practices``,
        ``icc``, ``between_sd``, ``within_sd``, and per rule the change-size coefficients
        ``change_per_doubling_practices`` and ``change_per_doubling_patients`` with p-values.
    """
    frames = []
    for membership_year in membership_years:
        membership = derive(
            practices, group=group, exclude=exclude, membership_year=membership_year
        )
        data = practice_outcomes(practices, membership)
        part = variance_partition(data)
        sizes = size_associations(data, first_year, last_year)
        change = sizes[sizes["outcome"].str.startswith("change")].set_index("size_measure")
        part.insert(0, "rule", membership.rule)
        for measure, name in (("log2_practices", "practices"), ("log2_patients", "patients")):
            found = measure in change.index
            part[f"change_per_doubling_{name}"] = (
                change.at[measure, "coefficient"] if found else np.nan
            )
            part[f"change_p_{name}"] = change.at[measure, "p"] if found else np.nan
        frames.append(part.drop(columns=["method", "between_var", "within_var"]))
    return pd.concat(frames, ignore_index=True)
