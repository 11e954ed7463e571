"""Analysis 2: each organisation's trend against the rest of England.

:func:`trend_models`: a binomial (logit) or Poisson (log, offset log denominator) GLM of
the practice-year counts on year, per organisation and indicator, with standard errors
clustered by practice (Liang and Zeger 1986). Grouped counts per practice-year give the
same likelihood as individual events, so nothing is lost by fitting them. The comparator
is the practices outside every large-scale organisation that year ("rest of England").
The difference between the organisation's and the comparator's annual log odds (or rate)
ratio is the organisation x year interaction. ``method="separate"`` fits the two groups
apart: the same point estimates as the joint model, and a variance that is the sum of the
two clustered variances less twice their cross-covariance, which comes from the practices
in both fits (a practice that joins or leaves the organisation is in the comparator for its
other years; with ``comparator="england"`` every member is in both): the sum over those
practices of the products of their influences on the two slopes
(:mod:`analysis.indicators.methods.trend_fe`). ``shared_practices`` counts them. It is about five
times faster than ``method="interaction"``, the joint model.

``comparator="england"`` compares with all practices (the level comparator) instead of the
rest of England. ``members="stable"`` keeps only practices that belong to the organisation
in every selected year, so the organisation's trend is within-practice change and not
membership turnover. ``model="practice_fe"`` keeps every practice-year but gives each
practice its own intercept (:func:`analysis.indicators.methods.trend_fe.fe_glm`), so the slopes are
within-practice change only, for the organisation and the comparator alike; the levels at
the baseline year stay those of the pooled model (a practice intercept is not a level of
the group). ``model="pooled"`` (one intercept per group, as published) mixes
within-practice change with membership turnover.

**Reference distribution.** A cluster-robust standard error from ``G`` practices has about
``G - 1`` degrees of freedom, and organisations have few practices (a primary care network
has 1 to 60; the 2016 study's had 13 to 30), so ``reference="t"`` judges a difference of
two slopes against Student's t with the Welch-Satterthwaite degrees of freedom
``(V_o + V_c)^2 / (V_o^2 / (G_o - 1) + V_c^2 / (G_c - 1))`` of the organisation's and the
comparator's variances and practice counts (``df``; ``org_df``, ``national_df`` and
``level_df`` likewise), where ``reference="normal"`` (as published) uses the standard
normal whatever the number of practices.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.indicators.methods.comparison import CLASSES, SMALL_COMPARATOR, classify
from analysis.indicators.methods.selection import KEY, unknown_value
from analysis.indicators.methods.trend_fe import (
    cross_covariance,
    fit_trend,  # noqa: F401 - re-exported: the public one-group fit of the trend analysis
    group_fit,
    welch_df,
    within_slope,
)

TREND_METHODS = ("separate", "interaction")
TREND_COMPARATORS = ("rest", "england")
TREND_MEMBERS = ("all", "stable")
TREND_MODELS = ("pooled", "practice_fe")
TREND_REFERENCES = ("normal", "t")
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
        within = within_slope(both, [time, g * time, *([g] if switches else [])], distribution)
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
    reference: str = "normal",
) -> pd.DataFrame:
    """Analysis 2: each organisation's annual trend against the rest of England.

    Parameters
    ----------
    data
        Output of :func:`analysis.indicators.methods.selection.prepare`.
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
    reference
        ``normal`` (as published) or ``t``: the reference distribution of the tests and
        intervals (module notes).

    Returns
    -------
    pandas.DataFrame
        Per organisation and indicator: the organisation's and the comparator's annual
        ``*_annual_ratio`` (odds ratio for binomial, rate ratio for Poisson indicators) with
        intervals and their own ``*_change`` (improved / no significant change /
        deteriorated), the ``ratio_of_ratios`` (organisation over comparator) with interval,
        ``z``, ``p`` and ``classification``, and the ``level_difference`` (log odds or rate
        ratio at the baseline year) with ``level_se`` and ``level_p``;
        ``comparator_practices`` is the number of practices the comparator's trend covers,
        ``shared_practices`` those in both fits; ``df``, ``org_df``, ``national_df`` and
        ``level_df`` the degrees of freedom of the t reference (used only with
        ``reference="t"``, which ``reference`` records).

    Warns
    -----
    UserWarning
        When a comparator covers fewer than
        :data:`~analysis.indicators.methods.comparison.SMALL_COMPARATOR` practices for an indicator.
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
    return classify_trends(fits, alpha=alpha, reference=reference)


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


def _reference(reference: str, df: pd.Series, alpha: float) -> tuple[np.ndarray, object]:
    """Two-sided critical values and the survival function of the reference distribution."""
    if reference == "normal":
        return np.full(len(df), sps.norm.isf(alpha / 2)), lambda x: 2 * sps.norm.sf(np.abs(x))
    dof = df.to_numpy(dtype=float)
    return sps.t.isf(alpha / 2, dof), lambda x: 2 * sps.t.sf(np.abs(x), dof)


