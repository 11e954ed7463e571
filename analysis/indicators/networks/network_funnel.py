"""Networks against England in a funnel plot, with and without the between-network variance.

A network's mean of ``n`` practices' percentages is set against England with two sets of
limits:

* **sampling only**: ``England +- z sd / sqrt(n)``, ``sd`` the between-practice SD in England.
  This asks whether a network differs from ``n`` practices drawn at random from England; with
  an intraclass correlation of a third, most networks differ in that sense, so these limits
  flag far more networks than chance.
* **with the between-network variance**: ``England +- z sqrt(sd^2 / n + tau^2)``, the additive
  random-effects limits (Spiegelhalter 2005), ``tau^2`` estimated from the networks' means and
  their sampling variances by a stated method
  (:func:`analysis.core.stats.between_variance`, DerSimonian-Laird by default). These ask
  which networks lie outside the usual spread of networks.

How many networks would fall outside by chance is not read from the normal distribution alone:
practices' percentages are left-skewed (a few practices far below the rest), and a network's
mean of a few practices inherits the skew. :func:`permutation_reference` shuffles the practices
across networks, keeping every network's number of practices, and counts how many of the
shuffled networks fall outside the same limits:

* for the sampling-only limits the shuffled networks do not differ (the null of those limits);
* for the limits with ``tau^2``, each shuffled network's mean also gets a normal between-network
  effect of variance ``tau^2`` (the null of those limits: networks differ only by that much).

:func:`funnel_summary` sets the observed counts beside the normal and the permutation counts,
per limit and side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.core.stats import TAU2_METHODS, between_variance

POSITIONS = ("below 99.8%", "below 95%", "within 95%", "above 95%", "above 99.8%")
CONFIDENCES = {"95%": 0.95, "99.8%": 0.998}
COLUMN = {"95%": "95", "99.8%": "998"}
"""The limits' column names by confidence: ``lower95``, ``upper998_tau2``..."""
LIMITS = {
    "sampling": "sampling only",
    "tau2": "with between-network variance",
}
PERCENTILE = "inverted_cdf"
"""Percentiles of the permutation counts are counts that occurred (no interpolation)."""
TAU2_NAMES = {
    "dl": "DerSimonian-Laird",
    "reml": "REML",
    "winsorised": "Winsorised phi (Spiegelhalter 2005)",
    "winsorised_rescaled": "Winsorised phi, rescaled",
}


def _position(z: np.ndarray) -> np.ndarray:
    z95, z998 = sps.norm.ppf(0.975), sps.norm.ppf(0.999)
    bins = [-np.inf, -z998, -z95, z95, z998, np.inf]
    return np.asarray(pd.cut(z, bins, labels=list(POSITIONS), right=False).astype(str))


def organisation_funnel(
    organisations: pd.DataFrame,
    national: pd.DataFrame,
    year: int,
    *,
    tau2_method: str = "dl",
) -> pd.DataFrame:
    """Each organisation's mean percentage against England in ``year``, with both funnels.

    Parameters
    ----------
    organisations
        :func:`analysis.indicators.networks.achievement.organisation_table` (any years).
    national
        :func:`analysis.indicators.networks.achievement.national_comparator`.
    year
        The year of the funnel.
    tau2_method
        Estimator of the between-organisation variance, one of
        :data:`analysis.core.stats.TAU2_METHODS`.

    Returns
    -------
    pandas.DataFrame
        The organisation columns plus ``national``, ``comparator``, ``se`` (sampling only),
        ``tau2``, ``tau2_method``, ``se_tau2`` (``sqrt(se^2 + tau2)``), and for each set of
        limits (suffix ``""`` sampling only, ``_tau2`` with ``tau2``): ``z``, ``lower95``,
        ``upper95``, ``lower998``, ``upper998``, ``position``.
    """
    if tau2_method not in TAU2_METHODS:
        raise ValueError(
            f"parameter 'tau2_method': {tau2_method!r}; expected one of {TAU2_METHODS}"
        )
    england = national.set_index("year")
    if year not in england.index:
        raise ValueError(f"parameter 'last_year': {year} is not a year of the data")
    value, sd = float(england.at[year, "value"]), float(england.at[year, "sd"])
    out = organisations[organisations["year"] == year].reset_index(drop=True)
    out["national"] = value
    out["comparator"] = england.at[year, "comparator"]
    out["se"] = sd / np.sqrt(out["n_practices"])
    tau2 = between_variance(out["mean_pct"], out["se"] ** 2, method=tau2_method)
    out["tau2"] = tau2
    out["tau2_method"] = TAU2_NAMES[tau2_method]
    out["se_tau2"] = np.sqrt(out["se"] ** 2 + tau2)
    for suffix, se in (("", out["se"]), ("_tau2", out["se_tau2"])):
        out[f"z{suffix}"] = (out["mean_pct"] - value) / se
        for label, confidence in CONFIDENCES.items():
            half = sps.norm.ppf(0.5 + confidence / 2) * se
            out[f"lower{COLUMN[label]}{suffix}"] = value - half
            out[f"upper{COLUMN[label]}{suffix}"] = value + half
        out[f"position{suffix}"] = _position(out[f"z{suffix}"].to_numpy())
    return out.sort_values("organisation_id", ignore_index=True)


