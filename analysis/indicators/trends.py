"""Analysis 2: each organisation's trend against the rest of England (issue 4).

:func:`trend_models`: a binomial (logit) or Poisson (log, offset log denominator) GLM of
the practice-year counts on year, per organisation and indicator, with standard errors
clustered by practice (Liang and Zeger 1986). Grouped counts per practice-year give the
same likelihood as individual events, so nothing is lost by fitting them. The comparator
is the practices outside every large-scale organisation that year ("rest of England").
The difference between the organisation's and the comparator's annual log odds (or rate)
ratio is the organisation x year interaction. ``method="separate"`` fits the two groups
apart: the same point estimates as the joint model, and a variance that is the sum of
the two clustered variances, which differs from the joint model's only by the
small-sample factor ``G / (G - 1)`` of the organisation's ``G`` practices (and by the few
practices that change group); it is about five times faster. ``method="interaction"``
fits the joint model.

Issue 14 adds two named options. ``comparator="england"`` compares with all practices (the
level comparator) instead of the rest of England. ``members="stable"`` keeps only practices
that belong to the organisation in every selected year, so the organisation's trend is
within-practice change and not membership turnover (a quarter of member practice-years in
the synthetic panel come from joiners and leavers). ``model="practice_fe"`` keeps every
practice-year but gives each practice its own intercept (:mod:`analysis.indicators.trend_fe`),
so the slopes are within-practice change only, for the organisation and the comparator alike;
the levels at the baseline year stay those of the pooled model (a practice intercept is not a
level of the group).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.core import stats
from analysis.indicators.comparison import SMALL_COMPARATOR, classify, two_sided_p
from analysis.indicators.selection import KEY, unknown_value
from analysis.indicators.trend_fe import fe_glm, glm_moments, informative

TREND_METHODS = ("separate", "interaction")
TREND_COMPARATORS = ("rest", "england")
TREND_MEMBERS = ("all", "stable")
TREND_MODELS = ("pooled", "practice_fe")
FIT_OPTIONS = ("baseline_year", "method", "comparator", "members", "model")
"""The options :func:`trend_fits` records in every row (the last columns of its table)."""


def _glm(frame: pd.DataFrame, design: np.ndarray, distribution: str):
    import statsmodels.api as sm  # only the interaction model uses it; imported when it does

    if distribution == "binomial":
        endog = np.column_stack([frame["numerator"], frame["denominator"] - frame["numerator"]])
        model = sm.GLM(endog, design, family=sm.families.Binomial())
    else:
        model = sm.GLM(
            frame["numerator"].to_numpy(),
            design,
            family=sm.families.Poisson(),
            offset=np.log(frame["denominator"].to_numpy()),
        )
    groups = pd.factorize(frame["practice_code"])[0]
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def _newton_glm(
    y: np.ndarray, n: np.ndarray, design: np.ndarray, groups: np.ndarray, distribution: str
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum likelihood of a canonical-link binomial or Poisson GLM, cluster-robust covariance.

    Newton-Raphson (identical to IRLS for a canonical link) to machine precision, then the
    sandwich ``H^-1 (sum_g s_g s_g') H^-1`` with statsmodels' small-sample factor
    ``G / (G - 1) (N - 1) / (N - K)``: the same numbers as ``sm.GLM(...).fit(cov_type=
    "cluster")`` without its per-fit overhead, which dominated the analysis time (issue 14).
    """
    binomial = distribution == "binomial"
    offset = 0.0 if binomial else np.log(n)
    total = y.sum() / n.sum()
    start = np.log(total / (1 - total)) if binomial else np.log(total)
    beta = np.zeros(design.shape[1])
    beta[0] = start if np.isfinite(start) else 0.0
    for _ in range(100):
        mu, w = glm_moments(design @ beta + offset, n, binomial)
        info = (design * w[:, None]).T @ design
        step = np.linalg.solve(info, design.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    mu, w = glm_moments(design @ beta + offset, n, binomial)
    bread = np.linalg.inv((design * w[:, None]).T @ design)
    scores = design * (y - mu)[:, None]
    n_groups = int(groups.max()) + 1
    cluster = np.column_stack(
        [
            np.bincount(groups, weights=scores[:, j], minlength=n_groups)
            for j in range(scores.shape[1])
        ]
    )
    nobs, k = design.shape
    factor = n_groups / (n_groups - 1) * (nobs - 1) / (nobs - k)
    return beta, factor * bread @ (cluster.T @ cluster) @ bread


def _within_slope(
    frame: pd.DataFrame, columns: list[np.ndarray], distribution: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """Practice fixed-effects coefficients of ``columns`` and their covariance (or None)."""
    y = frame["numerator"].to_numpy(dtype=float)
    n = frame["denominator"].to_numpy(dtype=float)
    groups = pd.factorize(frame["practice_code"])[0]
    keep = informative(y, n, groups, distribution)
    if len(np.unique(groups[keep])) < 2:
        return None
    design = np.column_stack(columns)[keep]
    beta, cov, _ = fe_glm(y[keep], n[keep], design, pd.factorize(groups[keep])[0], distribution)
    return beta, cov


def fit_trend(
    frame: pd.DataFrame, distribution: str, baseline_year: int, *, model: str = "pooled"
) -> dict[str, float]:
    """GLM of practice-year counts on ``year - baseline_year``, SEs clustered by practice.

    Fitted by :func:`_newton_glm` (checked against statsmodels to 1e-8 in the tests); with
    ``model="practice_fe"`` the slope is that of the practice fixed-effects model
    (:func:`analysis.indicators.trend_fe.fe_glm`) and the level stays the pooled one.

    Returns
    -------
    dict
        ``level`` (link-scale intercept at the baseline year), ``level_se``, ``slope``
        (annual log odds or rate ratio), ``slope_se``, ``n_practices``, ``n_years``; NaN
        estimates when fewer than two practices or two years are available.
    """
    groups = pd.factorize(frame["practice_code"])[0]
    n_practices = int(groups.max()) + 1 if len(groups) else 0
    n_years = frame["year"].nunique()
    out = {"n_practices": n_practices, "n_years": n_years}
    nan = dict.fromkeys(("level", "level_se", "slope", "slope_se"), np.nan)
    if n_practices < 2 or n_years < 2:
        return {**out, **nan}
    time = (frame["year"] - baseline_year).to_numpy(dtype=float)
    design = np.column_stack([np.ones_like(time), time])
    params, cov = _newton_glm(
        frame["numerator"].to_numpy(dtype=float),
        frame["denominator"].to_numpy(dtype=float),
        design,
        groups,
        distribution,
    )
    se = np.sqrt(np.diag(cov))
    out = {**out, "level": params[0], "level_se": se[0], "slope": params[1], "slope_se": se[1]}
    if model == "practice_fe":
        within = _within_slope(frame, [time], distribution)
        slope, slope_se = (np.nan, np.nan) if within is None else (within[0][0], within[1][0, 0])
        out.update(slope=slope, slope_se=np.sqrt(slope_se))
    return out


def fit_interaction(
    org: pd.DataFrame,
    rest: pd.DataFrame,
    distribution: str,
    baseline_year: int,
    *,
    model: str = "pooled",
) -> dict[str, float]:
    """Joint GLM ``1 + t + g + g t`` (``g`` = organisation), SEs clustered by practice.

    Returns the organisation-minus-comparator ``level_difference`` and ``slope_difference``
    (the interaction) with standard errors. With ``model="practice_fe"`` the joint model is
    ``practice + t + g t`` (and ``g`` where a practice changes group) and only the slope
    difference is returned.
    """
    both = pd.concat([org.assign(_g=1.0), rest.assign(_g=0.0)], ignore_index=True)
    time = (both["year"] - baseline_year).to_numpy(dtype=float)
    g = both["_g"].to_numpy()
    if model == "practice_fe":
        switches = both.groupby("practice_code")["_g"].nunique().gt(1).any()
        within = _within_slope(both, [time, g * time, *([g] if switches else [])], distribution)
        if within is None:
            return {"slope_difference": np.nan, "slope_difference_se": np.nan}
        return {
            "slope_difference": within[0][1],
            "slope_difference_se": np.sqrt(within[1][1, 1]),
        }
    design = np.column_stack([np.ones_like(time), time, g, g * time])
    fit = _glm(both, design, distribution)
    se = np.sqrt(np.diag(fit.cov_params()))
    return {
        "level_difference": fit.params[2],
        "level_difference_se": se[2],
        "slope_difference": fit.params[3],
        "slope_difference_se": se[3],
    }


def _change(slope: pd.Series, p: np.ndarray, higher: pd.Series, alpha: float) -> np.ndarray:
    cls = classify(slope, p, higher, alpha)
    names = {
        "better": "improved",
        "worse": "deteriorated",
        "not different": "no significant change",
        "higher": "rose",  # an indicator with no direction
        "lower": "fell",
    }
    return np.array([names.get(c) for c in cls], dtype=object)


def trend_indicators(data: pd.DataFrame, catalogue: pd.DataFrame) -> list[str]:
    """Selected indicators that have a time series: no ``single_year``, two years or more
    of data, and counts (a continuous value has no binomial or Poisson trend model)."""
    facts = catalogue.set_index("indicator_id")
    single = facts["single_year"] if "single_year" in facts else pd.Series(dtype=float)
    continuous = set(data.loc[data["distribution"] == "continuous", "indicator_id"].unique())
    years = data.groupby("indicator_id", sort=False)["year"].nunique()
    present = list(pd.unique(data["indicator_id"].to_numpy(dtype=object)))
    return [
        i
        for i in present
        if pd.isna(single.get(i)) and i not in continuous and years.get(i, 0) >= 2
    ]


def trend_models(
    data: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations: Sequence[str],
    *,
    baseline_year: int,
    alpha: float = 0.05,
    method: str = "separate",
    comparator: str = "rest",
    members: str = "all",
    model: str = "pooled",
) -> pd.DataFrame:
    """Analysis 2: each organisation's annual trend against the rest of England.

    Parameters
    ----------
    data
        Output of :func:`analysis.indicators.selection.prepare`.
    catalogue
        Indicator catalogue; indicators with a ``single_year`` (QOF) are skipped.
    organisations
        Organisations to model.
    baseline_year
        Time is ``year - baseline_year``; levels are reported at this year.
    alpha
        Intervals are ``1 - alpha``; classes use ``p < alpha``.
    method
        ``separate`` or ``interaction`` (see the module notes).
    comparator
        ``rest`` (practices outside every organisation, as published) or ``england`` (all
        practices; only with ``method="separate"``).
    members
        ``all`` member practice-years (as published) or ``stable``: practices that are
        members in every year of the data.
    model
        ``pooled`` (one intercept per group, as published: within-practice change and
        membership turnover together) or ``practice_fe`` (one intercept per practice:
        within-practice change only; levels stay pooled).

    Returns
    -------
    pandas.DataFrame
        Per organisation and indicator: the organisation's and the comparator's annual
        ``*_annual_ratio`` (odds ratio for binomial, rate ratio for Poisson indicators) with
        intervals and their own ``*_change`` (improved / no significant change /
        deteriorated), the ``ratio_of_ratios`` (organisation over comparator) with interval,
        ``z``, ``p`` and ``classification``, and the ``level_difference`` (log odds or rate
        ratio at the baseline year) with ``level_se`` and ``level_p``;
        ``comparator_practices`` is the number of practices the comparator's trend covers.

    Warns
    -----
    UserWarning
        When a comparator covers fewer than
        :data:`~analysis.indicators.comparison.SMALL_COMPARATOR` practices for an indicator.
    """
    fits = trend_fits(
        data,
        catalogue,
        organisations,
        baseline_year=baseline_year,
        method=method,
        comparator=comparator,
        members=members,
        model=model,
    )
    return classify_trends(fits, alpha=alpha)


def trend_fits(
    data: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations: Sequence[str],
    *,
    baseline_year: int,
    method: str = "separate",
    comparator: str = "rest",
    members: str = "all",
    model: str = "pooled",
) -> pd.DataFrame:
    """The fitted slopes and levels of :func:`trend_models`, before any ``alpha`` is applied.

    :func:`classify_trends` turns them into the table :func:`trend_models` returns, so a grid
    of ``alpha`` values fits the models once. Arguments as for :func:`trend_models`.
    """
    if method not in TREND_METHODS:
        raise unknown_value("method", [method], TREND_METHODS)
    if comparator not in TREND_COMPARATORS:
        raise unknown_value("trend_comparator", [comparator], TREND_COMPARATORS)
    if members not in TREND_MEMBERS:
        raise unknown_value("trend_members", [members], TREND_MEMBERS)
    if model not in TREND_MODELS:
        raise unknown_value("trend_model", [model], TREND_MODELS)
    if method == "interaction" and comparator == "england":
        raise ValueError(
            "parameter 'trend_comparator': 'england' contains the organisation's own "
            "practices, so it needs method 'separate'"
        )
    wanted = trend_indicators(data, catalogue)
    # Integer practice codes and one split by indicator: string filtering dominated the time.
    light = data[data["indicator_id"].isin(wanted)].assign(
        practice_code=lambda f: pd.factorize(f["practice_code"])[0]
    )
    by_indicator = dict(list(light.groupby("indicator_id", sort=False)))
    rows = []
    for indicator in wanted:
        rows.extend(
            _trend_rows(
                by_indicator[indicator],
                indicator,
                organisations,
                baseline_year,
                method,
                comparator,
                members,
                model,
            )
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    _warn_small_comparator(out, comparator)
    out["baseline_year"] = baseline_year
    out["method"] = method
    out["comparator"] = comparator
    out["members"] = members
    out["model"] = model
    return out


def classify_trends(fits: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Intervals, p-values and classes at ``alpha`` for :func:`trend_fits` (a new table)."""
    if fits.empty:
        return fits
    z_crit = stats.z_value(1 - alpha)
    out = fits.drop(columns=list(FIT_OPTIONS))
    for who in ("org", "national"):
        est, se = out[f"{who}_slope"], out[f"{who}_slope_se"]
        out[f"{who}_annual_ratio"] = np.exp(est)
        out[f"{who}_ratio_lower"] = np.exp(est - z_crit * se)
        out[f"{who}_ratio_upper"] = np.exp(est + z_crit * se)
        out[f"{who}_p"] = two_sided_p(est / se)
        out[f"{who}_change"] = _change(est, out[f"{who}_p"], out["higher_is_better"], alpha)
    diff, se = out["slope_difference"], out["slope_difference_se"]
    out["ratio_of_ratios"] = np.exp(diff)
    out["ror_lower"] = np.exp(diff - z_crit * se)
    out["ror_upper"] = np.exp(diff + z_crit * se)
    out["z"] = diff / se
    out["p"] = two_sided_p(out["z"])
    out["classification"] = classify(diff, out["p"], out["higher_is_better"], alpha)
    out["level_p"] = two_sided_p(out["level_difference"] / out["level_se"])
    for column in FIT_OPTIONS:
        out[column] = fits[column]
    return out.sort_values(KEY, ignore_index=True)


def _warn_small_comparator(table: pd.DataFrame, comparator: str) -> None:
    per_indicator = table.groupby("indicator_id", sort=True)["comparator_practices"].first()
    small = per_indicator[per_indicator < SMALL_COMPARATOR]
    if len(small):
        group = "the rest of England" if comparator == "rest" else "England"
        warnings.warn(
            f"the trend comparator ({group}) covers fewer than {SMALL_COMPARATOR} practices for "
            f"{len(small)} indicator(s) (e.g. {small.index[0]}: {int(small.iloc[0])} practices)",
            UserWarning,
            stacklevel=3,
        )


def _trend_rows(
    data: pd.DataFrame,
    indicator: str,
    organisations: Sequence[str],
    baseline_year: int,
    method: str,
    comparator: str = "rest",
    members_rule: str = "all",
    model: str = "pooled",
) -> list[dict]:
    subset = (
        data if data["indicator_id"].nunique() == 1 else data[data["indicator_id"] == indicator]
    )
    first = subset.iloc[0]
    distribution = first["distribution"]
    rest = subset[subset["organisation_id"].isna()] if comparator == "rest" else subset
    national = fit_trend(rest, distribution, baseline_year, model=model)
    n_years = subset["year"].nunique()
    by_org = dict(list(subset.groupby("organisation_id", sort=False)))
    empty = subset.iloc[:0]
    rows = []
    for org in organisations:
        members = by_org.get(org, empty)
        if members_rule == "stable":
            years_in = members.groupby("practice_code")["year"].transform("nunique")
            members = members[years_in.to_numpy() == n_years]
        own = fit_trend(members, distribution, baseline_year, model=model)
        row = {
            "organisation_id": org,
            "indicator_id": indicator,
            "domain": first["domain"],
            "distribution": distribution,
            "higher_is_better": first["higher_is_better"],  # missing: no direction
            "ratio_type": "odds ratio" if distribution == "binomial" else "rate ratio",
            "n_practices": own["n_practices"],
            "n_years": own["n_years"],
            "org_slope": own["slope"],
            "org_slope_se": own["slope_se"],
            "national_slope": national["slope"],
            "national_slope_se": national["slope_se"],
            "comparator_practices": national["n_practices"],
            "slope_difference": own["slope"] - national["slope"],
            "slope_difference_se": np.hypot(own["slope_se"], national["slope_se"]),
            "level_difference": own["level"] - national["level"],
            "level_se": np.hypot(own["level_se"], national["level_se"]),
        }
        if method == "interaction" and not np.isnan(own["slope"]):
            joint = fit_interaction(members, rest, distribution, baseline_year, model=model)
            row.update(
                slope_difference=joint["slope_difference"],
                slope_difference_se=joint["slope_difference_se"],
            )
            if model == "pooled":
                row.update(
                    level_difference=joint["level_difference"],
                    level_se=joint["level_difference_se"],
                )
        rows.append(row)
    return rows
