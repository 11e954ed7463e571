"""Quality-indicator statistics: organisations against the national average (issue 4).

Every function takes tidy tables and returns a table; nothing here reads or writes files.
The input is a practice panel (:mod:`analysis.indicators.panel`): ``observations`` with one row per
``practice_code``, ``year``, ``indicator_id`` (``numerator``, ``denominator``), the
``membership`` spells and the indicator ``catalogue`` (``domain``, ``distribution``,
``higher_is_better``, ``single_year``).

Analyses (the numbers follow the issue):

1. :func:`compare_to_national`: each organisation's pooled rate per indicator and year with
   a Wilson (binomial) or exact Garwood (Poisson) interval, its z-score against the national
   (England, all practices) rate and funnel limits at 95% and 99.8%, optionally widened for
   overdispersion (Spiegelhalter 2005). Overdispersion is estimated from all practices in
   England for that indicator and year (thousands of units, so the estimate is stable) and
   carried to the organisation's pooled rate: multiplicative ``phi`` scales the variance of
   any pooled rate by ``phi``; an additive between-practice variance ``tau2`` adds
   ``tau2 * sum (n_j/N)^2`` to the pooled rate of practices with denominators ``n_j``
   summing to ``N``. As published, ``phi`` is the mean of z-scores Winsorised at 10% with no
   rescaling, which for normally distributed z-scores is about two thirds of their variance;
   the convention is kept so results are comparable with published funnel plots.
2. :func:`trend_models`: a binomial (logit) or Poisson (log, offset log denominator) GLM of
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
3. :func:`qof_single_points`: QOF indicators at their single published year.
4. :func:`practice_variation` and :func:`variation_trend`: SD, CV and IQR of member practices'
   rates per organisation and year, and a least-squares slope test of the CV over years.
5. :func:`association_tests`: organisation performance against characteristics with n = 8:
   Spearman correlation or Kruskal-Wallis, each with an exact permutation p-value, and the
   power caveat written into the table.
6. :func:`summary_table` and :func:`summary_counts`: better / not different / worse per
   organisation and indicator (respecting ``higher_is_better``), unadjusted and
   Benjamini-Hochberg adjusted.

Plus :func:`truth_vs_estimate`: for the synthetic panel, each estimate beside the value the
data-generating process put in, with interval coverage and bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats as sps

from analysis.core import stats
from analysis.indicators.panel import members_in_year

OVERDISPERSION = ("none", "multiplicative", "additive")
TREND_METHODS = ("separate", "interaction")
CLASSES = ("better", "not different", "worse")
FUNNEL_LEVELS = {"95": 0.95, "998": 0.998}
WINSOR_FRACTION = 0.1
KEY = ["organisation_id", "indicator_id"]
NUMERIC_CHARACTERISTICS = ("n_practices", "list_size", "ccgs_spanned")
CATEGORICAL_CHARACTERISTICS = ("form", "rurality", "case_study")
LOGIT_ATTENUATION = 0.346  # (16 sqrt(3) / (15 pi))^2: marginal vs conditional logit effects


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """Validated analysis parameters."""

    organisations: list[str]
    indicators: list[str]
    years: list[int]
    baseline_year: int
    alpha: float
    overdispersion: str


def _unknown(name: str, values: Sequence, known: Sequence) -> ValueError:
    shown = ", ".join(str(k) for k in known)
    return ValueError(f"parameter {name!r}: unknown value(s) {list(values)}; expected {shown}")


def select(
    observations: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations_table: pd.DataFrame,
    *,
    organisations: Sequence[str] = (),
    indicators: Sequence[str] = (),
    years: Sequence[int] = (),
    baseline_year: int | None = None,
    alpha: float = 0.05,
    overdispersion: str = "additive",
) -> Selection:
    """Check the notebook parameters against the panel; empty lists mean "all".

    A single string (or year) is taken as a list of one.

    Parameters
    ----------
    observations, catalogue, organisations_table
        The panel's tables.
    organisations
        Organisation ids (``ORG01``...).
    indicators
        Indicator ids and/or domain names (``prescribing``, ``hospital_use``, ``qof``,
        ``patient_satisfaction``), expanded to indicator ids in catalogue order.
    years
        Years (start of the financial year) within the data.
    baseline_year
        Year at which GLM levels are reported (time is ``year - baseline_year``); one of
        ``years``; default the first.
    alpha
        Significance level in (0, 0.5); intervals are ``1 - alpha``.
    overdispersion
        ``none``, ``multiplicative`` or ``additive``.

    Raises
    ------
    ValueError
        Naming the parameter and the unknown values, and listing what the panel has.
    """
    organisations = [organisations] if isinstance(organisations, str) else list(organisations)
    indicators = [indicators] if isinstance(indicators, str) else list(indicators)
    years = [years] if isinstance(years, int | np.integer) else list(years)
    known_orgs = sorted(organisations_table["organisation_id"])
    bad = [o for o in organisations if o not in known_orgs]
    if bad:
        raise _unknown("organisations", bad, known_orgs)
    ids = list(catalogue["indicator_id"])
    domains = list(dict.fromkeys(catalogue["domain"]))
    bad = [i for i in indicators if i not in ids and i not in domains]
    if bad:
        raise _unknown("indicators", bad, [*domains, *ids])
    wanted = set(indicators)
    chosen = [
        i
        for i, d in zip(catalogue["indicator_id"], catalogue["domain"], strict=True)
        if not wanted or i in wanted or d in wanted
    ]
    data_years = sorted(int(y) for y in observations["year"].unique())
    bad = sorted({int(y) for y in years} - set(data_years))
    if bad:
        raise ValueError(
            f"parameter 'years': {bad} outside the data, which has years "
            f"{data_years[0]}-{data_years[-1]}"
        )
    chosen_years = sorted({int(y) for y in years}) if len(years) else data_years
    baseline = chosen_years[0] if baseline_year is None else int(baseline_year)
    if baseline not in chosen_years:
        raise ValueError(
            f"parameter 'baseline_year': {baseline} is not one of the selected years {chosen_years}"
        )
    if not 0 < alpha < 0.5:
        raise ValueError(f"parameter 'alpha': {alpha} is not in (0, 0.5)")
    if overdispersion not in OVERDISPERSION:
        raise _unknown("overdispersion", [overdispersion], OVERDISPERSION)
    return Selection(
        organisations=sorted(set(organisations)) if len(organisations) else known_orgs,
        indicators=chosen,
        years=chosen_years,
        baseline_year=baseline,
        alpha=float(alpha),
        overdispersion=overdispersion,
    )


def prepare(
    observations: pd.DataFrame,
    membership: pd.DataFrame,
    catalogue: pd.DataFrame,
    selection: Selection,
) -> pd.DataFrame:
    """Observations of the selected indicators and years with organisation and indicator facts.

    Adds ``organisation_id`` (missing for practices outside every organisation that year;
    all organisations are kept so the comparator excludes every member),
    ``rate = numerator / denominator`` and the catalogue's ``domain``, ``distribution`` and
    ``higher_is_better``.
    """
    keep = observations["indicator_id"].isin(selection.indicators) & observations["year"].isin(
        selection.years
    )
    frame = observations.loc[keep, ["practice_code", "year", "indicator_id"]].copy()
    frame["numerator"] = observations.loc[keep, "numerator"].astype(float)
    frame["denominator"] = observations.loc[keep, "denominator"].astype(float)
    frame["year"] = frame["year"].astype(int)
    spells = pd.concat(
        [members_in_year(membership, y).assign(year=y) for y in selection.years],
        ignore_index=True,
    )
    frame = frame.merge(spells, on=["practice_code", "year"], how="left", validate="m:1")
    facts = catalogue[["indicator_id", "domain", "distribution", "higher_is_better"]]
    frame = frame.merge(facts, on="indicator_id", how="left", validate="m:1")
    frame["higher_is_better"] = frame["higher_is_better"].astype(bool)
    frame["rate"] = frame["numerator"] / frame["denominator"]
    return frame.sort_values(["indicator_id", "year", "practice_code"], ignore_index=True)


# --------------------------------------------------------------------------- helpers


def _null_se(target: pd.Series, n: pd.Series, distribution: pd.Series) -> np.ndarray:
    se = np.empty(len(target))
    for dist in stats.DISTRIBUTIONS:
        mask = (distribution == dist).to_numpy()
        if mask.any():
            se[mask] = stats.null_standard_error(target.to_numpy()[mask], n.to_numpy()[mask], dist)
    return se


def _interval(
    numerator: pd.Series, denominator: pd.Series, distribution: pd.Series, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    lower = np.full(len(numerator), np.nan)
    upper = np.full(len(numerator), np.nan)
    for dist, method in (("binomial", stats.wilson_interval), ("poisson", stats.garwood_interval)):
        mask = (distribution == dist).to_numpy()
        if mask.any():
            lower[mask], upper[mask] = method(
                numerator.to_numpy()[mask], denominator.to_numpy()[mask], confidence
            )
    return lower, upper


def _two_sided_p(z: np.ndarray | pd.Series) -> np.ndarray:
    return 2 * sps.norm.sf(np.abs(np.asarray(z, dtype=float)))


def classify(
    estimate: np.ndarray | pd.Series,
    p: np.ndarray | pd.Series,
    higher_is_better: np.ndarray | pd.Series,
    alpha: float,
) -> np.ndarray:
    """``better`` / ``worse`` when ``p < alpha`` in the favourable / unfavourable direction.

    ``estimate`` is a signed difference from the comparator (rate difference, log ratio);
    missing ``p`` gives a missing class.
    """
    estimate = np.asarray(estimate, dtype=float)
    p = np.asarray(p, dtype=float)
    favourable = np.where(np.asarray(higher_is_better, dtype=bool), estimate > 0, estimate < 0)
    out = np.where(p < alpha, np.where(favourable, "better", "worse"), "not different")
    return np.where(np.isnan(p) | np.isnan(estimate), None, out).astype(object)


# --------------------------------------------------------------------------- 1. level


def national_rates(data: pd.DataFrame) -> pd.DataFrame:
    """England's pooled rate per indicator and year, from every practice.

    Returns
    -------
    pandas.DataFrame
        ``indicator_id``, ``year``, ``n_practices``, ``numerator``, ``denominator``,
        ``national_rate``.
    """
    out = data.groupby(["indicator_id", "year"], as_index=False).agg(
        n_practices=("practice_code", "size"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
    )
    out["national_rate"] = out["numerator"] / out["denominator"]
    return out


def practice_z_scores(data: pd.DataFrame) -> pd.DataFrame:
    """Each practice's rate against the national rate: ``national_rate``, ``se``, ``z``.

    ``se`` is the standard error under the national rate (binomial or Poisson), and
    ``z = (rate - national_rate) / se`` (Spiegelhalter 2005).
    """
    national = national_rates(data)[["indicator_id", "year", "national_rate"]]
    frame = data.merge(national, on=["indicator_id", "year"], how="left", validate="m:1")
    frame["se"] = _null_se(frame["national_rate"], frame["denominator"], frame["distribution"])
    frame["z"] = (frame["rate"] - frame["national_rate"]) / frame["se"]
    return frame


def overdispersion_table(data: pd.DataFrame) -> pd.DataFrame:
    """Between-practice overdispersion per indicator and year (Spiegelhalter 2005).

    Returns
    -------
    pandas.DataFrame
        ``indicator_id``, ``year``, ``n_units`` (practices), ``phi`` (mean of squared z-scores
        Winsorised at 10%) and ``tau2`` (additive variance on the rate scale, truncated at 0).
    """
    scored = practice_z_scores(data)
    rows = []
    for (indicator, year), group in scored.groupby(["indicator_id", "year"], sort=True):
        enough = len(group) >= 2
        rows.append(
            {
                "indicator_id": indicator,
                "year": int(year),
                "n_units": len(group),
                "phi": stats.winsorised_phi(group["z"], WINSOR_FRACTION) if enough else np.nan,
                "tau2": stats.additive_tau2(group["z"], group["se"], WINSOR_FRACTION)
                if enough
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


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


def compare_to_national(
    data: pd.DataFrame,
    organisations: Sequence[str],
    *,
    alpha: float = 0.05,
    overdispersion: str = "additive",
    dispersion: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Analysis 1: each organisation's pooled rate against England per indicator and year.

    Parameters
    ----------
    data
        Output of :func:`prepare`.
    organisations
        Organisations to compare.
    alpha
        Intervals are ``1 - alpha``; ``classification`` uses ``p_adjusted < alpha``.
    overdispersion
        ``none``, ``multiplicative`` (variance x ``max(phi, 1)``) or ``additive``
        (variance + ``tau2 * herfindahl``).
    dispersion
        :func:`overdispersion_table` (computed when not given).

    Returns
    -------
    pandas.DataFrame
        One row per organisation, indicator and year: counts, ``rate`` with ``ci_lower`` and
        ``ci_upper``, ``national_rate``, ``z`` and ``p`` (plain binomial/Poisson),
        ``phi``, ``tau2``, ``se_adjusted``, ``z_adjusted``, ``p_adjusted``, funnel limits
        ``lower95``, ``upper95``, ``lower998``, ``upper998`` (adjusted) and
        ``classification``.
    """
    if overdispersion not in OVERDISPERSION:
        raise _unknown("overdispersion", [overdispersion], OVERDISPERSION)
    dispersion = overdispersion_table(data) if dispersion is None else dispersion
    facts = data.drop_duplicates("indicator_id")[
        ["indicator_id", "domain", "distribution", "higher_is_better"]
    ]
    out = (
        organisation_totals(data, organisations)
        .merge(facts, on="indicator_id", how="left", validate="m:1")
        .merge(
            national_rates(data)[["indicator_id", "year", "national_rate"]],
            on=["indicator_id", "year"],
            how="left",
            validate="m:1",
        )
        .merge(dispersion, on=["indicator_id", "year"], how="left", validate="m:1")
    )
    out["rate"] = out["numerator"] / out["denominator"]
    out["ci_lower"], out["ci_upper"] = _interval(
        out["numerator"], out["denominator"], out["distribution"], 1 - alpha
    )
    se = _null_se(out["national_rate"], out["denominator"], out["distribution"])
    out["z"] = (out["rate"] - out["national_rate"]) / se
    out["p"] = _two_sided_p(out["z"])
    out["overdispersion"] = overdispersion
    if overdispersion == "multiplicative":
        variance = np.maximum(out["phi"].to_numpy(), 1.0) * se**2
    elif overdispersion == "additive":
        variance = se**2 + out["tau2"].to_numpy() * out["herfindahl"].to_numpy()
    else:
        variance = se**2
    out["se_adjusted"] = np.sqrt(variance)
    out["z_adjusted"] = (out["rate"] - out["national_rate"]) / out["se_adjusted"]
    out["p_adjusted"] = _two_sided_p(out["z_adjusted"])
    upper_cap = np.where(out["distribution"] == "binomial", 1.0, np.inf)
    for label, confidence in FUNNEL_LEVELS.items():
        half = stats.z_value(confidence) * out["se_adjusted"]
        out[f"lower{label}"] = np.clip(out["national_rate"] - half, 0.0, None)
        out[f"upper{label}"] = np.minimum(out["national_rate"] + half, upper_cap)
    out["classification"] = classify(
        out["rate"] - out["national_rate"], out["p_adjusted"], out["higher_is_better"], alpha
    )
    return out.sort_values(["organisation_id", "indicator_id", "year"], ignore_index=True)