@dataclass(frozen=True)
class PermutationCounts:
    """Counts of shuffled organisations outside each limit, one entry per permutation.

    ``counts[(limits, confidence, side)]`` is an integer array of length ``permutations``
    (``limits`` a key of :data:`LIMITS`, ``confidence`` of :data:`CONFIDENCES`, ``side``
    ``below`` or ``above``).
    """

    counts: dict[tuple[str, str, str], np.ndarray]
    permutations: int
    seed: int
    practices: int


def permutation_reference(
    pct: np.ndarray,
    organisation: np.ndarray,
    funnel: pd.DataFrame,
    *,
    permutations: int = 500,
    seed: int = 2019,
    chunk: int = 100,
) -> PermutationCounts:
    """Organisations outside the funnel's limits when practices are shuffled across them.

    Each permutation deals the practices' percentages at random to the organisations, each
    keeping its number of practices, and computes every organisation's mean; the limits are
    the funnel's, held as drawn. For the limits with ``tau^2`` each shuffled mean also gets a
    draw from ``N(0, tau^2)``. Vectorised over permutations (``chunk`` at a time, so memory
    stays at ``chunk x practices`` numbers).

    Parameters
    ----------
    pct, organisation
        Each member practice's percentage and organisation in the funnel's year.
    funnel
        :func:`organisation_funnel` (its ``n_practices`` must count these practices).
    permutations, seed
        Number of shuffles and the seed of :func:`numpy.random.default_rng`.
    chunk
        Permutations drawn at once.

    Returns
    -------
    PermutationCounts
    """
    if permutations < 1:
        raise ValueError(f"parameter 'permutations': {permutations}; expected at least 1")
    pct = np.asarray(pct, dtype=float)
    table = funnel.set_index("organisation_id")
    order = pd.Index(table.index)
    codes = order.get_indexer(np.asarray(organisation))
    if (codes < 0).any():
        raise ValueError("practices of an organisation that is not in the funnel")
    sizes = np.bincount(codes, minlength=len(order))
    if not np.array_equal(sizes, table["n_practices"].to_numpy()):
        raise ValueError("the practices do not match the funnel's numbers of practices")
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    limits = {
        (kind, label, side): table[f"{side_name}{COLUMN[label]}{suffix}"].to_numpy()
        for kind, suffix in (("sampling", ""), ("tau2", "_tau2"))
        for label in CONFIDENCES
        for side, side_name in (("below", "lower"), ("above", "upper"))
    }
    tau = float(np.sqrt(table["tau2"].iloc[0]))
    rng = np.random.default_rng(seed)
    counts: dict[tuple[str, str, str], list[np.ndarray]] = {key: [] for key in limits}
    for begin in range(0, permutations, chunk):
        size = min(chunk, permutations - begin)
        shuffled = rng.permuted(np.broadcast_to(pct, (size, pct.size)), axis=1)
        means = np.add.reduceat(shuffled, starts, axis=1) / sizes
        effects = rng.normal(0.0, tau, means.shape) if tau > 0 else 0.0
        for (kind, label, side), bound in limits.items():
            shown = means + effects if kind == "tau2" else means
            outside = shown < bound if side == "below" else shown > bound
            counts[(kind, label, side)].append(outside.sum(axis=1))
    return PermutationCounts(
        {key: np.concatenate(parts) for key, parts in counts.items()},
        permutations,
        seed,
        int(pct.size),
    )


