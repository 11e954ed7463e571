"""The quality-indicator methods applied to many SYNTHETIC replications at once.

Each function takes a batch of replications of one scenario
(:mod:`analysis.indicators.synthetic.simulation_design`: counts ``y``, replications x practices x
years, and denominators ``n``) and returns, per replication and organisation, what a method
concluded. They compute what the chapter's own functions compute, vectorised across
replications with numpy so that thousands of replications cost seconds (the tests check
each against :func:`~analysis.indicators.methods.comparison.compare_to_national`,
:func:`~analysis.indicators.methods.trends.trend_models` and
:func:`~analysis.indicators.methods.variation.variation_trend` on one replication):

:func:`level_results`
    The organisation's pooled rate against England in the last year, without adjustment
    (Wilson interval), with the multiplicative and with the additive adjustment for each
    between-practice variance estimator (:data:`LEVEL_METHODS`).
:func:`trend_results`
    The organisation's annual log odds ratio against the rest of England's, pooled (as
    published), pooled over the practices that are members every year (``stable``) and with
    practice fixed effects, each judged against the normal or the t reference
    (:data:`TREND_METHODS`).
:func:`variation_results`
    The slope test over years of the CV of member practices' rates and of their link-scale
    between-practice variance.
:func:`score_results`
    Spearman correlation of organisation size with the published score (adjusted z) and
    the size-neutral one (link-scale effect), among organisations of one designed effect.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats as sps

from analysis.core import stats
from analysis.indicators.methods.trend_fe import welch_df
from analysis.indicators.synthetic.simulation_design import LEVEL_EFFECT, Design

LEVEL_METHODS = (
    "none",
    "multiplicative",
    "winsorised",
    "winsorised_rescaled",
    "dl",
    "reml",
    "dl_within",
)
TAU2_METHODS = ("winsorised", "winsorised_rescaled", "dl", "reml", "dl_within")
TREND_METHODS = (
    "pooled, normal",
    "pooled, t",
    "stable, normal",
    "stable, t",
    "practice_fe, normal",
    "practice_fe, t",
)
"""``model, reference``: ``stable`` is the pooled model on practices that are members in
every year (the chapter's ``trend_members = stable``)."""


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


class Outcome(NamedTuple):
    """Per method, replications x units: the interval covers the truth, the test rejects,
    the estimate's error; and the estimate, its standard error and degrees of freedom."""

    covered: dict[str, np.ndarray]
    reject: dict[str, np.ndarray]
    error: dict[str, np.ndarray]
    estimate: dict[str, np.ndarray]
    se: dict[str, np.ndarray]
    df: dict[str, np.ndarray]


def _segments(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order that sorts ``labels`` (>= 0 only) and the first row of each label."""
    order = np.argsort(labels, kind="stable")
    order = order[labels[order] >= 0]
    starts = np.searchsorted(labels[order], np.arange(labels.max() + 1))
    return order, starts


def _group_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, starts, axis=-1)


# --------------------------------------------------------------------------------- levels


def level_results(plan: Design, y: np.ndarray, n: np.ndarray, alpha: float) -> tuple:
    """Every level method for every organisation, in the last year (see module notes).

    Returns
    -------
    tuple
        :class:`Outcome` (replications x organisations), the between-practice variance
        estimates (method -> replications) and the size-neutral and published scores
        (``effect`` and ``z``: replications x organisations).
    """
    year = y.shape[2] - 1
    count = y[:, :, year]
    rate = count / n
    national = count.sum(axis=1) / n.sum(axis=1)
    v = national[:, None] * (1 - national[:, None]) / n
    groups = plan.member[:, year] + 1  # each organisation, and the practices in none
    tau2 = {
        m: stats.between_variance_rows(rate, v, method=m, target=national, groups=groups)
        for m in TAU2_METHODS
    }
    z_all = (rate - national[:, None]) / np.sqrt(v)
    low, high = np.quantile(z_all, [0.1, 0.9], axis=1)
    phi = np.maximum((np.clip(z_all, low[:, None], high[:, None]) ** 2).mean(axis=1), 1.0)
    order, starts = _segments(plan.member[:, year])
    num = _group_sum(count[:, order], starts)
    den = _group_sum(n[:, order], starts)
    herfindahl = _group_sum(n[:, order] ** 2, starts) / den**2
    pooled = num / den
    weights = n[:, order] * plan.expected[order, year][None, :]
    truth_org = _group_sum(weights, starts) / den
    truth_england = (n * plan.expected[:, year][None, :]).sum(axis=1) / n.sum(axis=1)
    truth = truth_org - truth_england[:, None]
    difference = pooled - national[:, None]
    se0 = np.sqrt(national[:, None] * (1 - national[:, None]) / den)
    crit = sps.norm.isf(alpha / 2)
    covered, reject, error, zscores, ses = {}, {}, {}, {}, {}
    for method in LEVEL_METHODS:
        if method == "none":
            lower, upper = stats.wilson_interval(num, den, 1 - alpha)
            lower, upper = lower - national[:, None], upper - national[:, None]
            se = se0
        else:
            if method == "multiplicative":
                se = np.sqrt(phi[:, None] * se0**2)
            else:
                se = np.sqrt(se0**2 + tau2[method][:, None] * herfindahl)
            lower, upper = difference - crit * se, difference + crit * se
        covered[method] = ((lower <= truth) & (truth <= upper)).astype(float)
        reject[method] = (np.abs(difference) / se > crit).astype(float)
        error[method] = difference - truth
        zscores[method] = difference / se
        ses[method] = se
    with np.errstate(divide="ignore"):
        effect = np.log(pooled / (1 - pooled)) - np.log(national / (1 - national))[:, None]
    scores = {"effect": effect, "z": zscores["dl"]}
    estimates = dict.fromkeys(LEVEL_METHODS, difference)
    return Outcome(covered, reject, error, estimates, ses, {}), tau2, scores


# --------------------------------------------------------------------------------- trends


class Groups(NamedTuple):
    """Practice rows of several groups (organisations, the rest of England) stacked."""

    rows: np.ndarray
    """Practice index of each row (rows sorted by group)."""
    mask: np.ndarray
    """Rows x years: the practice-year belongs to the group."""
    group: np.ndarray
    starts: np.ndarray
    pairs: np.ndarray
    """``k x 2``: rows of an organisation and of the rest that are the same practice."""


def trend_groups(plan: Design, *, stable: bool) -> Groups:
    """Rows of each organisation's members (then, with ``stable``, of its members in every
    year), then one group of practices outside every organisation (the rest of England)."""
    member = plan.member
    orgs = plan.organisations
    rows, masks, group = [], [], []
    for org in range(orgs):
        ever = np.flatnonzero((member == org).any(axis=1))
        rows.append(ever), masks.append(member[ever] == org), group.append(np.full(len(ever), org))
    if stable:
        for org in range(orgs):
            always = np.flatnonzero((member == org).all(axis=1))
            rows.append(always), masks.append(np.ones((len(always), member.shape[1]), bool))
            group.append(np.full(len(always), orgs + org))
    outside = np.flatnonzero((member < 0).any(axis=1))
    rows.append(outside), masks.append(member[outside] < 0)
    group.append(np.full(len(outside), orgs * (2 if stable else 1)))
    rows, group = np.concatenate(rows), np.concatenate(group)
    starts = np.searchsorted(group, np.arange(group.max() + 1))
    rest_of = {p: k for k, p in enumerate(rows) if group[k] == group[-1]}
    pairs = [(k, rest_of[p]) for k, p in enumerate(rows) if group[k] < orgs and p in rest_of]
    return Groups(rows, np.vstack(masks), group, starts, np.array(pairs, dtype=int).reshape(-1, 2))


class SlopeFits(NamedTuple):
    """Per replication and group: slope, its variance and clusters; per row: influence."""

    slope: np.ndarray
    variance: np.ndarray
    clusters: np.ndarray
    influence: np.ndarray


def _factor(clusters: np.ndarray, nobs: np.ndarray, k: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = clusters / (clusters - 1) * (nobs - 1) / (nobs - k)
    return np.where(clusters >= 2, factor, np.nan)


def _stacked(groups: Groups, y: np.ndarray, n: np.ndarray):
    """Years first (years x replications x rows), masked: sums over years are then a few
    additions of contiguous arrays, and weighted sums one matrix product."""
    years = y.shape[2]
    mask = groups.mask.T[:, None, :]
    counts = np.ascontiguousarray(y.transpose(2, 0, 1)[:, :, groups.rows]) * mask
    trials = n[None, :, groups.rows] * mask
    return counts, trials, np.arange(years, dtype=float)[:, None, None]


def _year_sums(values: np.ndarray, degree: int) -> list[np.ndarray]:
    """``sum_t t^j values_t`` for ``j = 0 ... degree``, by plain additions (a matrix
    product here would call a multi-threaded BLAS, far slower on a shared machine)."""
    out = []
    for j in range(degree + 1):
        total = values[0] * 0.0**j
        for t in range(1, len(values)):
            total = total + values[t] * float(t**j)
        out.append(total)
    return out


def pooled_slopes(groups: Groups, y: np.ndarray, n: np.ndarray, tol: float = 1e-10) -> SlopeFits:
    """Logit GLM ``a + b t`` per group by Newton-Raphson, practice-clustered (as
    :func:`analysis.indicators.methods.trend_fe.pooled_glm`), for every replication at once."""
    counts, trials, t = _stacked(groups, y, n)
    starts, group = groups.starts, groups.group
    events = _group_sum(counts.sum(axis=0), starts)
    total = _group_sum(trials.sum(axis=0), starts)
    a, b = np.log(events / (total - events)), np.zeros_like(events)
    for _ in range(100):
        p = _expit(a[:, group] + b[:, group] * t)
        s0, s1, s2 = (_group_sum(x, starts) for x in _year_sums(trials * p * (1 - p), 2))
        r0, r1 = (_group_sum(x, starts) for x in _year_sums(counts - trials * p, 1))
        det = s0 * s2 - s1**2
        da, db = (s2 * r0 - s1 * r1) / det, (s0 * r1 - s1 * r0) / det
        a, b = a + da, b + db
        if max(np.nanmax(np.abs(da)), np.nanmax(np.abs(db))) < tol:
            break
    p = _expit(a[:, group] + b[:, group] * t)
    s0, s1, s2 = (_group_sum(x, starts) for x in _year_sums(trials * p * (1 - p), 2))
    q0, q1 = _year_sums(counts - trials * p, 1)
    det = s0 * s2 - s1**2
    clusters = np.diff(np.append(starts, len(group))).astype(float)
    nobs = np.add.reduceat(groups.mask.sum(axis=1), starts).astype(float)
    factor = _factor(clusters, nobs, 2.0)
    influence = (s0[:, group] * q1 - s1[:, group] * q0) / det[:, group]
    influence = influence * np.sqrt(factor)[group]
    variance = _group_sum(influence**2, starts)
    return SlopeFits(b, variance, np.broadcast_to(clusters, b.shape), influence)


def fe_slopes(groups: Groups, y: np.ndarray, n: np.ndarray, tol: float = 1e-10) -> SlopeFits:
    """Logit GLM with practice intercepts and one slope per group (as
    :func:`analysis.indicators.methods.trend_fe.fe_glm`: practices without within-practice
    information left out), for every replication at once."""
    counts, trials, t = _stacked(groups, y, n)
    events, total = counts.sum(axis=0), trials.sum(axis=0)
    keep = (events > 0) & (events < total) & (groups.mask.sum(axis=1) > 1)[None, :]
    counts, trials = counts * keep, trials * keep
    starts, group = groups.starts, groups.group
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(keep, np.log(events / (total - events)), 0.0)
    beta = np.zeros((y.shape[0], len(starts)))
    for _ in range(100):
        p = _expit(alpha + beta[:, group] * t)
        d, c, e = _year_sums(trials * p * (1 - p), 2)
        sa, sb = _year_sums(counts - trials * p, 1)
        ratio = np.divide(c, d, out=np.zeros_like(c), where=d > 0)
        schur = _group_sum(e - ratio * c, starts)
        step_b = _group_sum(sb - ratio * sa, starts) / schur
        step_a = np.divide(sa - c * step_b[:, group], d, out=np.zeros_like(d), where=d > 0)
        alpha, beta = alpha + step_a, beta + step_b
        if max(np.abs(step_a).max(), np.nanmax(np.abs(step_b))) < tol:
            break
    p = _expit(alpha + beta[:, group] * t)
    d, c, e = _year_sums(trials * p * (1 - p), 2)
    sa, sb = _year_sums(counts - trials * p, 1)
    ratio = np.divide(c, d, out=np.zeros_like(c), where=d > 0)
    schur = _group_sum(e - ratio * c, starts)
    clusters = _group_sum(keep.astype(float), starts)
    nobs = _group_sum(keep * groups.mask.sum(axis=1).astype(float), starts)
    factor = _factor(clusters, nobs, clusters + 1)
    influence = (sb - ratio * sa) / schur[:, group] * np.sqrt(factor)[:, group]
    variance = _group_sum(influence**2, starts)
    return SlopeFits(beta, variance, clusters, influence)


def _cross(fits: SlopeFits, pairs: np.ndarray, groups: Groups, organisations: int) -> np.ndarray:
    """Per replication and organisation: the sum over practices in both the organisation's
    and the rest's fit of the products of their influences (the cross-covariance)."""
    if not len(pairs):
        return np.zeros((fits.slope.shape[0], organisations))
    products = fits.influence[:, pairs[:, 0]] * fits.influence[:, pairs[:, 1]]
    which = np.zeros((len(pairs), organisations))
    which[np.arange(len(pairs)), groups.group[pairs[:, 0]]] = 1.0
    return products @ which


def trend_results(
    plan: Design, pooled_groups: Groups, fe_groups: Groups, y: np.ndarray, n: np.ndarray, alpha
) -> Outcome:
    """Every trend method for every organisation (see module notes); the truth is the
    organisation's designed within-practice trend difference (0 for the nulls)."""
    orgs = plan.organisations
    pooled = pooled_slopes(pooled_groups, y, n)
    fixed = fe_slopes(fe_groups, y, n)
    models = {
        "pooled": (pooled, np.arange(orgs), 2 * orgs, _cross(pooled, pooled_groups.pairs,
                                                              pooled_groups, orgs)),
        "stable": (pooled, orgs + np.arange(orgs), 2 * orgs, 0.0),
        "practice_fe": (fixed, np.arange(orgs), orgs, _cross(fixed, fe_groups.pairs, fe_groups,
                                                              orgs)),
    }  # fmt: skip
    truth = plan.trend_effect[None, :]
    covered, reject, error, estimates, ses, dfs = {}, {}, {}, {}, {}, {}
    for model, (fits, own, rest, cross) in models.items():
        difference = fits.slope[:, own] - fits.slope[:, [rest]]
        own_var, rest_var = fits.variance[:, own], fits.variance[:, [rest]]
        se = np.sqrt(np.maximum(own_var + rest_var - 2 * cross, 0.0))
        df = welch_df(own_var, rest_var, fits.clusters[:, own], fits.clusters[:, [rest]])
        valid = np.isfinite(se) & np.isfinite(df) & (se > 0)
        for reference in ("normal", "t"):
            crit = sps.norm.isf(alpha / 2) if reference == "normal" else sps.t.isf(alpha / 2, df)
            method = f"{model}, {reference}"
            inside = np.abs(difference - truth) <= crit * se
            covered[method] = np.where(valid, inside, np.nan)
            reject[method] = np.where(valid, np.abs(difference) > crit * se, np.nan)
            error[method] = np.where(valid, difference - truth, np.nan)
            estimates[method], ses[method], dfs[method] = difference, se, df
    return Outcome(covered, reject, error, estimates, ses, dfs)


# ------------------------------------------------------------------- variation and scores


def variation_results(plan: Design, y: np.ndarray, n: np.ndarray, alpha: float) -> Outcome:
    """Slope tests over years of the CV and of ``tau2_link`` per organisation (2+ members).

    The spread of practice effects is constant over years by design, so every rejection
    is a false positive; NaN where a test cannot be made (a measure constant over years).
    """
    years = y.shape[2]
    measures = {"cv": [], "tau2_link": []}
    for year in range(years):
        order, starts = _segments(plan.member[:, year])
        count, trials = y[:, order, year], n[:, order]
        k = np.diff(np.append(starts, len(order))).astype(float)
        rate = count / trials
        mean = _group_sum(rate, starts) / k
        var = (_group_sum(rate**2, starts) - k * mean**2) / (k - 1)
        measures["cv"].append(np.sqrt(np.maximum(var, 0.0)) / mean)
        x = count + 0.5
        other = trials - x + 1.0
        link, w = np.log(x / other), 1 / (1 / x + 1 / other)
        sw, swy = _group_sum(w, starts), _group_sum(w * link, starts)
        q = _group_sum(w * link**2, starts) - swy**2 / sw
        tau2 = np.maximum(q - (k - 1), 0.0) / (sw - _group_sum(w**2, starts) / sw)
        measures["tau2_link"].append(tau2)
    t = np.arange(years, dtype=float)
    sxx = ((t - t.mean()) ** 2).sum()
    reject = {}
    for name, values in measures.items():
        values = np.stack(values, axis=2)
        centred = values - values.mean(axis=2, keepdims=True)
        sxy = (centred * (t - t.mean())).sum(axis=2)
        slope = sxy / sxx
        residual = np.maximum((centred**2).sum(axis=2) - slope * sxy, 0.0) / (years - 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            statistic = slope / np.sqrt(residual / sxx)
        p = 2 * sps.t.sf(np.abs(statistic), years - 2)
        tested = np.isfinite(p) & (plan.org_size >= 2)[None, :]
        reject[name] = np.where(tested, p < alpha, np.nan)
    return Outcome({}, reject, {}, {}, {}, {})


def score_results(plan: Design, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Spearman correlation of size with each score, per designed non-zero level effect.

    Returns method -> replications x effects (the effects in :data:`SCORE_EFFECTS`
    order), each score signed by its effect so that a size-neutral score has rho 0.
    """
    out = {}
    for method, score in scores.items():
        rhos = []
        for sign in SCORE_EFFECTS:
            which = np.flatnonzero(np.isclose(plan.level_effect, sign * LEVEL_EFFECT))
            sizes = plan.org_size[which].astype(float)
            size_rank = np.argsort(np.argsort(sizes)).astype(float)
            signed = sign * score[:, which]
            rank = np.argsort(np.argsort(signed, axis=1), axis=1).astype(float)
            rhos.append(_pearson(rank, size_rank))
        out[method] = np.stack(rhos, axis=1)
    return out


SCORE_EFFECTS = (1.0, -1.0)


def _pearson(rows: np.ndarray, reference: np.ndarray) -> np.ndarray:
    a = rows - rows.mean(axis=1, keepdims=True)
    b = reference - reference.mean()
    return (a * b).sum(axis=1) / np.sqrt((a**2).sum(axis=1) * (b**2).sum())
