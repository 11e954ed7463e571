"""The scenarios of the simulation study and the SYNTHETIC populations they draw.

Every scenario is the same design, a national population of practices observed for
:data:`YEARS` years and organisations of the sizes of today's primary care networks
(:data:`SIZES`, 1 to 60 practices), with one thing changed that could make a method fail
(:data:`SCENARIOS`). Each organisation size has :data:`ORGANISATION_EFFECTS` organisations:
two with no designed effect (the nulls behind type-I errors) and one each with a designed
better and worse level (``LEVEL_EFFECT`` on the logit scale) and trend (``TREND_EFFECT``
a year, within each member practice).

A practice-year's rate is ``expit(base + trend t + org + u + e)``: ``trend`` is England's
annual change, ``org`` the organisation's designed level and trend while the practice is a
member, ``u`` the practice's effect (normal, normal with outlying practices, or skewed) and
``e`` a practice-year effect. With membership turnover, the practices that join an
organisation are drawn from the better half of the practice effects and those that leave
from the worse half, so England's spread of practices is unchanged while an organisation's
pooled rate improves by turnover alone. Counts are binomial out of lognormal denominators,
or, for a QOF-like score, the share of 635 points itself (a continuous outcome, no binomial
noise).

:func:`design` builds a scenario's fixed structure (who is a member of what, when) and its
designed truths (expected rates by quadrature); :func:`draw` the random part of a batch of
replications, each from its own seed (:func:`replication_seed`), so any batching of the
replications gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

YEARS = 5
SIZES = (1, 2, 3, 5, 8, 13, 30, 60)
ORGANISATION_EFFECTS = (0, 0, 1, -1)
"""Designed effect of the organisations of each size, in units of the effect sizes."""
LEVEL_EFFECT = 0.25
TREND_EFFECT = 0.04
NATIONAL_TREND = -0.05
N_NATIONAL = 1500
QOF_POINTS = 635.0
DEFAULT_SEED = 20260101

_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()


@dataclass(frozen=True)
class Scenario:
    """One data-generating configuration (see :data:`SCENARIOS`)."""

    name: str
    description: str
    base_rate: float = 0.30
    practice_sd: float = 0.3
    year_sd: float = 0.1
    outlier_share: float = 0.0
    outlier_shift: float = 0.0
    skew: float = 0.0
    score: bool = False
    denominator_median: float = 500.0
    denominator_sdlog: float = 0.5
    denominator_range: tuple[float, float] = (50.0, 5000.0)
    outlying_organisations: tuple[float, ...] = ()
    turnover: bool = False

    @property
    def base(self) -> float:
        return float(np.log(self.base_rate / (1 - self.base_rate)))


SCENARIOS = (
    Scenario("reference", "binomial, rate 0.30, denominators about 500, practice SD 0.3"),
    Scenario(
        "outlying_practices",
        "as reference, and 5% of practices moved by 1.5 on the logit scale (either way)",
        outlier_share=0.05,
        outlier_shift=1.5,
    ),
    Scenario(
        "outlying_organisations",
        "as reference, and two organisations of 30 practices 1.0 better and worse",
        outlying_organisations=(1.0, -1.0),
    ),
    Scenario(
        "small_denominators",
        "as reference with small, unequal denominators (median 40, 3 to 3,000)",
        denominator_median=40.0,
        denominator_sdlog=1.0,
        denominator_range=(3.0, 3000.0),
    ),
    Scenario("rare_outcome", "as reference with rate 0.01 (about 5 events a year)", base_rate=0.01),
    Scenario(
        "skewed_score",
        "QOF-like share of 635 points: mean about 0.92, SD 0.06, skewed to the left",
        base_rate=0.9276,
        practice_sd=0.6,
        year_sd=0.15,
        skew=0.2,
        score=True,
    ),
    Scenario(
        "turnover",
        "as reference, with better practices joining and worse ones leaving",
        turnover=True,
    ),
)
"""The scenarios, each run with its own seeds; names are the tables' ``scenario`` column."""


def scenario(name: str) -> Scenario:
    """The scenario called ``name`` (ValueError naming the known ones otherwise)."""
    for item in SCENARIOS:
        if item.name == name:
            return item
    known = ", ".join(s.name for s in SCENARIOS)
    raise ValueError(f"parameter 'scenario': unknown value {name!r}; expected {known}")


def replication_seed(base_seed: int, scenario_index: int, replication: int) -> int:
    """Seed of one replication of one scenario: independent streams from one base seed."""
    state = np.random.SeedSequence([base_seed, scenario_index, replication])
    return int(state.generate_state(1)[0])


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _skewed(z: np.ndarray, sd: float, skew: float) -> np.ndarray:
    """Left-skewed practice effects with mean 0 and SD ``sd``: ``-sd`` x standardised lognormal."""
    if skew == 0:
        return sd * z
    mean, var = np.exp(skew**2 / 2), (np.exp(skew**2) - 1) * np.exp(skew**2)
    return -sd * (np.exp(skew * z) - mean) / np.sqrt(var)