def funnel_points(data: pd.DataFrame, indicator: str, year: int) -> pd.DataFrame:
    """Practice rates for one indicator and year with denominators, for a funnel plot."""
    frame = data[(data["indicator_id"] == indicator) & (data["year"] == year)]
    if frame.empty:
        raise ValueError(f"no observations for indicator {indicator!r} in year {year}")
    return frame[["practice_code", "organisation_id", "denominator", "rate"]].reset_index(drop=True)


def funnel_curves(
    national_rate: float,
    distribution: str,
    n_min: float,
    n_max: float,
    *,
    phi: float = 1.0,
    tau2: float = 0.0,
    points: int = 200,
) -> pd.DataFrame:
    """Funnel limits for single units (practices) over a log-spaced grid of denominators.

    Returns
    -------
    pandas.DataFrame
        ``denominator``, ``level`` (``95%``/``99.8%``), ``lower``, ``upper``.
    """
    grid = np.geomspace(n_min, n_max, points)
    frames = []
    for label, confidence in (("95%", 0.95), ("99.8%", 0.998)):
        lower, upper = stats.funnel_limits(
            national_rate, grid, distribution, confidence, phi=phi, tau2=tau2
        )
        frames.append(
            pd.DataFrame({"denominator": grid, "level": label, "lower": lower, "upper": upper})
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- 2. trend


def _glm(frame: pd.DataFrame, design: np.ndarray, distribution: str):
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


def fit_trend(frame: pd.DataFrame, distribution: str, baseline_year: int) -> dict[str, float]:
    """GLM of practice-year counts on ``year - baseline_year``, SEs clustered by practice.

    Returns
    -------
    dict
        ``level`` (link-scale intercept at the baseline year), ``level_se``, ``slope``
        (annual log odds or rate ratio), ``slope_se``, ``n_practices``, ``n_years``; NaN
        estimates when fewer than two practices or two years are available.
    """
    n_practices = frame["practice_code"].nunique()
    n_years = frame["year"].nunique()
    out = {"n_practices": n_practices, "n_years": n_years}
    nan = dict.fromkeys(("level", "level_se", "slope", "slope_se"), np.nan)
    if n_practices < 2 or n_years < 2:
        return {**out, **nan}
    time = (frame["year"] - baseline_year).to_numpy(dtype=float)
    design = np.column_stack([np.ones_like(time), time])
    fit = _glm(frame, design, distribution)
    se = np.sqrt(np.diag(fit.cov_params()))
    return {
        **out,
        "level": fit.params[0],
        "level_se": se[0],
        "slope": fit.params[1],
        "slope_se": se[1],
    }


def fit_interaction(
    org: pd.DataFrame, rest: pd.DataFrame, distribution: str, baseline_year: int
) -> dict[str, float]:
    """Joint GLM ``1 + t + g + g t`` (``g`` = organisation), SEs clustered by practice.

    Returns the organisation-minus-comparator ``level_difference`` and ``slope_difference``
    (the interaction) with standard errors.
    """
    both = pd.concat([org.assign(_g=1.0), rest.assign(_g=0.0)], ignore_index=True)
    time = (both["year"] - baseline_year).to_numpy(dtype=float)
    g = both["_g"].to_numpy()
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
    }
    return np.array([names.get(c) for c in cls], dtype=object)


