"""Analysis 1 (and 3): each organisation against England.

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
   the convention is kept so results are comparable with published funnel plots
   (``tau2_method="winsorised"``). ``tau2_method`` also offers the rescaled Winsorised phi,
   DerSimonian-Laird, REML and DerSimonian-Laird within organisations
   (:func:`analysis.core.stats.between_variance`). ``comparator`` is ``england`` (all
   practices, as published) or ``rest`` (practices outside every organisation, the trend
   comparator).

   **What each interval estimates.** ``ci_lower`` / ``ci_upper`` (Wilson or Garwood, sampling
   only) are an interval for the organisation's *realised* pooled rate that year: what the
   same member practices would show again with other patients. They ignore that the members
   are a handful of practices, each better or worse than the organisation's level by chance,
   so they are too narrow for the organisation itself. ``ci_lower_adjusted`` /
   ``ci_upper_adjusted`` (``rate +/- z se_adjusted``) are an interval for the organisation's
   *underlying* rate, the expected pooled rate of practices like its members: their
   variance adds the between-practice variance ``tau2`` (within organisations with
   ``dl_within``) times the Herfindahl index of the members' denominators. No
   between-organisation variance is added: the organisation is the object of the comparison,
   not a draw from a population of organisations. The adjusted interval excludes the
   comparator exactly when the row is classed better or worse; :func:`interval_checks`
   counts how often the sampling-only one disagrees with the class.
3. :func:`qof_single_points`: QOF indicators at their single published year
   (:func:`reference_years`: the year each indicator is judged at).

:func:`classify` (better / not different / worse against a comparator) and
:func:`two_sided_p` serve every analysis. Each function takes the output of
:func:`analysis.indicators.methods.selection.prepare` (or of another analysis) and returns a table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.core import stats
from analysis.indicators.methods.comparators import (  # noqa: F401 - re-exported: the comparison's names
    COMPARATORS,
    PUBLISHED_ENGLAND,
    REST_OF_ENGLAND,
    SMALL_COMPARATOR,
    comparator_rates,
    national_rates,
    organisation_totals,
)
from analysis.indicators.methods.selection import KEY, OVERDISPERSION, unknown_value

CLASSES = ("better", "not different", "worse")
FUNNEL_LEVELS = {"95": 0.95, "998": 0.998}
WINSOR_FRACTION = 0.1


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


def two_sided_p(z: np.ndarray | pd.Series) -> np.ndarray:
    """Two-sided p-value of a standard normal ``z``."""
    return 2 * sps.norm.sf(np.abs(np.asarray(z, dtype=float)))


def classify(
    estimate: np.ndarray | pd.Series,
    p: np.ndarray | pd.Series,
    higher_is_better: np.ndarray | pd.Series,
    alpha: float,
) -> np.ndarray:
    """``better`` / ``worse`` when ``p < alpha`` in the favourable / unfavourable direction.

    ``estimate`` is a signed difference from the comparator (rate difference, log ratio);
    missing ``p`` gives a missing class. An indicator with no direction (``higher_is_better``
    missing, as for a prevalence) is ``higher`` / ``lower`` instead.
    """
    estimate = np.asarray(estimate, dtype=float)
    p = np.asarray(p, dtype=float)
    direction = np.asarray(higher_is_better)
    neutral = pd.isna(direction)  # missing: no direction
    higher = np.where(neutral, False, direction).astype(bool)
    favourable = np.where(higher, estimate > 0, estimate < 0)
    named = np.where(favourable, "better", "worse")
    named = np.where(neutral, np.where(estimate > 0, "higher", "lower"), named)
    out = np.where(p < alpha, named, "not different")
    return np.where(np.isnan(p) | np.isnan(estimate), None, out).astype(object)


def practice_z_scores(data: pd.DataFrame) -> pd.DataFrame:
    """Each practice's rate against the national rate: ``national_rate``, ``se``, ``z``.

    ``se`` is the standard error under the national rate (binomial or Poisson), and
    ``z = (rate - national_rate) / se`` (Spiegelhalter 2005).
    """
    sums = data.groupby(["indicator_id", "year"])[["numerator", "denominator"]].transform("sum")
    frame = data.assign(national_rate=sums["numerator"] / sums["denominator"])
    frame["se"] = _null_se(frame["national_rate"], frame["denominator"], frame["distribution"])
    frame["z"] = (frame["rate"] - frame["national_rate"]) / frame["se"]
    return frame


def overdispersion_table(data: pd.DataFrame, *, tau2_method: str = "winsorised") -> pd.DataFrame:
    """Between-practice overdispersion per indicator and year (Spiegelhalter 2005).

    Parameters
    ----------
    data
        Output of :func:`analysis.indicators.methods.selection.prepare`.
    tau2_method
        Estimator of ``tau2``, one of :data:`analysis.core.stats.TAU2_METHODS`:
        ``winsorised`` (as published), ``winsorised_rescaled``, ``dl``, ``reml`` or
        ``dl_within`` (DerSimonian-Laird within organisations: each practice against the
        mean of its own organisation that year, the practices in no organisation as one
        group, so that differences between organisations do not count as between-practice
        variance).

    Returns
    -------
    pandas.DataFrame
        ``indicator_id``, ``year``, ``n_units`` (practices), ``phi`` (mean of squared z-scores
        Winsorised at 10%, as published), ``tau2`` (additive variance on the rate scale,
        truncated at 0) and ``tau2_method``.
    """
    if tau2_method not in stats.TAU2_METHODS:
        raise unknown_value("tau2_method", [tau2_method], stats.TAU2_METHODS)
    scored = practice_z_scores(data)
    grouping = scored.groupby(["indicator_id", "year"], sort=True)
    codes = grouping.ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes))[:-1]
    columns = {
        c: np.split(scored[c].to_numpy(dtype=float)[order], bounds) for c in ("z", "se", "rate")
    }
    national = np.split(scored["national_rate"].to_numpy(dtype=float)[order], bounds)
    # Each practice's organisation that year (practices in none form one group), for the
    # estimator within organisations.
    members = pd.factorize(scored["organisation_id"], use_na_sentinel=True)[0]
    organisations = np.split(members[order], bounds)
    rows = []
    for k, (indicator, year) in enumerate(grouping.groups.keys()):
        z, se, rate = columns["z"][k], columns["se"][k], columns["rate"][k]
        # A national rate of 0 (or 1) leaves no finite z-score: nothing to estimate. A
        # continuous value has no sampling variance (se 0): tau2 is the units' spread.
        continuous = bool(np.all(se == 0))
        finite = np.count_nonzero(~np.isnan(rate if continuous else z)) >= 2
        enough = finite and (continuous or bool(np.all(se > 0)))
        rows.append(
            {
                "indicator_id": indicator,
                "year": int(year),
                "n_units": len(z),
                "phi": stats.winsorised_phi(z, WINSOR_FRACTION)
                if enough and not continuous
                else np.nan,
                "tau2": stats.between_variance(
                    rate,
                    se**2,
                    method=tau2_method,
                    target=float(national[k][0]),
                    groups=organisations[k],
                )
                if enough
                else np.nan,
                "tau2_method": tau2_method,
            }
        )
    return pd.DataFrame(rows)


def compare_to_national(
    data: pd.DataFrame,
    organisations: Sequence[str],
    *,
    alpha: float = 0.05,
    overdispersion: str = "additive",
    dispersion: pd.DataFrame | None = None,
    tau2_method: str = "winsorised",
    comparator: str = "england",
    national: pd.DataFrame | None = None,
    organisation_variance: str = "none",
) -> pd.DataFrame:
    """Analysis 1: each organisation's pooled rate against England per indicator and year.

    Parameters
    ----------
    data
        Output of :func:`analysis.indicators.methods.selection.prepare`.
    organisations
        Organisations to compare.
    alpha
        Intervals are ``1 - alpha``; ``classification`` uses ``p_adjusted < alpha``.
    overdispersion
        ``none``, ``multiplicative`` (variance x ``max(phi, 1)``) or ``additive``
        (variance + ``tau2 * herfindahl``).
    dispersion
        :func:`overdispersion_table` (computed with ``tau2_method`` when not given).
    tau2_method
        Estimator of the between-practice variance (:func:`overdispersion_table`).
    comparator
        ``england`` (all practices, as published) or ``rest`` (practices outside every
        organisation; its own sampling and between-practice variance is added).
    national
        Published England rows (see :func:`national_rates`); with ``comparator="england"``
        they replace the sum of practices where given. The ``comparator`` column says which
        comparator each row used and ``comparator_practices`` how many practices it covers.
    organisation_variance
        ``none`` (as published) or an estimator of :data:`analysis.core.stats.TAU2_METHODS`
        (``dl``, ``reml``...): the between-organisation variance ``tau2_organisations`` of the
        compared organisations' rates (with their variance from sampling and the chosen
        overdispersion adjustment), per indicator and year, is added to each organisation's
        variance: a random-effects funnel, in which an organisation is flagged only beyond the
        spread that organisations show anyway. ``z_members`` and ``p_members`` keep the
        comparison without it. At organisation level (each organisation one unit) give
        ``overdispersion="none"``: the additive adjustment would already be between
        organisations.

    Returns
    -------
    pandas.DataFrame
        One row per organisation, indicator and year: counts, ``rate`` with ``ci_lower`` and
        ``ci_upper`` (sampling only, Wilson or Garwood: the realised pooled rate),
        ``national_rate`` (the comparator's), ``z`` and ``p`` (plain binomial/Poisson),
        ``phi``, ``tau2``, ``se_adjusted``, ``z_adjusted``, ``p_adjusted``,
        ``ci_lower_adjusted`` and ``ci_upper_adjusted`` (``rate +/- z se_adjusted``: the
        organisation's underlying rate; they exclude the comparator exactly when
        ``p_adjusted < alpha``; see the module notes), funnel limits ``lower95``, ``upper95``,
        ``lower998``, ``upper998`` (adjusted), ``classification`` and ``comparator``; with
        ``organisation_variance``, also ``tau2_organisations``, ``z_members`` and
        ``p_members``, and the adjusted interval and limits include the between-organisation
        variance.
    """
    if overdispersion not in OVERDISPERSION:
        raise unknown_value("overdispersion", [overdispersion], OVERDISPERSION)
    if dispersion is None:
        dispersion = overdispersion_table(data, tau2_method=tau2_method)
    facts = data.drop_duplicates("indicator_id")[
        ["indicator_id", "domain", "distribution", "higher_is_better"]
    ]
    out = (
        organisation_totals(data, organisations)
        .merge(facts, on="indicator_id", how="left", validate="m:1")
        .merge(
            comparator_rates(data, comparator, national=national),
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
    if comparator == "rest":
        se_comparator = _null_se(
            out["national_rate"], out["comparator_denominator"], out["distribution"]
        )
        se = np.hypot(se, se_comparator)
    # pandas' division leaves numpy's warnings about a zero se unraised
    out["z"] = np.where(se > 0, (out["rate"] - out["national_rate"]) / se, np.nan)
    out["p"] = two_sided_p(out["z"])
    out["overdispersion"] = overdispersion
    herfindahl = out["herfindahl"].to_numpy()
    if comparator == "rest":
        herfindahl = herfindahl + out["comparator_herfindahl"].to_numpy()
    if overdispersion == "multiplicative":
        variance = np.maximum(out["phi"].to_numpy(), 1.0) * se**2
    elif overdispersion == "additive":
        variance = se**2 + out["tau2"].to_numpy() * herfindahl
    else:
        variance = se**2
    # A continuous value's only variance is the spread between units, whatever the option.
    continuous = (out["distribution"] == "continuous").to_numpy()
    variance = np.where(continuous, out["tau2"].to_numpy() * herfindahl, variance)
    if organisation_variance != "none":
        variance = _add_organisation_variance(out, variance, organisation_variance)
    out["se_adjusted"] = np.sqrt(variance)
    out["z_adjusted"] = (out["rate"] - out["national_rate"]) / out["se_adjusted"]
    out["p_adjusted"] = two_sided_p(out["z_adjusted"])
    upper_cap = np.where(out["distribution"] == "binomial", 1.0, np.inf)
    lower_cap = np.where(continuous, -np.inf, 0.0)
    half = stats.z_value(1 - alpha) * out["se_adjusted"]
    out["ci_lower_adjusted"] = np.maximum(out["rate"] - half, lower_cap)
    out["ci_upper_adjusted"] = np.minimum(out["rate"] + half, upper_cap)
    for label, confidence in FUNNEL_LEVELS.items():
        half = stats.z_value(confidence) * out["se_adjusted"]
        out[f"lower{label}"] = np.maximum(out["national_rate"] - half, lower_cap)
        out[f"upper{label}"] = np.minimum(out["national_rate"] + half, upper_cap)
    out["classification"] = classify(
        out["rate"] - out["national_rate"], out["p_adjusted"], out["higher_is_better"], alpha
    )
    out = out.drop(columns=["comparator_denominator", "comparator_herfindahl"])
    return out.sort_values(["organisation_id", "indicator_id", "year"], ignore_index=True)


def _add_organisation_variance(out: pd.DataFrame, variance: np.ndarray, method: str) -> np.ndarray:
    """``variance`` plus the between-organisation variance of each indicator and year, which
    is estimated from the organisations' rates and ``variance``; adds ``tau2_organisations``,
    ``z_members`` and ``p_members`` (the comparison without it) to ``out``."""
    if method not in stats.TAU2_METHODS or method == "dl_within":
        known = [m for m in stats.TAU2_METHODS if m != "dl_within"]
        raise unknown_value("organisation_variance", [method], ["none", *known])
    difference = (out["rate"] - out["national_rate"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["z_members"] = np.where(variance > 0, difference / np.sqrt(variance), np.nan)
    out["p_members"] = two_sided_p(out["z_members"])
    tau2 = np.full(len(out), np.nan)
    for index in out.groupby(["indicator_id", "year"], sort=False).indices.values():
        ok = index[np.isfinite(difference[index]) & np.isfinite(variance[index])]
        if len(ok) >= 2:
            tau2[index] = stats.between_variance(
                out["rate"].to_numpy()[ok], variance[ok], method=method,
                target=float(out["national_rate"].iloc[ok[0]]),
            )  # fmt: skip
    out["tau2_organisations"] = tau2
    return variance + tau2


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


def reference_years(catalogue: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """The year each indicator is judged at: its ``single_year`` (QOF), else the last year.

    Returns ``indicator_id``, ``reference_year``, ``single_point`` (bool).
    """
    single = catalogue["single_year"]
    return pd.DataFrame(
        {
            "indicator_id": catalogue["indicator_id"].to_numpy(),
            "reference_year": single.fillna(max(years)).to_numpy().astype(int),
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


def interval_checks(level: pd.DataFrame) -> pd.DataFrame:
    """Which interval agrees with the class: a one-row table of :func:`compare_to_national` rows.

    ``rows``; ``not_different`` (rows classed not different); ``sampling_only_excludes`` and
    ``adjusted_excludes``: of those, how many the sampling-only interval (``ci_lower``,
    ``ci_upper``) and the interval with the between-practice component
    (``ci_lower_adjusted``, ``ci_upper_adjusted``) put wholly above or below the comparator.
    """
    national = level["national_rate"]
    same = level["classification"] == "not different"

    def excludes(lower: str, upper: str) -> int:
        outside = (level[lower] > national) | (level[upper] < national)
        return int((outside & same).sum())

    return pd.DataFrame(
        {
            "rows": [len(level)],
            "not_different": [int(same.sum())],
            "sampling_only_excludes": [excludes("ci_lower", "ci_upper")],
            "adjusted_excludes": [excludes("ci_lower_adjusted", "ci_upper_adjusted")],
        }
    )
