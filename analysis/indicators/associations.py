"""Analysis 5: organisation performance against organisation characteristics (issue 4).

:func:`performance_scores` gives each organisation's mean direction-signed z-score (as
published; it grows with the square root of size) or mean direction-signed effect on the
link scale (size-neutral, issue 14);
:func:`association_tests` sets it against characteristics with n = 8: Spearman correlation
(:func:`exact_spearman`) or Kruskal-Wallis (:func:`exact_kruskal`), each with an exact
permutation p-value, and the power caveat written into the table.
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
        :func:`analysis.indicators.summary.summary_table`.
    score
        ``z``: mean signed z-score (as published; for a fixed effect it grows with the
        square root of the organisation's size, so it confounds size with performance);
        ``effect``: mean signed link-scale ``effect`` (log odds or log rate difference),
        which does not depend on size.

    Returns ``organisation_id``, ``comparison``, ``score``, ``n_indicators``, ``score_type``.
    """
    if score not in SCORES:
        raise ValueError(f"parameter 'score': unknown value {score!r}; expected one of {SCORES}")
    frame = summary.dropna(subset=[score]).copy()
    frame["signed"] = np.where(frame["higher_is_better"], frame[score], -frame[score])
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
    overhead (issue 14). Larger ``n`` uses scipy's seeded Monte Carlo sample of orderings,
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