def trend_indicators(data: pd.DataFrame, catalogue: pd.DataFrame) -> list[str]:
    """Selected indicators that have a time series (no ``single_year``)."""
    single = catalogue.set_index("indicator_id")["single_year"]
    present = list(dict.fromkeys(data["indicator_id"]))
    return [i for i in present if pd.isna(single.get(i))]


def trend_models(
    data: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations: Sequence[str],
    *,
    baseline_year: int,
    alpha: float = 0.05,
    method: str = "separate",
) -> pd.DataFrame:
    """Analysis 2: each organisation's annual trend against the rest of England.

    Parameters
    ----------
    data
        Output of :func:`prepare`.
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

    Returns
    -------
    pandas.DataFrame
        Per organisation and indicator: the organisation's and the comparator's annual
        ``*_annual_ratio`` (odds ratio for binomial, rate ratio for Poisson indicators) with
        intervals and their own ``*_change`` (improved / no significant change /
        deteriorated), the ``ratio_of_ratios`` (organisation over comparator) with interval,
        ``z``, ``p`` and ``classification``, and the ``level_difference`` (log odds or rate
        ratio at the baseline year) with ``level_se`` and ``level_p``.
    """
    if method not in TREND_METHODS:
        raise _unknown("method", [method], TREND_METHODS)
    z_crit = stats.z_value(1 - alpha)
    rows = []
    for indicator in trend_indicators(data, catalogue):
        rows.extend(_trend_rows(data, indicator, organisations, baseline_year, method))
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    for who in ("org", "national"):
        est, se = out[f"{who}_slope"], out[f"{who}_slope_se"]
        out[f"{who}_annual_ratio"] = np.exp(est)
        out[f"{who}_ratio_lower"] = np.exp(est - z_crit * se)
        out[f"{who}_ratio_upper"] = np.exp(est + z_crit * se)
        out[f"{who}_p"] = _two_sided_p(est / se)
        out[f"{who}_change"] = _change(est, out[f"{who}_p"], out["higher_is_better"], alpha)
    diff, se = out["slope_difference"], out["slope_difference_se"]
    out["ratio_of_ratios"] = np.exp(diff)
    out["ror_lower"] = np.exp(diff - z_crit * se)
    out["ror_upper"] = np.exp(diff + z_crit * se)
    out["z"] = diff / se
    out["p"] = _two_sided_p(out["z"])
    out["classification"] = classify(diff, out["p"], out["higher_is_better"], alpha)
    out["level_p"] = _two_sided_p(out["level_difference"] / out["level_se"])
    out["baseline_year"] = baseline_year
    out["method"] = method
    return out.sort_values(KEY, ignore_index=True)


