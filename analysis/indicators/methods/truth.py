"""Truth against estimate: the synthetic panel's data-generating values beside a run.

:func:`truth_vs_estimate`: for the synthetic panel, each estimate beside the value the
data-generating process put in, with interval coverage and bias (:func:`truth_summary`);
:func:`classification_recovery`: the designed effects beside the classes a run found
(:func:`recovery_summary`). Without a truth table (user data) the tables are header only
(:data:`EMPTY_COLUMNS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.indicators.methods.comparison import classify
from analysis.indicators.methods.selection import KEY

LOGIT_ATTENUATION = 0.346  # (16 sqrt(3) / (15 pi))^2: marginal vs conditional logit effects

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


def _truth_wide(truth: pd.DataFrame) -> pd.DataFrame:
    return truth.pivot_table(index=KEY, columns="parameter", values="value").reset_index()


def attenuation(
    catalogue: pd.DataFrame, truth: pd.DataFrame, *, within_practice: bool = False
) -> pd.Series:
    """Factor by which a population-averaged GLM shrinks conditional effects, per indicator.

    ``1 / sqrt(1 + 0.346 sigma^2)`` for logit (binomial) indicators, with ``sigma^2`` the sum
    of the between-practice and practice-year variances (only the practice-year variance
    with ``within_practice``: practice fixed effects absorb the between-practice part); 1 for
    log-link (Poisson) ones.
    """
    national = _truth_wide(truth[truth["organisation_id"] == "ENGLAND"]).set_index("indicator_id")
    between = 0.0 if within_practice else national.get("between_practice_sd", 0.0) ** 2
    sigma2 = between + national.get("practice_year_sd", 0.0) ** 2
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
    the truth (:func:`attenuation`; for the slopes of a ``practice_fe`` trend table only the
    practice-year part): ``trend_log_ratio`` with the GLM ``slope_difference``;
    ``national_trend`` with the comparator's slope; and the realised organisation level
    (``level_log_ratio + mean_practice_effect``, moved to the baseline year with
    ``trend_log_ratio``) with the GLM ``level_difference``; ``designed_level_log_ratio`` is
    the same without ``mean_practice_effect``: the target a clustered interval covers.

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
    # Slopes of the practice fixed-effects model are conditional on the practice.
    within = frame.get("model", pd.Series("pooled", index=frame.index)).eq("practice_fe")
    within_shrink = attenuation(catalogue, truth, within_practice=True)
    slope_shrink = shrink.where(~within, frame["indicator_id"].map(within_shrink).fillna(1.0))
    baseline = frame["baseline_year"] - first_year
    mean_effect = frame["mean_practice_effect"] if "mean_practice_effect" in frame else 0.0
    level_truth = frame["level_log_ratio"] + mean_effect + frame["trend_log_ratio"] * baseline
    parts = [
        (
            "trend_log_ratio",
            frame,
            frame["trend_log_ratio"] * slope_shrink,
            "slope_difference",
            "slope_difference_se",
        ),
        (
            "realised_level_log_ratio",
            frame,
            level_truth * shrink,
            "level_difference",
            "level_se",
        ),
        # The clustered level SE includes the between-practice variance, so its interval
        # targets the designed effect, not the realised one.
        (
            "designed_level_log_ratio",
            frame,
            (level_truth - mean_effect) * shrink,
            "level_difference",
            "level_se",
        ),
    ]
    nat = frame.drop_duplicates("indicator_id")
    parts.append(
        (
            "national_trend",
            nat.assign(organisation_id="ENGLAND"),
            nat["national_trend"] * slope_shrink.loc[nat.index],
            "national_slope",
            "national_slope_se",
        )
    )
    # The trend table's own reference distribution: t with its degrees of freedom, or normal.
    use_t = bool(frame.get("reference", pd.Series("normal", index=frame.index)).eq("t").any())
    dfs = {
        "slope_difference": "df",
        "level_difference": "level_df",
        "national_slope": "national_df",
    }
    rows = []
    for name, part, value, est, se in parts:
        df = part[dfs[est]].to_numpy(dtype=float) if use_t else np.inf
        rows.append(
            pd.DataFrame(
                {
                    "parameter": name,
                    "organisation_id": part["organisation_id"].to_numpy(),
                    "indicator_id": part["indicator_id"].to_numpy(),
                    "truth": np.asarray(value, dtype=float),
                    "estimate": part[est].to_numpy(dtype=float),
                    "se": part[se].to_numpy(dtype=float),
                    "critical": sps.t.isf(alpha / 2, df),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    critical = out.pop("critical")
    out["ci_lower"] = out["estimate"] - critical * out["se"]
    out["ci_upper"] = out["estimate"] + critical * out["se"]
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
