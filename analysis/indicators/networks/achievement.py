"""Primary care networks against England on QOF achievement: the 2016 question asked of today.

The outcome is each practice's percentage of its available QOF points
(``100 * points_achieved / points_available``). QOF points are not counts of independent
events (an indicator's points follow a sliding scale of its own patients), so nothing here
is binomial: the percentage is a continuous outcome, and practices are nested in their
organisation (PCN), so a linear mixed model with a random intercept per organisation
(statsmodels ``MixedLM``, REML) estimates how much of the variation lies between
organisations and how much between practices within them. The model is fitted by
:mod:`analysis.indicators.methods.mixed` (REML score equation solved in closed form per group; the
same estimates as ``MixedLM``, which :func:`mixedlm_check` fits beside it for one year).

* :func:`practice_outcomes`: the analysis table (one row per practice and year).
* :func:`national_comparator`: England per year, with which comparator and how many
  practices it covers (the QOF summaries publish no England row, so it is always computed
  from the practices in the files).
* :func:`variance_partition`: between- and within-organisation variance and the intraclass
  correlation per year.
* :func:`organisation_table`: each organisation's practices, patients and mean percentage
  (the funnel plot is :mod:`analysis.indicators.networks.network_funnel`).
* :func:`size_associations`: organisation size (practices, registered patients) against
  achievement and against its change between the first and last year, with
  Benjamini-Hochberg q-values over the family of those tests.
* :func:`membership_sensitivity`: the variance partition and size associations under
  different membership years.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.regression.mixed_linear_model import MixedLMParams
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from analysis.core.stats import benjamini_hochberg
from analysis.indicators.methods.mixed import fit_random_intercept
from analysis.indicators.sources.membership import Membership, derive

COMPARATORS = ("practice_mean", "pooled_points")
"""``practice_mean``: mean of practices' percentages (what an organisation's mean is
compared with); ``pooled_points``: all points achieved over all points available."""
SIZE_MEASURES = {
    "log2_practices": "doubling of member practices",
    "log2_patients": "doubling of registered patients",
}
SMALL = 30
SIZE_FAMILY = "network size: both size measures, achievement in every year and its change"
"""The family of tests over which Benjamini-Hochberg q-values are computed, per membership
rule: every test of :func:`size_associations` (two size measures times each year's
achievement and the change between the first and last year)."""


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

    See :mod:`analysis.indicators.methods.mixed` (the same model as statsmodels ``MixedLM``).
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


def _statsmodels_reml(model, gamma: float) -> tuple[float, float]:
    """statsmodels' REML log-likelihood (profiled over beta and the scale) at variance ratio
    ``gamma``, and its derivative in ``gamma`` (``MixedLM.score_full``)."""
    cov_re = np.array([[gamma]])
    fe_params, _ = model.get_fe_params(cov_re, np.zeros(0))
    params = MixedLMParams.from_components(fe_params=fe_params, cov_re=cov_re)
    loglik = float(model.loglike(params, profile_fe=False))
    score = float(model.score_full(params, calc_fe=False)[1][0])
    return loglik, score


def mixedlm_check(data: pd.DataFrame, year: int, *, gtol: float = 1e-10) -> pd.DataFrame:
    """The variance partition of ``year`` recomputed by statsmodels ``MixedLM`` (REML).

    ``MixedLM`` is started at the method-of-moments variance ratio (not at the closed-form
    answer, so the check is independent) and run with BFGS to gradient tolerance ``gtol``
    (its default, 1e-5, stops about 1e-6 short in relative terms). The outcome is
    standardised for the optimiser (``MixedLM`` stalls at the boundary on percentages near
    100) and the variances scaled back. For both fits, statsmodels' own REML log-likelihood
    and its derivative in the variance ratio ``gamma = between / within`` are evaluated at
    the fit's ``gamma``: at the REML estimate the derivative is zero and no other ``gamma``
    has a higher log-likelihood.

    Returns
    -------
    pandas.DataFrame
        One row per method: ``method``, ``year``, ``mean``, ``between_var``,
        ``within_var``, ``icc``, ``gamma``, ``reml_loglik`` and ``reml_score`` (statsmodels'
        evaluation at that row's ``gamma``), ``relative_difference`` (the largest relative
        difference of ``mean``, ``between_var``, ``within_var`` from the closed form) and
        ``gtol``.
    """
    frame = _members(data)
    frame = frame[frame["year"] == year]
    centre, scale = frame["pct"].mean(), frame["pct"].std()
    standard = frame.assign(z=(frame["pct"] - centre) / scale)
    ours = random_intercept(frame)
    start = MixedLMParams.from_components(
        fe_params=np.zeros(1), cov_re=np.array([[_anova_ratio(standard)]])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = smf.mixedlm("z ~ 1", standard, groups=standard["organisation_id"])
        result = model.fit(reml=True, method=["bfgs"], start_params=start, gtol=gtol)
    theirs = (
        centre + scale * result.fe_params["Intercept"],
        scale**2 * float(result.cov_re.iloc[0, 0]),
        scale**2 * float(result.scale),
    )
    rows = [
        (
            "closed-form REML, score equation solved (analysis.indicators.methods.mixed)",
            float(ours.params["Intercept"]),
            ours.between_var,
            ours.within_var,
            np.nan,
        ),
        (
            "statsmodels MixedLM (REML, BFGS from the method-of-moments ratio)",
            *theirs,
            gtol,
        ),
    ]
    out = pd.DataFrame(rows, columns=["method", "mean", "between_var", "within_var", "gtol"])
    out.insert(1, "year", int(year))
    out["icc"] = out["between_var"] / (out["between_var"] + out["within_var"])
    out["gamma"] = out["between_var"] / out["within_var"]
    evaluated = [_statsmodels_reml(model, gamma) for gamma in out["gamma"]]
    out["reml_loglik"] = [loglik for loglik, _ in evaluated]
    out["reml_score"] = [score for _, score in evaluated]
    columns = ["mean", "between_var", "within_var"]
    first = out[columns].iloc[0].to_numpy()
    out["relative_difference"] = (np.abs(out[columns].to_numpy() - first) / np.abs(first)).max(1)
    order = ["method", "year", "mean", "between_var", "within_var", "icc", "gamma"]
    return out[[*order, "reml_loglik", "reml_score", "relative_difference", "gtol"]]


def variance_partition(data: pd.DataFrame) -> pd.DataFrame:
    """Between- and within-organisation variance of practices' percentages, per year.

    Only practices in an organisation are used. ``icc`` is the share of the variance that
    lies between organisations; ``between_sd`` and ``within_sd`` are in percentage points.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``financial_year``, ``n_organisations``, ``n_practices``, ``mean``,
        ``between_var``, ``within_var``, ``between_sd``, ``within_sd``, ``icc``, ``method``.
    """
    rows = []
    for year, frame in _members(data).groupby("year", sort=True):
        fit = random_intercept(frame)
        rows.append(
            {
                "year": int(year),
                "financial_year": f"{int(year)}-{(int(year) + 1) % 100:02d}",
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

    The tests form one family (:data:`SIZE_FAMILY`): the question "is size associated with
    achievement?" is asked of every year and of the change, with two size measures, so a
    p-value below 0.05 in one of them is expected by chance more often than 1 in 20.
    ``q`` is the Benjamini-Hochberg (1995) adjusted p-value over the family.

    Returns
    -------
    pandas.DataFrame
        ``outcome``, ``size_measure``, ``per``, ``n_practices``, ``n_organisations``,
        ``coefficient``, ``ci_lower``, ``ci_upper``, ``p``, ``q``, ``family``,
        ``tests_in_family``, ``icc`` (residual, given size).
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
    out = pd.DataFrame(rows)
    out.insert(out.columns.get_loc("p") + 1, "q", benjamini_hochberg(out["p"]))
    out.insert(out.columns.get_loc("q") + 1, "family", SIZE_FAMILY)
    out.insert(out.columns.get_loc("family") + 1, "tests_in_family", len(out))
    return out


def size_family(sizes: pd.DataFrame, fdr: float = 0.05) -> pd.DataFrame:
    """The family of size tests in one row: how many, the smallest p and q, and how many
    have ``q < fdr`` (Benjamini-Hochberg discoveries at false discovery rate ``fdr``).

    Returns
    -------
    pandas.DataFrame
        ``family``, ``tests``, ``size_measures``, ``achievement_years``, ``change_tests``,
        ``smallest_p``, ``smallest_q``, ``fdr``, ``discoveries``, ``below_005_unadjusted``
        (tests with ``p < 0.05`` before adjustment).
    """
    change = sizes["outcome"].str.startswith("change")
    return pd.DataFrame(
        [
            {
                "family": SIZE_FAMILY,
                "tests": len(sizes),
                "size_measures": int(sizes["size_measure"].nunique()),
                "achievement_years": int(sizes.loc[~change, "outcome"].nunique()),
                "change_tests": int(change.sum()),
                "smallest_p": float(sizes["p"].min()),
                "smallest_q": float(sizes["q"].min()),
                "fdr": float(fdr),
                "discoveries": int((sizes["q"] < fdr).sum()),
                "below_005_unadjusted": int((sizes["p"] < 0.05).sum()),
            }
        ]
    )


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
        :func:`analysis.indicators.sources.qof.read_qof_years` practices.
    group, exclude
        As :func:`analysis.indicators.sources.membership.derive`.
    membership_years
        Each a year (fixed membership) or ``None`` (each year's own codes).
    first_year, last_year
        Years of the change model.

    Returns
    -------
    pandas.DataFrame
        One row per rule and year: ``rule``, ``year``, ``n_organisations``, ``n_practices``,
        ``icc``, ``between_sd``, ``within_sd``, and per rule the change-size coefficients
        ``change_per_doubling_practices`` and ``change_per_doubling_patients`` with p-values
        and Benjamini-Hochberg q-values (over that rule's family of size tests).
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
            part[f"change_q_{name}"] = change.at[measure, "q"] if found else np.nan
        frames.append(part.drop(columns=["method", "between_var", "within_var"]))
    return pd.concat(frames, ignore_index=True)