def _trend_rows(
    data: pd.DataFrame,
    indicator: str,
    organisations: Sequence[str],
    baseline_year: int,
    method: str,
) -> list[dict]:
    subset = data[data["indicator_id"] == indicator]
    first = subset.iloc[0]
    distribution = first["distribution"]
    rest = subset[subset["organisation_id"].isna()]
    national = fit_trend(rest, distribution, baseline_year)
    rows = []
    for org in organisations:
        members = subset[subset["organisation_id"] == org]
        own = fit_trend(members, distribution, baseline_year)
        row = {
            "organisation_id": org,
            "indicator_id": indicator,
            "domain": first["domain"],
            "distribution": distribution,
            "higher_is_better": bool(first["higher_is_better"]),
            "ratio_type": "odds ratio" if distribution == "binomial" else "rate ratio",
            "n_practices": own["n_practices"],
            "n_years": own["n_years"],
            "org_slope": own["slope"],
            "org_slope_se": own["slope_se"],
            "national_slope": national["slope"],
            "national_slope_se": national["slope_se"],
            "slope_difference": own["slope"] - national["slope"],
            "slope_difference_se": np.hypot(own["slope_se"], national["slope_se"]),
            "level_difference": own["level"] - national["level"],
            "level_se": np.hypot(own["level_se"], national["level_se"]),
        }
        if method == "interaction" and not np.isnan(own["slope"]):
            joint = fit_interaction(members, rest, distribution, baseline_year)
            row.update(
                slope_difference=joint["slope_difference"],
                slope_difference_se=joint["slope_difference_se"],
                level_difference=joint["level_difference"],
                level_se=joint["level_difference_se"],
            )
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- 3. QOF


