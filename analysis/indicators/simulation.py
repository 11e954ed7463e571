"""Simulation study of the quality-indicator methods (issue 14): which ones are calibrated?

SYNTHETIC by construction. Each replication draws, for one binomial indicator, a national
population of practices and organisations of 2 to 100 member practices from the same
kind of model as :mod:`analysis.indicators.synthetic` (logit-normal practice effects with
SD ``sd`` = overdispersion, binomial counts out of lognormal denominators, an organisation
effect ``effect`` on the logit scale), and applies every method to it:

``level``
    The organisation's pooled rate against England (year 0), with the overdispersion
    adjustments of :func:`analysis.indicators.comparison.compare_to_national`:
    ``none`` (sampling-only Wilson interval), ``multiplicative`` (published Winsorised phi),
    and additive ``tau2`` by ``winsorised`` (as published), ``winsorised_rescaled``, ``dl``
    and ``reml``. The target is the designed difference between the organisation's
    expected rate and England's (Gauss-Hermite integrals over the practice effects).
``tau2``
    The same four ``tau2`` estimators against the true between-practice variance of
    practice rates.
``variation``
    Six years with a national trend in the mean and constant spread: the slope test of the
    CV of raw rates (as published) and of the link-scale ``tau2_link``; every rejection is a
    false positive.
``score``
    Spearman correlation between organisation size and its score (signed adjusted z, as
    published, or signed link-scale effect) among organisations with the same designed
    effect; a size-neutral score has correlation about 0.

:func:`replicate` is one replication (a pure function of its seed), :func:`simulate` many,
:func:`summarise` the per-method bias, RMSE, coverage, rejection rate (type-I error where the
null is true, power where it is not), each with its Monte-Carlo standard error, and
:func:`calibration` the table the chapter shows. ``python -m analysis.indicators.simulation``
runs one batch of replications and writes them to a CSV: the command the ``simulation``
sweep of ``pipeline.yml`` runs on Dask.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.core import stats

BASE_RATE = 0.30
NATIONAL_TREND = -0.10  # logit change per year in the variation part: the mean moves
N_NATIONAL = 3000
YEARS = 6
SIZES = (2, 5, 10, 30, 100)
EFFECTS = (0.0, 0.2)
SDS = (0.2, 0.5)
DEFAULT_SEED = 20260101
LEVEL_METHODS = (
    "none",
    "multiplicative",
    "winsorised",
    "winsorised_rescaled",
    "dl",
    "reml",
)
COLUMNS = [
    "replication",
    "sd",
    "analysis",
    "method",
    "effect",
    "size",
    "estimate",
    "truth",
    "ci_lower",
    "ci_upper",
    "reject",
]
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def expected_rate(level: float | np.ndarray, sd: float) -> np.ndarray:
    """``E[expit(level + sd Z)]`` for standard normal ``Z`` (80-point Gauss-Hermite)."""
    level = np.asarray(level, dtype=float)
    return _expit(level[..., None] + sd * _NODES) @ _WEIGHTS


def rate_variance(levels: float | np.ndarray, sd: float) -> float:
    """True between-practice variance of practice rates ``expit(level_j + sd Z_j)``.

    Over practices with designed logits ``levels`` (one or many): the mean of each
    practice's second moment minus the square of the mean rate.
    """
    values = _expit(np.atleast_1d(np.asarray(levels, dtype=float))[:, None] + sd * _NODES)
    first, second = values @ _WEIGHTS, values**2 @ _WEIGHTS
    return float(second.mean() - first.mean() ** 2)


def _denominators(rng: np.random.Generator, size: int) -> np.ndarray:
    return np.clip(np.round(np.exp(rng.normal(np.log(500), 0.5, size))), 50, 5000)


def draw_practices(
    rng: np.random.Generator,
    *,
    sd: float,
    effects: Sequence[float] = EFFECTS,
    sizes: Sequence[int] = SIZES,
    n_national: int = N_NATIONAL,
    years: int = YEARS,
) -> pd.DataFrame:
    """One SYNTHETIC population: national practices and organisations, ``years`` years.

    Every non-zero effect appears with both signs so England's mean stays near the
    no-effect rate. Returns one row per practice and year: ``practice``, ``org`` (-1 for
    non-members), ``effect``, ``size``, ``year`` (0...), ``numerator``, ``denominator``,
    ``eta`` (the practice's designed logit without the practice effect).
    """
    signed = [0.0] if 0.0 in effects else []
    signed += [s * e for e in effects if e != 0 for s in (1.0, -1.0)]
    orgs = [(e, m) for e in signed for m in sizes]
    org_of = np.concatenate(
        [np.full(n_national, -1)] + [np.full(m, k) for k, (_, m) in enumerate(orgs)]
    )
    effect = np.array([0.0] + [e for e, _ in orgs])[org_of + 1]
    size = np.array([0] + [m for _, m in orgs])[org_of + 1]
    n = org_of.size
    u = rng.normal(0, sd, n)
    den = _denominators(rng, n)
    base = np.log(BASE_RATE / (1 - BASE_RATE))
    t = np.arange(years)
    eta = base + effect[:, None] + NATIONAL_TREND * t[None, :] * (org_of[:, None] >= 0)
    num = rng.binomial(den.astype(np.int64)[:, None], _expit(eta + u[:, None]))
    return pd.DataFrame(
        {
            "practice": np.repeat(np.arange(n), years),
            "org": np.repeat(org_of, years),
            "effect": np.repeat(effect, years),
            "size": np.repeat(size, years),
            "year": np.tile(t, n),
            "numerator": num.ravel().astype(float),
            "denominator": np.repeat(den, years),
            "eta": eta.ravel(),
        }
    )


def _tau2_estimates(rate: np.ndarray, v: np.ndarray, national: float) -> dict[str, float]:
    return {
        method: stats.between_variance(rate, v, method=method, target=national)
        for method in ("winsorised", "winsorised_rescaled", "dl", "reml")
    }


def level_rows(year0: pd.DataFrame, sd: float, alpha: float) -> pd.DataFrame:
    """Every level method for every organisation in one year's data (see module notes)."""
    rate = year0["numerator"] / year0["denominator"]
    national = year0["numerator"].sum() / year0["denominator"].sum()
    v = national * (1 - national) / year0["denominator"].to_numpy()
    z_all = (rate.to_numpy() - national) / np.sqrt(v)
    tau2 = _tau2_estimates(rate.to_numpy(), v, national)
    phi = max(stats.winsorised_phi(z_all, 0.1), 1.0)
    den = year0["denominator"].to_numpy()
    truth_national = float(np.sum(den * expected_rate(year0["eta"].to_numpy(), sd)) / den.sum())
    members = year0[year0["org"] >= 0].assign(n_sq=year0["denominator"] ** 2)
    orgs = members.groupby("org").agg(
        effect=("effect", "first"),
        size=("size", "first"),
        eta=("eta", "first"),
        numerator=("numerator", "sum"),
        denominator=("denominator", "sum"),
        n_sq=("n_sq", "sum"),
    )
    pooled = orgs["numerator"] / orgs["denominator"]
    herfindahl = orgs["n_sq"] / orgs["denominator"] ** 2
    se0 = np.sqrt(national * (1 - national) / orgs["denominator"])
    truth = expected_rate(orgs["eta"].to_numpy(), sd) - truth_national
    z_crit = stats.z_value(1 - alpha)
    frames = []
    for method in LEVEL_METHODS:
        if method == "none":
            lower, upper = stats.wilson_interval(orgs["numerator"], orgs["denominator"], 1 - alpha)
            lower, upper = lower - national, upper - national
            se = se0
        else:
            if method == "multiplicative":
                variance = phi * se0**2
            else:
                variance = se0**2 + tau2[method] * herfindahl
            se = np.sqrt(variance)
            lower = pooled - national - z_crit * se
            upper = pooled - national + z_crit * se
        p = 2 * sps.norm.sf(np.abs(pooled - national) / se)
        if method == "winsorised":
            scores = score_rows(
                orgs["effect"].to_numpy(),
                orgs["size"].to_numpy(),
                ((pooled - national) / se).to_numpy(),
                (np.log(pooled / (1 - pooled)) - np.log(national / (1 - national))).to_numpy(),
            )
        frames.append(
            pd.DataFrame(
                {
                    "analysis": "level",
                    "method": method,
                    "effect": orgs["effect"].to_numpy(),
                    "size": orgs["size"].to_numpy(),
                    "estimate": (pooled - national).to_numpy(),
                    "truth": truth,
                    "ci_lower": np.asarray(lower),
                    "ci_upper": np.asarray(upper),
                    "reject": np.asarray(p < alpha),
                }
            )
        )
    true_tau2 = rate_variance(year0["eta"].to_numpy(), sd)
    frames.append(
        pd.DataFrame(
            {
                "analysis": "tau2",
                "method": list(tau2),
                "effect": 0.0,
                "size": len(year0),
                "estimate": list(tau2.values()),
                "truth": true_tau2,
            }
        )
    )
    frames.append(scores)
    return pd.concat(frames, ignore_index=True)


def variation_rows(frame: pd.DataFrame, sd: float, alpha: float) -> pd.DataFrame:
    """Slope tests of the CV and of the link-scale ``tau2`` over years, per organisation."""
    members = frame[(frame["org"] >= 0) & (frame["size"] >= 3)].copy()
    members["rate"] = members["numerator"] / members["denominator"]
    x = members["numerator"] + 0.5
    y = np.log(x / (members["denominator"] - members["numerator"] + 0.5))
    w = 1 / (1 / x + 1 / (members["denominator"] - members["numerator"] + 0.5))
    members = members.assign(w=w, wy=w * y, wyy=w * y**2, ww=w**2)
    grouped = members.groupby(["org", "year"])
    sums = grouped[["w", "wy", "wyy", "ww"]].sum()
    k = grouped.size()
    q = sums["wyy"] - sums["wy"] ** 2 / sums["w"]
    per_year = pd.DataFrame(
        {
            "tau2_link": np.maximum(q - (k - 1), 0) / (sums["w"] - sums["ww"] / sums["w"]),
            "cv": grouped["rate"].std() / grouped["rate"].mean(),
            "effect": grouped["effect"].first(),
            "size": grouped["size"].first(),
        }
    ).reset_index()
    rows = []
    for _, group in per_year.groupby("org", sort=True):
        for method in ("cv", "tau2_link"):
            fit = sps.linregress(group["year"].astype(float), group[method])
            rows.append(
                {
                    "analysis": "variation",
                    "method": method,
                    "effect": group["effect"].iloc[0],
                    "size": group["size"].iloc[0],
                    "estimate": group[method].mean() if method == "tau2_link" else fit.slope,
                    "truth": sd**2 if method == "tau2_link" else np.nan,
                    "reject": bool(fit.pvalue < alpha),
                }
            )
    return pd.DataFrame(rows)


def score_rows(
    effect: np.ndarray, size: np.ndarray, z: np.ndarray, link_effect: np.ndarray
) -> pd.DataFrame:
    """Spearman correlation of score with organisation size, per designed non-zero effect.

    ``z`` is the published score's ingredient (adjusted z), ``link_effect`` the size-neutral
    one (logit of the organisation's rate minus England's); both are signed by the effect.
    """
    rows = []
    for value in sorted(set(effect[effect != 0])):
        mask = effect == value
        for method, score in (("z", z[mask]), ("effect", link_effect[mask])):
            rho = sps.spearmanr(size[mask], np.sign(value) * score).statistic
            rows.append(
                {
                    "analysis": "score",
                    "method": method,
                    "effect": value,
                    "size": np.nan,
                    "estimate": rho,
                    "truth": 0.0,
                }
            )
    return pd.DataFrame(rows)


def replicate(
    seed: int,
    *,
    sd: float,
    effects: Sequence[float] = EFFECTS,
    sizes: Sequence[int] = SIZES,
    alpha: float = 0.05,
    n_national: int = N_NATIONAL,
) -> pd.DataFrame:
    """One replication: draw a population with ``seed`` and apply every method.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` without ``replication``: ``analysis``, ``method``, ``effect``,
        ``size``, ``estimate``, ``truth``, ``ci_lower``, ``ci_upper``, ``reject``.
    """
    rng = np.random.default_rng(seed)
    frame = draw_practices(rng, sd=sd, effects=effects, sizes=sizes, n_national=n_national)
    level = level_rows(frame[frame["year"] == 0], sd, alpha)
    out = pd.concat([level, variation_rows(frame, sd, alpha)], ignore_index=True)
    out.insert(0, "sd", sd)
    return out


def replication_seed(base_seed: int, index: int) -> int:
    """Seed of replication ``index``: independent streams from one base seed."""
    return int(np.random.SeedSequence([base_seed, index]).generate_state(1)[0])


def simulate(
    replications: int,
    *,
    seed: int = DEFAULT_SEED,
    start: int = 0,
    sds: Sequence[float] = SDS,
    effects: Sequence[float] = EFFECTS,
    sizes: Sequence[int] = SIZES,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Replications ``start ... start + replications - 1`` at every overdispersion ``sds``.

    Replication ``i`` uses :func:`replication_seed` ``(seed, i)`` at every ``sd``, so a
    batch run anywhere gives the same rows as a serial run.
    """
    if replications < 1:
        raise ValueError(f"parameter 'replications': {replications} is not >= 1")
    if min(sizes) < 2 or max(sizes) > 1000:
        raise ValueError(f"parameter 'sizes': {list(sizes)} must be within 2-1000 practices")
    frames = []
    for i in range(start, start + replications):
        for sd in sds:
            one = replicate(
                replication_seed(seed, i), sd=sd, effects=effects, sizes=sizes, alpha=alpha
            )
            one.insert(0, "replication", i)
            frames.append(one)
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def summarise(replications: pd.DataFrame) -> pd.DataFrame:
    """Per analysis, method, overdispersion, effect and size: performance with MC errors.

    Returns
    -------
    pandas.DataFrame
        ``n`` replications, ``bias`` and ``bias_mcse``, ``rmse`` and ``rmse_mcse``
        (delta method), ``coverage`` and ``coverage_mcse`` (of the ``1 - alpha`` interval),
        ``reject_rate`` and ``reject_mcse`` (type-I error where the null holds, power
        where it does not), ``null_true``.
    """
    frame = replications.copy()
    frame["error"] = frame["estimate"] - frame["truth"]
    frame["covered"] = np.where(
        frame["ci_lower"].notna(),
        (frame["ci_lower"] <= frame["truth"]) & (frame["truth"] <= frame["ci_upper"]),
        np.nan,
    )
    frame["reject"] = frame["reject"].astype(float)
    keys = ["analysis", "method", "sd", "effect", "size"]
    grouped = frame.groupby(keys, dropna=False)
    out = grouped.agg(
        n=("estimate", "size"),
        bias=("error", "mean"),
        error_sd=("error", "std"),
        mse=("error", lambda e: float(np.mean(e**2))),
        mse_sd=("error", lambda e: float(np.std(e**2, ddof=1)) if len(e) > 1 else np.nan),
        coverage=("covered", "mean"),
        reject_rate=("reject", "mean"),
    ).reset_index()
    root_n = np.sqrt(out["n"])
    out["bias_mcse"] = out["error_sd"] / root_n
    out["rmse"] = np.sqrt(out["mse"])
    out["rmse_mcse"] = out["mse_sd"] / (2 * out["rmse"] * root_n)
    out["coverage_mcse"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["n"])
    out["reject_mcse"] = np.sqrt(out["reject_rate"] * (1 - out["reject_rate"]) / out["n"])
    out["null_true"] = (out["effect"] == 0) | (out["analysis"] == "variation")
    cols = [
        *keys,
        "n",
        "bias",
        "bias_mcse",
        "rmse",
        "rmse_mcse",
        "coverage",
        "coverage_mcse",
        "reject_rate",
        "reject_mcse",
        "null_true",
    ]
    return out[cols]


def calibration(replications: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Per method, over the whole grid: coverage, type-I error and power with MC errors.

    Each organisation-replication counts once; the Monte-Carlo standard errors are
    binomial over those (replications are independent; organisations within one replication
    share England's estimates, so these errors are slightly optimistic). ``calibrated`` is
    True when coverage and type-I error are each within 2 Monte-Carlo errors (plus 0.01)
    of their nominal values.
    """
    level = replications[replications["analysis"] == "level"].copy()
    level["covered"] = (level["ci_lower"] <= level["truth"]) & (level["truth"] <= level["ci_upper"])
    level["reject"] = level["reject"].astype(float)
    rows = []
    for method, group in level.groupby("method", sort=False):
        null = group[group["effect"] == 0]
        alt = group[group["effect"] != 0]
        cov, t1, pw = group["covered"].mean(), null["reject"].mean(), alt["reject"].mean()
        rows.append(
            {
                "method": method,
                "n": len(group),
                "coverage": cov,
                "coverage_mcse": np.sqrt(cov * (1 - cov) / len(group)),
                "type1_error": t1,
                "type1_mcse": np.sqrt(t1 * (1 - t1) / len(null)),
                "power": pw,
                "power_mcse": np.sqrt(pw * (1 - pw) / max(len(alt), 1)),
            }
        )
    out = pd.DataFrame(rows)
    out["calibrated"] = (
        np.abs(out["coverage"] - (1 - alpha)) <= 2 * out["coverage_mcse"] + 0.01
    ) & (np.abs(out["type1_error"] - alpha) <= 2 * out["type1_mcse"] + 0.01)
    order = {m: k for k, m in enumerate(LEVEL_METHODS)}
    return out.sort_values("method", key=lambda s: s.map(order), ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    """Run replications ``batch * replications ...`` and write them to ``--output`` (CSV)."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis.indicators.simulation",
        description="One batch of the SYNTHETIC simulation study (issue 14).",
    )
    parser.add_argument("--batch", type=int, required=True, help="batch number, from 0")
    parser.add_argument("--replications", type=int, default=50, help="replications per batch")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="base seed")
    parser.add_argument("--sd", type=float, action="append", help="overdispersion SD(s)")
    parser.add_argument("--effect", type=float, action="append", help="designed effect(s)")
    parser.add_argument("--size", type=int, action="append", help="organisation size(s)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level")
    parser.add_argument("--output", required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.batch < 0 or args.replications < 1 or not 0 < args.alpha < 1:
        print(
            f"error: --batch {args.batch} must be >= 0, --replications {args.replications} >= 1 "
            f"and --alpha {args.alpha} between 0 and 1",
            file=sys.stderr,
        )
        return 2
    frame = simulate(
        args.replications,
        seed=args.seed,
        start=args.batch * args.replications,
        sds=tuple(args.sd) if args.sd else SDS,
        effects=tuple(args.effect) if args.effect else EFFECTS,
        sizes=tuple(args.size) if args.size else SIZES,
        alpha=args.alpha,
    )
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    frame.to_csv(tmp, index=False, lineterminator="\n")  # full precision: batches = serial
    tmp.replace(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
