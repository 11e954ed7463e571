"""Analysis 5: organisation performance against organisation characteristics.

:func:`performance_scores` gives each organisation's mean direction-signed z-score (as
published; it grows with the square root of size) or mean direction-signed effect on the
link scale (size-neutral, the compendium's addition);
:func:`association_tests` sets it against characteristics with n = 8: Spearman correlation
(:func:`exact_spearman`) or Kruskal-Wallis (:func:`exact_kruskal`), each with an exact
permutation p-value, and the power caveat written into the table.

With hundreds of organisations (every PCN) each indicator can be asked on its own:
:func:`value_associations` regresses each indicator's organisation values on each
characteristic (least squares with heteroscedasticity-robust HC1 errors,
:func:`simple_regression`), Benjamini-Hochberg within each source and characteristic, and
:func:`association_summary` counts what it found.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.core import stats
from analysis.indicators.methods.comparison import classify

NUMERIC_CHARACTERISTICS = ("n_practices", "list_size", "ccgs_spanned")
CATEGORICAL_CHARACTERISTICS = ("form", "rurality", "case_study")
EXACT_MAX_N = 9  # 9! = 362,880 orderings; beyond this a seeded Monte Carlo sample is used
MONTE_CARLO_RESAMPLES = 99_999
MONTE_CARLO_SEED = 20160701


SCORES = ("z", "effect")
"""Performance scores: mean signed z-score (as published) or mean signed link-scale effect."""


def performance_scores(summary: pd.DataFrame, *, score: str = "z") -> pd.DataFrame:
    """Each organisation's mean direction-signed score per comparison (positive = better).

    Parameters
    ----------
    summary
        :func:`analysis.indicators.methods.summary.summary_table`.
    score
        ``z``: mean signed z-score (as published; for a fixed effect it grows with the
        square root of the organisation's size, so it confounds size with performance);
        ``effect``: mean signed link-scale ``effect`` (log odds or log rate difference),
        which does not depend on size.

    Returns ``organisation_id``, ``comparison``, ``score``, ``n_indicators``, ``score_type``.
    """
    if score not in SCORES:
        raise ValueError(f"parameter 'score': unknown value {score!r}; expected one of {SCORES}")
    # An indicator with no direction (a prevalence) cannot say better or worse: left out.
    frame = summary.dropna(subset=[score, "higher_is_better"]).copy()
    higher = frame["higher_is_better"].astype(bool)
    frame["signed"] = np.where(higher, frame[score], -frame[score])
    out = frame.groupby(["organisation_id", "comparison"], as_index=False).agg(
        score=("signed", "mean"), n_indicators=("signed", "size")
    )
    out["score_type"] = score
    return out


# Above this many orderings x organisations a sampled table is not cached (memory).
SAMPLED_CACHE_MAX_CELLS = 5_000_000


@cache
def _orderings(n: int) -> np.ndarray:
    """All ``n!`` orderings of ``range(n)``, computed once per ``n``."""
    return np.array(list(itertools.permutations(range(n))), dtype=np.intp)


@cache
def _sampled_orderings(n: int) -> np.ndarray:
    """The ``MONTE_CARLO_RESAMPLES`` orderings scipy draws for ``n``, computed once per ``n``.

    Every Monte Carlo test starts a new generator from ``MONTE_CARLO_SEED``, so tests of the
    same ``n`` use the same orderings: drawn here exactly as
    :func:`scipy.stats.permutation_test` draws them (one batch, ``Generator.permuted``).
    """
    rng = np.random.default_rng(MONTE_CARLO_SEED)
    indices = np.tile(np.arange(n), (MONTE_CARLO_RESAMPLES, 1, 1))
    return rng.permuted(indices, axis=-1)[:, 0, :]


def _permutation(values: np.ndarray, statistic, alternative: str):
    """Permutation test of one sample's pairings, as :func:`scipy.stats.permutation_test`.

    For ``n <= EXACT_MAX_N`` every ordering is enumerated at once from a cached table and the
    p-value is computed exactly as scipy does (counts within a relative tolerance of 100
    machine epsilons of the observed value, no +1 adjustment), without scipy's batching
    overhead. Larger ``n`` uses scipy's seeded Monte Carlo sample of orderings,
    drawn once per ``n`` and cached (scipy draws it again for every test), with scipy's +1
    adjustment; beyond ``SAMPLED_CACHE_MAX_CELLS`` it goes to scipy itself.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n > EXACT_MAX_N and n * MONTE_CARLO_RESAMPLES > SAMPLED_CACHE_MAX_CELLS:
        return sps.permutation_test(
            (values,),
            statistic,
            permutation_type="pairings",
            n_resamples=MONTE_CARLO_RESAMPLES,
            vectorized=True,
            alternative=alternative,
            rng=np.random.default_rng(MONTE_CARLO_SEED),
        )
    exact = n <= EXACT_MAX_N
    orderings = _orderings(n) if exact else _sampled_orderings(n)
    adjustment = 0 if exact else 1
    observed = float(statistic(values, axis=-1))
    null = statistic(values[orderings], axis=-1)
    gamma = abs(np.finfo(float).eps * 100 * observed)
    size = null.size + adjustment
    less = (np.count_nonzero(null <= observed + gamma) + adjustment) / size
    greater = (np.count_nonzero(null >= observed - gamma) + adjustment) / size
    p = {"less": less, "greater": greater, "two-sided": 2 * min(less, greater)}[alternative]
    return SimpleNamespace(statistic=observed, pvalue=min(max(p, 0.0), 1.0), null_distribution=null)


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
    rx = sps.rankdata(np.asarray(x, dtype=float))
    # The statistic depends on x only through its ranks, and ranking commutes with permuting,
    # so the ranks are permuted (ranked once rather than once per ordering); a permutation
    # keeps their mean and sum of squares, so only the cross-product is computed per ordering.
    mean_x, scale = rx.mean(), np.sqrt(((rx - rx.mean()) ** 2).sum() * (cy**2).sum())

    def statistic(ranks, axis=-1):
        return ((ranks - mean_x) @ cy) / scale

    res = _permutation(rx, statistic, "two-sided")
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

    def statistic(ranks, axis=-1):  # ranks of the values, permuted (see exact_spearman)
        sums = ranks @ indicator
        h = 12 / (n * (n + 1)) * (sums**2 / sizes).sum(axis=-1) - 3 * (n + 1)
        return h / correction

    res = _permutation(sps.rankdata(values), statistic, "greater")
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


ASYMPTOTIC_MIN_N = 51
"""From this many organisations the tests use their large-sample p-values (scipy's
``spearmanr`` t approximation and ``kruskal`` chi-squared): a permutation distribution of
hundreds of organisations is what they approximate, at a cost a run cannot afford."""
MAX_CATEGORIES = 12
"""A text characteristic with more categories than this (names, postcodes) is not tested."""


def characteristics(organisations_table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The numeric and categorical characteristics of an organisations table, in test order.

    The study's (:data:`NUMERIC_CHARACTERISTICS`, :data:`CATEGORICAL_CHARACTERISTICS`) first
    where present, then the table's other columns in file order: numeric when they hold
    numbers, categorical otherwise; a column with fewer than two distinct values is left out.
    """
    skip = {"organisation_id", "label"}
    present = [c for c in organisations_table.columns if c not in skip]
    # a column with one value at most (no data, or case_study never given) tests nothing
    present = [c for c in present if organisations_table[c].nunique(dropna=True) > 1]
    numeric = [
        c
        for c in present
        if c in NUMERIC_CHARACTERISTICS
        or (
            c not in CATEGORICAL_CHARACTERISTICS
            and pd.api.types.is_numeric_dtype(organisations_table[c])
            and not pd.api.types.is_bool_dtype(organisations_table[c])
        )
    ]
    categorical = [c for c in present if c not in numeric]
    order = {c: i for i, c in enumerate((*NUMERIC_CHARACTERISTICS, *CATEGORICAL_CHARACTERISTICS))}
    return (
        sorted(numeric, key=lambda c: order.get(c, len(order))),
        sorted(categorical, key=lambda c: order.get(c, len(order))),
    )


def association_tests(
    scores: pd.DataFrame, organisations_table: pd.DataFrame, *, alpha: float = 0.05
) -> pd.DataFrame:
    """Analysis 5: performance scores against organisation characteristics.

    Numeric characteristics (``n_practices``, ``list_size``, ``ccgs_spanned`` and any other
    numeric column): Spearman's rho, exact two-sided p over all orderings. Categorical ones
    (``form``, ``rurality``, ``case_study``, any other text column): Kruskal-Wallis H, exact
    p over all regroupings. With about eight organisations these tests have little power;
    the ``caveat`` column says how large an association must be to reach ``alpha``. From
    :data:`ASYMPTOTIC_MIN_N` organisations the large-sample p-values are used. An
    organisation without a value of a characteristic is left out of that test.

    Returns
    -------
    pandas.DataFrame
        ``comparison``, ``characteristic``, ``test``, ``n``, ``statistic``, ``p_exact``,
        ``caveat``, ``p_bh`` (Benjamini-Hochberg across all tests in the table),
        ``significant`` and ``significant_bh`` (``p < alpha``).
    """
    rows = []
    chars = organisations_table.set_index("organisation_id")
    numeric, categorical = characteristics(organisations_table)
    for comparison, group in scores.groupby("comparison", sort=True):
        group = group.set_index("organisation_id").join(chars, how="inner").sort_index()
        for name in numeric:
            known = group[group[name].notna()]
            rows.append(_numeric_association(comparison, name, known, len(known), alpha))
        for name in categorical:
            known = group[group[name].notna()]
            rows.append(_categorical_association(comparison, name, known, len(known), alpha))
    columns = ["comparison", "characteristic", "test", "n", "statistic", "p_exact", "caveat"]
    out = pd.DataFrame(rows, columns=columns)
    out["p_bh"] = stats.benjamini_hochberg(out["p_exact"]) if len(out) else []
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
    x = pd.to_numeric(group[name], errors="coerce").to_numpy(dtype=float)
    if n < 3 or np.unique(x).size < 2 or group["score"].nunique() < 2:
        return {**row, "caveat": f"n={n}: too few organisations or no variation; not tested"}
    if n >= ASYMPTOTIC_MIN_N:
        rho, p = sps.spearmanr(x, group["score"].to_numpy())
        caveat = f"n={n} organisations: large-sample p-value (Student t approximation)"
        test = "Spearman rho (asymptotic)"
        return {**row, "test": test, "statistic": rho, "p_exact": p, "caveat": caveat}
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
    if len(samples) > MAX_CATEGORIES:
        return {**row, "caveat": f"{len(samples)} categories (an identifier?); not tested"}
    if n >= ASYMPTOTIC_MIN_N:
        h, p = sps.kruskal(*samples)
        caveat = f"n={n} organisations in {len(samples)} groups: large-sample p-value (chi2)"
        test = "Kruskal-Wallis H (asymptotic)"
        return {**row, "test": test, "statistic": h, "p_exact": p, "caveat": caveat}
    h, p = exact_kruskal(group["score"].to_numpy(), labels)
    sizes = "/".join(str(len(s)) for s in samples)
    caveat = (
        f"n={n} organisations in groups of {sizes}: exact permutation test with very low "
        f"power at alpha {alpha:g} (no significant result is not evidence of no association)"
    )
    return {**row, "statistic": h, "p_exact": p, "caveat": caveat}


DIRECTIONS = {"higher": True, "lower": False, "neutral": pd.NA}
"""A ``direction`` as ``higher_is_better`` (``neutral``: no direction)."""


def simple_regression(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Slope of ``y`` on ``x`` by least squares with its HC1 standard error and p-value.

    The HC1 variance of the slope is ``n / (n - 2) * sum((x - xbar)^2 e^2) / Sxx^2`` (White's
    estimator with the small-sample factor statsmodels applies for ``cov_type="HC1"``); the
    p-value is two-sided against the normal, as statsmodels reports for a robust covariance.
    """
    n = len(x)
    xc = x - x.mean()
    sxx = float(np.sum(xc**2))
    if n < 3 or sxx == 0:
        return np.nan, np.nan, np.nan
    slope = float(np.sum(xc * (y - y.mean())) / sxx)
    resid = y - y.mean() - slope * xc
    se = float(np.sqrt(n / (n - 2) * np.sum(xc**2 * resid**2)) / sxx)
    p = float(2 * sps.norm.sf(abs(slope / se))) if se > 0 else np.nan
    return slope, se, p


def value_associations(
    values: pd.DataFrame,
    characteristics: pd.DataFrame,
    measures: dict[str, str],
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Each indicator's organisation values regressed on each organisation characteristic.

    Parameters
    ----------
    values
        ``source``, ``indicator_id``, ``domain``, ``direction`` (``higher`` / ``lower`` is
        better, or ``neutral``), ``organisation_id``, ``value``.
    characteristics
        ``source``, ``organisation_id`` and one column per measure.
    measures
        Column -> what one unit of it means (``log2_practices``: "a doubling of member
        practices").
    alpha
        Level of the Benjamini-Hochberg adjustment within each source and measure.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``indicator_id``, ``domain``, ``direction``, ``measure``, ``per``,
        ``organisations``, ``slope`` (the indicator's units per unit of the measure),
        ``se`` (HC1), ``ci_lower``, ``ci_upper``, ``p``, ``p_bh``, ``association``
        (``better`` / ``worse`` / ``higher`` / ``lower`` with the measure, or ``none``).
    """
    data = values.merge(characteristics, on=["source", "organisation_id"], how="inner")
    z = stats.z_value(0.95)
    rows = []
    for (source, indicator), group in data.groupby(["source", "indicator_id"], sort=False):
        for measure, meaning in measures.items():
            ok = group[measure].notna() & group["value"].notna()
            x = group.loc[ok, measure].to_numpy(float)
            y = group.loc[ok, "value"].to_numpy(float)
            slope, se, p = simple_regression(x, y)
            rows.append(
                {
                    "source": source,
                    "indicator_id": indicator,
                    "domain": group["domain"].iloc[0],
                    "direction": group["direction"].iloc[0],
                    "measure": measure,
                    "per": meaning,
                    "organisations": int(ok.sum()),
                    "slope": slope,
                    "se": se,
                    "ci_lower": slope - z * se,
                    "ci_upper": slope + z * se,
                    "p": p,
                }
            )
    out = pd.DataFrame(rows)
    out["p_bh"] = np.nan
    for index in out.groupby(["source", "measure"], sort=False).groups.values():
        out.loc[index, "p_bh"] = stats.benjamini_hochberg(out.loc[index, "p"].to_numpy())
    higher = pd.array(out["direction"].map(DIRECTIONS), dtype="boolean")
    named = classify(out["slope"], out["p_bh"], higher, alpha)
    out["association"] = np.where(named == "not different", "none", named)
    return out


def association_summary(associations: pd.DataFrame, measures: Sequence[str]) -> pd.DataFrame:
    """Per source and measure: tests, and how many associations are better / worse / none.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``measure``, ``per``, ``tests``, ``better``, ``worse``, ``higher``,
        ``lower``, ``none``, ``median_slope``.
    """
    rows = []
    for (source, measure), group in associations.groupby(["source", "measure"], sort=False):
        counts = group["association"].value_counts()
        rows.append(
            {
                "source": source,
                "measure": measure,
                "per": group["per"].iloc[0],
                "tests": int(group["p"].notna().sum()),
                **{
                    k: int(counts.get(k, 0)) for k in ("better", "worse", "higher", "lower", "none")
                },
                "median_slope": float(group["slope"].median()),
            }
        )
    out = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(measures)}
    return out.sort_values(
        ["source", "measure"],
        key=lambda s: s.map(order) if s.name == "measure" else s,
        ignore_index=True,
    )