def deviation_nodes(item: Scenario, half: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights of ``u + e`` (practice and practice-year effects);
    ``half`` +1 or -1 for practices from the better or worse half (joiners, leavers)."""
    z, wz = _GH_NODES, _GH_WEIGHTS
    if half:  # the half-normal: Gauss-Legendre on (0, 9) (folding Hermite nodes converges slowly)
        x, w = np.polynomial.legendre.leggauss(80)
        z = 4.5 * (x + 1)
        wz = 4.5 * w * 2 * np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
        z, wz = half * z, wz / wz.sum()
    u = _skewed(z, item.practice_sd, item.skew)
    nodes = (u[:, None] + item.year_sd * _GH_NODES[None, :]).ravel()
    weights = np.outer(wz, _GH_WEIGHTS).ravel()
    if item.outlier_share:
        share = item.outlier_share
        nodes = np.concatenate([nodes, nodes + item.outlier_shift, nodes - item.outlier_shift])
        weights = np.concatenate([(1 - share) * weights, share / 2 * weights, share / 2 * weights])
    return nodes, weights


@dataclass(frozen=True)
class Design:
    """A scenario's fixed structure: practices, organisations, membership and truths."""

    scenario: Scenario
    member: np.ndarray
    """``practices x years``: the organisation (index) each practice belongs to, -1 none."""
    half: np.ndarray
    """Per practice: +1 drawn from the better half of practice effects (a joiner), -1 from
    the worse half (a leaver), 0 from all."""
    org_size: np.ndarray
    """Per organisation: member practices in the last year."""
    level_effect: np.ndarray
    trend_effect: np.ndarray
    eta: np.ndarray
    """``practices x years``: designed logit without the random practice effects."""
    expected: np.ndarray
    """``practices x years``: each practice-year's expected rate (over ``u + e``)."""
    true_tau2: float
    """Between-practice variance of the practices' true rates in the last year."""

    @property
    def practices(self) -> int:
        return self.member.shape[0]

    @property
    def organisations(self) -> int:
        return len(self.org_size)


def design(item: Scenario) -> Design:
    """The fixed structure of ``item`` (see the module notes)."""
    sizes, effects = [], []
    for size in SIZES:
        for sign in ORGANISATION_EFFECTS:
            sizes.append(size)
            effects.append(float(sign))
    for effect in item.outlying_organisations:
        sizes.append(30)
        effects.append(effect / LEVEL_EFFECT)
    member_rows, half = [np.full((N_NATIONAL, YEARS), -1)], [np.zeros(N_NATIONAL, dtype=int)]
    for org, size in enumerate(sizes):
        joiners = int(np.floor(0.25 * size + 0.5)) if item.turnover and size > 2 else 0
        leavers = int(np.floor(0.15 * size + 0.5)) if item.turnover and size > 2 else 0
        rows = np.full((size + leavers, YEARS), org)
        rows[size - joiners : size, :2] = -1  # joiners are members from the third year
        rows[size:, 3:] = -1  # leavers are members for the first three years
        member_rows.append(rows)
        kind = np.zeros(size + leavers, dtype=int)
        kind[size - joiners : size] = 1
        kind[size:] = -1
        half.append(kind)
    member = np.vstack(member_rows)
    half = np.concatenate(half)
    level = LEVEL_EFFECT * np.array(effects)
    trend = TREND_EFFECT * np.sign(effects)
    t = np.arange(YEARS)
    is_member = member >= 0
    org = np.where(is_member, member, 0)
    eta = item.base + NATIONAL_TREND * t[None, :] + np.zeros((len(half), 1))
    eta = eta + np.where(is_member, level[org] + trend[org] * t[None, :], 0.0)
    expected, second = np.empty_like(eta), np.empty_like(eta)
    for kind in np.unique(half):
        nodes, weights = deviation_nodes(item, int(kind))
        rows = half == kind
        distinct, index = np.unique(eta[rows], return_inverse=True)
        values = _expit(distinct[:, None] + nodes[None, :])
        expected[rows] = (values @ weights)[index].reshape(-1, YEARS)
        second[rows] = (values**2 @ weights)[index].reshape(-1, YEARS)
    true_tau2 = float(second[:, -1].mean() - expected[:, -1].mean() ** 2)
    return Design(
        scenario=item,
        member=member,
        half=half,
        org_size=np.array(sizes),
        level_effect=level,
        trend_effect=trend,
        eta=eta,
        expected=expected,
        true_tau2=true_tau2,
    )


def _practice_effects(rng: np.random.Generator, item: Scenario, half: np.ndarray) -> np.ndarray:
    z = rng.standard_normal(len(half))
    z = np.where(half == 0, z, half * np.abs(z))
    u = _skewed(z, item.practice_sd, item.skew)
    count = len(half)
    if item.outlier_share:
        outlying = rng.random(count) < item.outlier_share
        sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
        u = u + outlying * sign * item.outlier_shift
    return u


def draw(plan: Design, seeds: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``y`` (replications x practices x years) and denominators (replications x
    practices) of one replication per seed."""
    item = plan.scenario
    shape = plan.eta.shape
    y = np.empty((len(seeds), *shape))
    n = np.empty((len(seeds), shape[0]))
    low, high = item.denominator_range
    for r, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        u = _practice_effects(rng, item, plan.half)
        e = rng.normal(0.0, item.year_sd, shape)
        rate = _expit(plan.eta + u[:, None] + e)
        if item.score:
            n[r] = QOF_POINTS
            y[r] = QOF_POINTS * rate
        else:
            size = rng.normal(np.log(item.denominator_median), item.denominator_sdlog, shape[0])
            n[r] = np.clip(np.round(np.exp(size)), low, high)
            y[r] = rng.binomial(n[r].astype(np.int64)[:, None], rate)
    return y, n