def funnel_summary(funnel: pd.DataFrame, reference: PermutationCounts) -> pd.DataFrame:
    """Organisations outside each limit against the numbers expected if none differed.

    Returns
    -------
    pandas.DataFrame
        One row per ``limits`` (:data:`LIMITS` values), ``confidence`` and ``side``
        (``below``, ``above``, ``outside``): ``organisations`` observed,
        ``expected_normal`` (count times the normal tail area), ``expected_permutation``
        (mean over the permutations), ``permutation_low`` and ``permutation_high`` (2.5th
        and 97.5th percentiles of the permutation counts), ``null`` (what the expected
        counts assume) and ``permutations``.
    """
    k = len(funnel)
    nulls = {
        "sampling": "networks do not differ: practices shuffled across networks",
        "tau2": "networks differ only by a normal effect of variance tau2: practices "
        "shuffled across networks, plus that effect",
    }
    rows = []
    for kind, suffix in (("sampling", ""), ("tau2", "_tau2")):
        for label, confidence in CONFIDENCES.items():
            tail = (1 - confidence) / 2
            below = (funnel["mean_pct"] < funnel[f"lower{COLUMN[label]}{suffix}"]).to_numpy()
            above = (funnel["mean_pct"] > funnel[f"upper{COLUMN[label]}{suffix}"]).to_numpy()
            sides = {
                "below": (below, reference.counts[(kind, label, "below")], tail),
                "above": (above, reference.counts[(kind, label, "above")], tail),
            }
            either = (
                reference.counts[(kind, label, "below")] + reference.counts[(kind, label, "above")]
            )
            sides["outside"] = (below | above, either, 2 * tail)
            for side, (flags, counts, area) in sides.items():
                rows.append(
                    {
                        "limits": LIMITS[kind],
                        "confidence": label,
                        "side": side,
                        "organisations": int(flags.sum()),
                        "expected_normal": k * area,
                        "expected_permutation": float(counts.mean()),
                        "permutation_low": int(np.percentile(counts, 2.5, method=PERCENTILE)),
                        "permutation_high": int(np.percentile(counts, 97.5, method=PERCENTILE)),
                        "null": nulls[kind],
                        "permutations": reference.permutations,
                    }
                )
    return pd.DataFrame(rows)


def funnel_reference(
    data: pd.DataFrame,
    national: pd.DataFrame,
    funnel: pd.DataFrame,
    reference: PermutationCounts,
    year: int,
) -> pd.DataFrame:
    """One row describing the funnel's year and reference: why the permutation is used.

    Parameters
    ----------
    data
        :func:`analysis.indicators.networks.achievement.practice_outcomes` (every practice, members
        or not).
    national
        :func:`analysis.indicators.networks.achievement.national_comparator`.
    funnel, reference
        :func:`organisation_funnel` and :func:`permutation_reference` of ``year``.

    Returns
    -------
    pandas.DataFrame
        ``year``, ``financial_year``, ``organisations``, ``practices_in_file``,
        ``member_practices``, ``skewness_england`` and ``skewness_members`` (adjusted
        Fisher-Pearson skewness of practices' percentages: all practices in the file, whose
        SD sets the limits, and the member practices that are shuffled), ``england``, ``sd``,
        ``tau2``, ``tau2_method``, ``permutations``, ``seed``.
    """
    year_data = data[data["year"] == year]
    members = year_data[year_data["organisation_id"].notna()]
    return pd.DataFrame(
        [
            {
                "year": int(year),
                "financial_year": financial_year(year),
                "organisations": len(funnel),
                "practices_in_file": len(year_data),
                "member_practices": len(members),
                "skewness_england": float(sps.skew(year_data["pct"], bias=False)),
                "skewness_members": float(sps.skew(members["pct"], bias=False)),
                "england": float(funnel["national"].iloc[0]),
                "sd": float(national.set_index("year").at[year, "sd"]),
                "tau2": float(funnel["tau2"].iloc[0]),
                "tau2_method": funnel["tau2_method"].iloc[0],
                "permutations": reference.permutations,
                "seed": reference.seed,
            }
        ]
    )


def financial_year(year: int) -> str:
    """``2017`` gives ``"2017-18"``."""
    return f"{int(year)}-{(int(year) + 1) % 100:02d}"