def reference_years(catalogue: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """The year each indicator is judged at: its ``single_year`` (QOF), else the last year.

    Returns ``indicator_id``, ``reference_year``, ``single_point`` (bool).
    """
    single = catalogue["single_year"]
    return pd.DataFrame(
        {
            "indicator_id": catalogue["indicator_id"].to_numpy(),
            "reference_year": np.where(single.isna(), max(years), single.fillna(0)).astype(int),
            "single_point": single.notna().to_numpy(),
        }
    )


def qof_single_points(level: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Analysis 3: the :func:`compare_to_national` rows of each QOF indicator at its single year.

    Indicators whose single year is not among the analysed years are absent.
    """
    single = catalogue.loc[catalogue["single_year"].notna(), ["indicator_id", "single_year"]]
    single = single.astype({"single_year": int})
    out = level.merge(
        single, left_on=["indicator_id", "year"], right_on=["indicator_id", "single_year"]
    )
    return out.drop(columns="single_year").sort_values(KEY, ignore_index=True)


# --------------------------------------------------------------------------- 4. variation


def practice_variation(data: pd.DataFrame, organisations: Sequence[str]) -> pd.DataFrame:
    """Analysis 4: spread of member practices' rates per organisation, indicator and year.

    Returns
    -------
    pandas.DataFrame
        ``n_practices``, ``mean``, ``sd`` (sample, ddof 1), ``cv = sd / mean``, ``q1``,
        ``q3``, ``iqr`` of the unweighted practice rates.
    """
    members = data[data["organisation_id"].isin(organisations)]
    grouped = members.groupby(["organisation_id", "indicator_id", "year"])["rate"]
    out = grouped.agg(n_practices="size", mean="mean", sd="std").reset_index()
    quartiles = grouped.quantile([0.25, 0.75]).unstack()
    out["q1"] = quartiles[0.25].to_numpy()
    out["q3"] = quartiles[0.75].to_numpy()
    out["cv"] = out["sd"] / out["mean"]
    out["iqr"] = out["q3"] - out["q1"]
    cols = [
        "organisation_id",
        "indicator_id",
        "year",
        "n_practices",
        "mean",
        "sd",
        "cv",
        "q1",
        "q3",
        "iqr",
    ]
    return out[cols].sort_values(["organisation_id", "indicator_id", "year"], ignore_index=True)


def variation_trend(variation: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Did variation between member practices fall? OLS slope of the CV on year.

    Returns
    -------
    pandas.DataFrame
        Per organisation and indicator: ``n_years``, ``cv_first``, ``cv_last``,
        ``cv_slope`` (per year), ``cv_slope_p`` (two-sided t-test, needs 3+ years) and
        ``variation_change``: ``fell`` / ``no significant change`` / ``rose``.
    """
    rows = []
    for (org, indicator), group in variation.groupby(KEY, sort=True):
        group = group.dropna(subset=["cv"]).sort_values("year")
        row = {
            "organisation_id": org,
            "indicator_id": indicator,
            "n_years": len(group),
            "cv_first": np.nan,
            "cv_last": np.nan,
            "cv_slope": np.nan,
            "cv_slope_p": np.nan,
        }
        if len(group):
            row.update(cv_first=group["cv"].iloc[0], cv_last=group["cv"].iloc[-1])
        if len(group) >= 3:
            fit = sps.linregress(group["year"].astype(float), group["cv"])
            row.update(cv_slope=fit.slope, cv_slope_p=fit.pvalue)
        rows.append(row)
    out = pd.DataFrame(rows)
    change = np.where(out["cv_slope"] < 0, "fell", "rose")
    out["variation_change"] = np.where(
        out["cv_slope_p"] < alpha,
        change,
        np.where(out["cv_slope_p"].isna(), "not tested", "no significant change"),
    )
    return out


# --------------------------------------------------------------------------- 5. associations


def performance_scores(summary: pd.DataFrame) -> pd.DataFrame:
    """Each organisation's mean direction-signed z-score per comparison (positive = better).

    Returns ``organisation_id``, ``comparison``, ``score``, ``n_indicators``.
    """
    frame = summary.dropna(subset=["z"]).copy()
    frame["signed_z"] = np.where(frame["higher_is_better"], frame["z"], -frame["z"])
    return frame.groupby(["organisation_id", "comparison"], as_index=False).agg(
        score=("signed_z", "mean"), n_indicators=("signed_z", "size")
    )


EXACT_MAX_N = 9  # 9! = 362,880 orderings; beyond this a seeded Monte Carlo sample is used
MONTE_CARLO_RESAMPLES = 99_999
MONTE_CARLO_SEED = 20160701


def _permutation(values: np.ndarray, statistic, alternative: str):
    n = len(values)
    exact = n <= EXACT_MAX_N
    return sps.permutation_test(
        (np.asarray(values, dtype=float),),
        statistic,
        permutation_type="pairings",
        n_resamples=np.inf if exact else MONTE_CARLO_RESAMPLES,
        vectorized=True,
        alternative=alternative,
        rng=None if exact else np.random.default_rng(MONTE_CARLO_SEED),
    )


def exact_spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Spearman's rho with an exact two-sided permutation p-value.

    All ``n!`` orderings of ``x`` against ``y`` are enumerated (for ``n`` above
    ``EXACT_MAX_N`` a seeded Monte Carlo sample is used instead).

    Returns
    -------
    rho, p, null_distribution
    """
    ry = sps.rankdata(y)
    cy = ry - ry.mean()

    def statistic(values, axis=-1):
        rx = sps.rankdata(values, axis=axis)
        rx = rx - rx.mean(axis=axis, keepdims=True)
        num = (rx * cy).sum(axis=axis)
        return num / np.sqrt((rx**2).sum(axis=axis) * (cy**2).sum())

    res = _permutation(np.asarray(x, dtype=float), statistic, "two-sided")
    return float(res.statistic), float(res.pvalue), res.null_distribution


def exact_kruskal(values: np.ndarray, labels: Sequence) -> tuple[float, float]:
    """Kruskal-Wallis H (tie-corrected, as :func:`scipy.stats.kruskal`) with an exact p-value.

    The p-value is the share of all ``n!`` reassignments of ``values`` to the fixed group
    ``labels`` with an H at least as large (groups of one are allowed).
    """
    values = np.asarray(values, dtype=float)
    codes, _ = pd.factorize(pd.Series(list(labels)), sort=True)
    indicator = np.eye(codes.max() + 1)[codes]
    sizes = indicator.sum(axis=0)
    n = len(values)
    ties = np.unique(values, return_counts=True)[1]
    correction = 1 - (ties**3 - ties).sum() / (n**3 - n)

    def statistic(sample, axis=-1):
        ranks = sps.rankdata(sample, axis=axis)
        sums = ranks @ indicator
        h = 12 / (n * (n + 1)) * (sums**2 / sizes).sum(axis=-1) - 3 * (n + 1)
        return h / correction

    res = _permutation(values, statistic, "greater")
    return float(res.statistic), float(res.pvalue)


def critical_rho(null: np.ndarray, alpha: float) -> float:
    """Smallest ``|rho|`` whose exact two-sided p-value ``P(|R| >= |rho|)`` is below ``alpha``.

    NaN when no value can reach ``alpha`` (very small ``n``).
    """
    magnitudes = np.abs(np.round(np.asarray(null, dtype=float), 12))
    values = np.unique(magnitudes)
    p = 1 - np.searchsorted(np.sort(magnitudes), values, side="left") / magnitudes.size
    ok = values[p < alpha]
    return float(ok.min()) if ok.size else np.nan


def association_tests(
    scores: pd.DataFrame, organisations_table: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Analysis 5: performance scores against organisation characteristics, exact tests.

    Numeric characteristics (``n_practices``, ``list_size``, ``ccgs_spanned``): Spearman's
    rho, exact two-sided p over all orderings. Categorical ones (``form``, ``rurality``,
    ``case_study``): Kruskal-Wallis H, exact p over all regroupings. With about eight
    organisations these tests have little power; the ``caveat`` column says how large an
    association must be to reach ``alpha``.

    Returns
    -------
    pandas.DataFrame
        ``comparison``, ``characteristic``, ``test``, ``n``, ``statistic``, ``p_exact``,
        ``caveat``, ``p_bh`` (Benjamini-Hochberg across all tests in the table),
        ``significant`` and ``significant_bh`` (``p < alpha``).
    """
    rows = []
    chars = organisations_table.set_index("organisation_id")
    for comparison, group in scores.groupby("comparison", sort=True):
        group = group.set_index("organisation_id").join(chars, how="inner").sort_index()
        n = len(group)
        for name in NUMERIC_CHARACTERISTICS:
            rows.append(_numeric_association(comparison, name, group, n, alpha))
        for name in CATEGORICAL_CHARACTERISTICS:
            rows.append(_categorical_association(comparison, name, group, n, alpha))
    out = pd.DataFrame(rows)
    out["p_bh"] = stats.benjamini_hochberg(out["p_exact"])
    out["significant"] = out["p_exact"] < alpha
    out["significant_bh"] = out["p_bh"] < alpha
    return out


def _numeric_association(comparison, name, group, n, alpha) -> dict:
    row = {
        "comparison": comparison,
        "characteristic": name,
        "test": "Spearman rho (exact)",
        "n": n,
        "statistic": np.nan,
        "p_exact": np.nan,
    }
    x = group[name].astype(float).to_numpy()
    if n < 3 or np.unique(x).size < 2 or group["score"].nunique() < 2:
        return {**row, "caveat": f"n={n}: too few organisations or no variation; not tested"}
    rho, p, null = exact_spearman(x, group["score"].to_numpy())
    crit = critical_rho(null, alpha)
    reach = (
        f"only |rho| >= {crit:.2f} can reach p < {alpha:g}"
        if np.isfinite(crit)
        else f"no value of rho can reach p < {alpha:g}"
    )
    caveat = (
        f"n={n} organisations: exact test over all {null.size} orderings; {reach}, so "
        "moderate associations go undetected (no significant result is not evidence of "
        "no association)"
    )
    return {**row, "statistic": rho, "p_exact": p, "caveat": caveat}


def _categorical_association(comparison, name, group, n, alpha) -> dict:
    row = {
        "comparison": comparison,
        "characteristic": name,
        "test": "Kruskal-Wallis H (exact)",
        "n": n,
        "statistic": np.nan,
        "p_exact": np.nan,
    }
    labels = group[name].astype(str).to_numpy()
    samples = [group.loc[labels == level, "score"].to_numpy() for level in sorted(set(labels))]
    if len(samples) < 2 or group["score"].nunique() < 2:
        return {**row, "caveat": f"n={n}: only one {name} category or no variation; not tested"}
    h, p = exact_kruskal(group["score"].to_numpy(), labels)
    sizes = "/".join(str(len(s)) for s in samples)
    caveat = (
        f"n={n} organisations in groups of {sizes}: exact permutation test with very low "
        f"power at alpha {alpha:g} (no significant result is not evidence of no association)"
    )
    return {**row, "statistic": h, "p_exact": p, "caveat": caveat}


# --------------------------------------------------------------------------- 6. summary


def summary_table(
    level: pd.DataFrame,
    trend: pd.DataFrame,
    catalogue: pd.DataFrame,
    years: Sequence[int],
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Analysis 6: better / not different / worse per organisation, indicator and comparison.

    ``level``: the organisation against England at the indicator's reference year
    (:func:`reference_years`: QOF at its single year, other indicators at the last year),
    overdispersion-adjusted z. ``trend``: the organisation's annual ratio against the rest of
    England. Benjamini-Hochberg adjustment is across all organisation x indicator tests of
    one comparison.

    Returns
    -------
    pandas.DataFrame
        ``organisation_id``, ``indicator_id``, ``domain``, ``higher_is_better``,
        ``comparison``, ``year``, ``estimate`` (rate difference or log ratio of ratios),
        ``z``, ``p``, ``p_bh``, ``class_unadjusted``, ``class_bh``.
    """
    ref = reference_years(catalogue, years)
    lev = level.merge(
        ref, left_on=["indicator_id", "year"], right_on=["indicator_id", "reference_year"]
    )
    lev = pd.DataFrame(
        {
            "organisation_id": lev["organisation_id"],
            "indicator_id": lev["indicator_id"],
            "domain": lev["domain"],
            "higher_is_better": lev["higher_is_better"],
            "comparison": "level",
            "year": lev["year"],
            "estimate": lev["rate"] - lev["national_rate"],
            "z": lev["z_adjusted"],
            "p": lev["p_adjusted"],
        }
    )
    frames = [lev]
    if not trend.empty:
        frames.append(
            pd.DataFrame(
                {
                    "organisation_id": trend["organisation_id"],
                    "indicator_id": trend["indicator_id"],
                    "domain": trend["domain"],
                    "higher_is_better": trend["higher_is_better"],
                    "comparison": "trend",
                    "year": pd.NA,
                    "estimate": trend["slope_difference"],
                    "z": trend["z"],
                    "p": trend["p"],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype("Int64")
    out["p_bh"] = np.nan
    for comparison in out["comparison"].unique():
        mask = out["comparison"] == comparison
        out.loc[mask, "p_bh"] = stats.benjamini_hochberg(out.loc[mask, "p"])
    higher = out["higher_is_better"].astype(bool)
    out["class_unadjusted"] = classify(out["estimate"], out["p"], higher, alpha)
    out["class_bh"] = classify(out["estimate"], out["p_bh"], higher, alpha)
    return out.sort_values(["comparison", *KEY], ignore_index=True)


def summary_counts(summary: pd.DataFrame) -> pd.DataFrame:
    """Counts of better / not different / worse per organisation, domain and comparison.

    Returns one row per ``organisation_id``, ``domain`` (plus ``all``), ``comparison`` and
    ``adjustment`` (``unadjusted`` / ``BH``) with columns ``better``, ``not different``,
    ``worse``, ``n``.
    """
    frames = []
    for adjustment, column in (("unadjusted", "class_unadjusted"), ("BH", "class_bh")):
        for domain_level in (True, False):
            frame = summary.assign(domain=summary["domain"] if domain_level else "all")
            counts = pd.crosstab(
                [frame["organisation_id"], frame["domain"], frame["comparison"]],
                pd.Categorical(frame[column], categories=CLASSES),
                dropna=False,
            )
            counts = counts.reset_index().rename_axis(columns=None)
            counts["adjustment"] = adjustment
            frames.append(counts)
    out = pd.concat(frames, ignore_index=True)
    out = out[out[list(CLASSES)].sum(axis=1) > 0].copy()
    out["n"] = out[list(CLASSES)].sum(axis=1)
    cols = ["organisation_id", "domain", "comparison", "adjustment", *CLASSES, "n"]
    return out[cols].sort_values(cols[:4], ignore_index=True)


# --------------------------------------------------------------------------- truth


def _truth_wide(truth: pd.DataFrame) -> pd.DataFrame:
    return truth.pivot_table(index=KEY, columns="parameter", values="value").reset_index()


def attenuation(catalogue: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """Factor by which a population-averaged GLM shrinks conditional effects, per indicator.

    ``1 / sqrt(1 + 0.346 sigma^2)`` for logit (binomial) indicators, with ``sigma^2`` the sum
    of the between-practice and practice-year variances; 1 for log-link (Poisson) ones.
    """
    national = _truth_wide(truth[truth["organisation_id"] == "ENGLAND"]).set_index("indicator_id")
    sigma2 = (
        national.get("between_practice_sd", 0.0) ** 2 + national.get("practice_year_sd", 0.0) ** 2
    )
    dist = catalogue.set_index("indicator_id")["distribution"].reindex(national.index)
    factor = np.where(dist == "binomial", 1 / np.sqrt(1 + LOGIT_ATTENUATION * sigma2), 1.0)
    return pd.Series(factor, index=national.index, name="attenuation")


def truth_vs_estimate(
    trend: pd.DataFrame,
    truth: pd.DataFrame,
    catalogue: pd.DataFrame,
    *,
    alpha: float = 0.05,
    first_year: int = 2009,
) -> pd.DataFrame:
    """Estimates beside the synthetic data-generating truth, per parameter.

    Compares, on the link scale and with the population-averaged attenuation applied to
    the truth (:func:`attenuation`): ``trend_log_ratio`` with the GLM ``slope_difference``;
    ``national_trend`` with the comparator's slope; and the realised organisation level
    (``level_log_ratio + mean_practice_effect``, moved to the baseline year with
    ``trend_log_ratio``) with the GLM ``level_difference``.

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``organisation_id``, ``indicator_id``, ``truth``, ``estimate``,
        ``se``, ``ci_lower``, ``ci_upper``, ``covered``, ``error``.
    """
    if trend.empty:
        return pd.DataFrame(columns=EMPTY_COLUMNS["truth_vs_estimate"])
    is_national = truth["organisation_id"] == "ENGLAND"
    national = _truth_wide(truth[is_national]).drop(columns="organisation_id")
    frame = trend.merge(_truth_wide(truth[~is_national]), on=KEY, how="left", validate="1:1")
    frame = frame.merge(
        national[["indicator_id", "national_trend"]], on="indicator_id", how="left", validate="m:1"
    )
    shrink = frame["indicator_id"].map(attenuation(catalogue, truth)).fillna(1.0)
    baseline = frame["baseline_year"] - first_year
    mean_effect = frame["mean_practice_effect"] if "mean_practice_effect" in frame else 0.0
    level_truth = frame["level_log_ratio"] + mean_effect + frame["trend_log_ratio"] * baseline
    parts = [
        (
            "trend_log_ratio",
            frame,
            frame["trend_log_ratio"] * shrink,
            "slope_difference",
            "slope_difference_se",
        ),
        ("realised_level_log_ratio", frame, level_truth * shrink, "level_difference", "level_se"),
    ]
    nat = frame.drop_duplicates("indicator_id")
    parts.append(
        (
            "national_trend",
            nat.assign(organisation_id="ENGLAND"),
            nat["national_trend"] * shrink.loc[nat.index],
            "national_slope",
            "national_slope_se",
        )
    )
    z = stats.z_value(1 - alpha)
    rows = []
    for name, part, value, est, se in parts:
        rows.append(
            pd.DataFrame(
                {
                    "parameter": name,
                    "organisation_id": part["organisation_id"].to_numpy(),
                    "indicator_id": part["indicator_id"].to_numpy(),
                    "truth": np.asarray(value, dtype=float),
                    "estimate": part[est].to_numpy(dtype=float),
                    "se": part[se].to_numpy(dtype=float),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out["ci_lower"] = out["estimate"] - z * out["se"]
    out["ci_upper"] = out["estimate"] + z * out["se"]
    out["covered"] = (out["ci_lower"] <= out["truth"]) & (out["truth"] <= out["ci_upper"])
    out["error"] = out["estimate"] - out["truth"]
    return out.sort_values(["parameter", *KEY], ignore_index=True)


def truth_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Coverage, bias and RMSE of each parameter in :func:`truth_vs_estimate`."""
    ok = comparison.dropna(subset=["truth", "estimate"])
    return ok.groupby("parameter", as_index=False).agg(
        n=("error", "size"),
        coverage=("covered", "mean"),
        mean_bias=("error", "mean"),
        rmse=("error", lambda e: float(np.sqrt(np.mean(e**2)))),
    )


def classification_recovery(
    summary: pd.DataFrame, truth: pd.DataFrame, *, first_year: int = 2009
) -> pd.DataFrame:
    """Designed effects against the classes a run found, per organisation and indicator.

    The designed effect is ``trend_log_ratio`` for the trend comparison and
    ``level_log_ratio + trend_log_ratio * (year - first_year)`` for the level comparison at
    the reference year (the finite-sample ``mean_practice_effect`` is chance, not design).
    ``truth_class`` is better / worse for a non-zero designed effect (by ``higher_is_better``)
    and not different for zero.

    Returns
    -------
    pandas.DataFrame
        The ``summary`` rows with ``designed_effect``, ``truth_class`` and ``outcome``:
        ``detected``, ``missed``, ``wrong direction``, ``false positive`` or ``true null``
        (unadjusted classes).
    """
    wide = _truth_wide(truth[truth["organisation_id"] != "ENGLAND"])
    frame = summary.merge(wide[[*KEY, "level_log_ratio", "trend_log_ratio"]], on=KEY, how="inner")
    years = frame["year"].astype("Float64").fillna(first_year).astype(float) - first_year
    effect = np.where(
        frame["comparison"] == "trend",
        frame["trend_log_ratio"],
        frame["level_log_ratio"] + frame["trend_log_ratio"] * years,
    )
    frame["designed_effect"] = effect
    frame["truth_class"] = classify(
        effect, np.where(np.abs(effect) > 1e-12, 0.0, 1.0), frame["higher_is_better"], 0.5
    )
    found, designed = frame["class_unadjusted"], frame["truth_class"]
    frame["outcome"] = np.select(
        [
            (designed != "not different") & (found == designed),
            (designed != "not different") & (found == "not different"),
            designed != "not different",
            found != "not different",
        ],
        ["detected", "missed", "wrong direction", "false positive"],
        default="true null",
    )
    return frame.drop(columns=["level_log_ratio", "trend_log_ratio"])


def recovery_summary(recovery: pd.DataFrame) -> pd.DataFrame:
    """Counts of each :func:`classification_recovery` outcome per comparison and domain."""
    counts = pd.crosstab([recovery["comparison"], recovery["domain"]], recovery["outcome"])
    for outcome in ("detected", "missed", "wrong direction", "false positive", "true null"):
        if outcome not in counts:
            counts[outcome] = 0
    cols = ["detected", "missed", "wrong direction", "false positive", "true null"]
    return counts[cols].reset_index().rename_axis(columns=None)


# --------------------------------------------------------------------------- all together


@dataclass
class IndicatorResults:
    """Every table of one run."""

    selection: Selection
    dispersion: pd.DataFrame
    level: pd.DataFrame
    trend: pd.DataFrame
    qof: pd.DataFrame
    variation: pd.DataFrame
    variation_trend: pd.DataFrame
    summary: pd.DataFrame
    counts: pd.DataFrame
    scores: pd.DataFrame
    associations: pd.DataFrame
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    truth_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    recovery: pd.DataFrame = field(default_factory=pd.DataFrame)
    recovery_summary: pd.DataFrame = field(default_factory=pd.DataFrame)


def run_analysis(
    data: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations_table: pd.DataFrame,
    selection: Selection,
    *,
    truth: pd.DataFrame | None = None,
    trend_method: str = "separate",
) -> IndicatorResults:
    """Analyses 1-6 (and truth against estimate when ``truth`` is given) for a selection.

    ``data`` is the output of :func:`prepare` for ``selection``.
    """
    orgs, alpha = selection.organisations, selection.alpha
    dispersion = overdispersion_table(data)
    level = compare_to_national(
        data, orgs, alpha=alpha, overdispersion=selection.overdispersion, dispersion=dispersion
    )
    trend = trend_models(
        data,
        catalogue,
        orgs,
        baseline_year=selection.baseline_year,
        alpha=alpha,
        method=trend_method,
    )
    variation = practice_variation(data, orgs)
    summary = summary_table(level, trend, catalogue, selection.years, alpha=alpha)
    scores = performance_scores(summary)
    results = IndicatorResults(
        selection=selection,
        dispersion=dispersion,
        level=level,
        trend=trend,
        qof=qof_single_points(level, catalogue),
        variation=variation,
        variation_trend=variation_trend(variation, alpha=alpha),
        summary=summary,
        counts=summary_counts(summary),
        scores=scores,
        associations=association_tests(scores, organisations_table, alpha=alpha),
    )
    if truth is not None:
        results.truth = truth_vs_estimate(trend, truth, catalogue, alpha=alpha)
        results.truth_summary = truth_summary(results.truth)
        results.recovery = classification_recovery(summary, truth)
        results.recovery_summary = recovery_summary(results.recovery)
    return results


OUTPUT_TABLES = (
    "level",
    "overdispersion",
    "trend",
    "qof",
    "variation",
    "variation_trend",
    "associations",
    "summary",
    "summary_counts",
    "truth_vs_estimate",
    "truth_summary",
    "classification_recovery",
)
"""Tables a run writes (``tables/<name>.csv``), besides the statements and reproduction."""

EMPTY_COLUMNS = {
    "truth_vs_estimate": [
        "parameter",
        *KEY,
        "truth",
        "estimate",
        "se",
        "ci_lower",
        "ci_upper",
        "covered",
        "error",
    ],
    "truth_summary": ["parameter", "n", "coverage", "mean_bias", "rmse"],
    "classification_recovery": [
        "comparison",
        "domain",
        "detected",
        "missed",
        "wrong direction",
        "false positive",
        "true null",
    ],
}
"""Headers of the truth tables when there is no truth (user data)."""


def output_tables(results: IndicatorResults, tier: str) -> dict[str, pd.DataFrame]:
    """Every result table keyed by its output name, each with ``data_tier`` as first column.

    ``truth_*`` and ``classification_recovery`` are empty (header only) without a truth
    table, so a run on user data writes the same files.
    """
    tables = {
        "level": results.level,
        "overdispersion": results.dispersion,
        "trend": results.trend,
        "qof": results.qof,
        "variation": results.variation,
        "variation_trend": results.variation_trend,
        "associations": results.associations,
        "summary": results.summary,
        "summary_counts": results.counts,
        "truth_vs_estimate": results.truth,
        "truth_summary": results.truth_summary,
        "classification_recovery": results.recovery_summary,
    }
    for name, columns in EMPTY_COLUMNS.items():
        if tables[name].empty and not len(tables[name].columns):
            tables[name] = pd.DataFrame(columns=columns)
    return {name: label_tier(frame, tier) for name, frame in tables.items()}


def label_tier(frame: pd.DataFrame, tier: str) -> pd.DataFrame:
    """``frame`` with a first column ``data_tier`` (``synthetic`` / ``user``)."""
    out = frame.copy()
    out.insert(0, "data_tier", tier)
    return out