def classify_trends(
    fits: pd.DataFrame, *, alpha: float = 0.05, reference: str = "normal"
) -> pd.DataFrame:
    """Intervals, p-values and classes at ``alpha`` for :func:`trend_fits` (a new table).

    ``reference`` is ``normal`` (as published) or ``t`` (Student's t with the fits'
    degrees of freedom; module notes).
    """
    if reference not in TREND_REFERENCES:
        raise unknown_value("trend_reference", [reference], TREND_REFERENCES)
    if fits.empty:
        return fits
    out = fits.drop(columns=list(FIT_OPTIONS))
    for who in ("org", "national"):
        est, se = out[f"{who}_slope"], out[f"{who}_slope_se"]
        crit, two_sided = _reference(reference, out[f"{who}_df"], alpha)
        out[f"{who}_annual_ratio"] = np.exp(est)
        out[f"{who}_ratio_lower"] = np.exp(est - crit * se)
        out[f"{who}_ratio_upper"] = np.exp(est + crit * se)
        out[f"{who}_p"] = two_sided(est / se)
        out[f"{who}_change"] = _change(est, out[f"{who}_p"], out["higher_is_better"], alpha)
    diff, se = out["slope_difference"], out["slope_difference_se"]
    crit, two_sided = _reference(reference, out["df"], alpha)
    out["ratio_of_ratios"] = np.exp(diff)
    out["ror_lower"] = np.exp(diff - crit * se)
    out["ror_upper"] = np.exp(diff + crit * se)
    out["z"] = diff / se
    out["p"] = two_sided(out["z"])
    out["classification"] = classify(diff, out["p"], out["higher_is_better"], alpha)
    out["level_p"] = _reference(reference, out["level_df"], alpha)[1](
        out["level_difference"] / out["level_se"]
    )
    out["reference"] = reference
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
    national = group_fit(rest, distribution, baseline_year, model)
    nat = national.values
    n_years = subset["year"].nunique()
    by_org = dict(list(subset.groupby("organisation_id", sort=False)))
    empty = subset.iloc[:0]
    rows = []
    for org in organisations:
        members = by_org.get(org, empty)
        if members_rule == "stable":
            years_in = members.groupby("practice_code")["year"].transform("nunique")
            members = members[years_in.to_numpy() == n_years]
        fit = group_fit(members, distribution, baseline_year, model)
        own = fit.values
        slope_cross, shared = cross_covariance(
            fit.slope_practices, fit.slope_influence, national.slope_practices,
            national.slope_influence,
        )  # fmt: skip
        level_cross, _ = cross_covariance(
            fit.level_practices, fit.level_influence, national.level_practices,
            national.level_influence,
        )  # fmt: skip
        slope_var = (own["slope_se"] ** 2, nat["slope_se"] ** 2)
        level_var = (own["level_se"] ** 2, nat["level_se"] ** 2)
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
            "org_df": own["slope_clusters"] - 1 if own["slope_clusters"] > 1 else np.nan,
            "national_slope": nat["slope"],
            "national_slope_se": nat["slope_se"],
            "national_df": nat["slope_clusters"] - 1 if nat["slope_clusters"] > 1 else np.nan,
            "comparator_practices": nat["n_practices"],
            "shared_practices": shared,
            "slope_difference": own["slope"] - nat["slope"],
            "slope_difference_se": np.sqrt(max(sum(slope_var) - 2 * slope_cross, 0.0)),
            "df": float(welch_df(*slope_var, own["slope_clusters"], nat["slope_clusters"])),
            "level_difference": own["level"] - nat["level"],
            "level_se": np.sqrt(max(sum(level_var) - 2 * level_cross, 0.0)),
            "level_df": float(welch_df(*level_var, own["n_practices"], nat["n_practices"])),
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


def side_by_side(headline: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Two trend tables of the same organisations and indicators, one row per pair.

    ``headline`` and ``published`` are :func:`trend_models` tables (e.g. practice fixed
    effects with the t reference, and the pooled fit with the normal reference as
    published). Their columns ``ratio_of_ratios``, ``ror_lower``, ``ror_upper`` and
    ``classification`` appear twice, suffixed with each table's ``model`` and ``reference``
    (``headline_fit`` and ``published_fit`` say which); ``moved`` marks a pair whose class
    differs.
    """
    shown = ["ratio_of_ratios", "ror_lower", "ror_upper", "p", "classification"]
    left = headline[[*KEY, "ratio_type", "n_practices", "shared_practices", *shown]]
    right = published[[*KEY, *shown]]
    out = left.merge(right, on=KEY, suffixes=("", "_published"), validate="1:1")
    out.insert(2, "headline_fit", _fit_label(headline))
    out.insert(3, "published_fit", _fit_label(published))
    out["moved"] = out["classification"] != out["classification_published"]
    return out


def _fit_label(table: pd.DataFrame) -> str:
    first = table.iloc[0]
    members = "" if first["members"] == "all" else f", {first['members']} members"
    return f"{first['model']}{members}, {first['reference']} reference"


def trend_counts(side: pd.DataFrame) -> pd.DataFrame:
    """Better, not different and worse per fit of a :func:`side_by_side` table.

    Returns one row per fit (``headline``, ``published``): ``fit``, ``label`` (model and
    reference), the class counts (``higher`` and ``lower`` for indicators without a
    direction), ``pairs`` and ``moved`` (pairs whose class differs between the fits).
    """
    rows = []
    for fit, column in (("headline", "classification"), ("published", "classification_published")):
        counts = side[column].value_counts()
        rows.append(
            {
                "fit": fit,
                "label": side[f"{fit}_fit"].iloc[0] if len(side) else "",
                **{c: int(counts.get(c, 0)) for c in (*CLASSES, "higher", "lower")},
                "pairs": len(side),
                "moved": int(side["moved"].sum()),
            }
        )
    return pd.DataFrame(rows)
