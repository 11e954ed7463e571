"""Simulation study of the quality-indicator methods: which are calibrated, and where not.

SYNTHETIC by construction: method recovery, never a study finding. Every replication of
every scenario (:mod:`analysis.indicators.synthetic.simulation_design`: outlying practices and
organisations, small and unequal denominators, a rare outcome, a skewed QOF-like score,
membership turnover, organisations of 1 to 60 practices) is analysed with every method
(:mod:`analysis.indicators.synthetic.simulation_fits`): the level test with each overdispersion
adjustment and between-practice variance estimator, the trend models (pooled, stable members,
practice fixed effects; normal or t reference), the variation tests and the performance
scores.

:func:`simulate` runs replications ``start ... start + replications - 1`` of each scenario,
each replication from its own seed
(:func:`~analysis.indicators.synthetic.simulation_design.replication_seed`: the scenario's index and
the replication's), so any batching gives the same numbers. It returns **moments**: for each
scenario, analysis, method, cell (organisation size and designed effect, or a pooled group of them)
and quantity (``covered``, ``reject``, ``error``, ``error_sq``, ``rho``...), the per-replication
sums ``x_r`` over the cell's units and their count ``n_r``, summed over replications as ``n = sum
n_r``, ``total = sum x_r``, ``total_sq = sum x_r^2``, ``cross = sum x_r n_r``, ``n_sq = sum n_r^2``
and ``replications`` (those with ``n_r > 0``). Batches add up column by column, and the Monte-Carlo
standard errors clustered by replication (organisations of one replication share England's estimate)
follow from them (:func:`analysis.indicators.synthetic.simulation_report.summarise`).

``python -m analysis.indicators.synthetic.simulation`` runs one batch and writes its moments to a
CSV: the command the ``simulation`` sweep of ``pipeline.yml`` runs on Dask.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.commandline import CommandParser
from analysis.indicators.synthetic import simulation_design as sd
from analysis.indicators.synthetic import simulation_fits as sf
from analysis.paths import path_argument

COLUMNS = [
    "scenario",
    "analysis",
    "method",
    "size",
    "effect",
    "quantity",
    "replications",
    "n",
    "total",
    "total_sq",
    "cross",
    "n_sq",
]
DEFAULT_SEED = sd.DEFAULT_SEED
CHUNK = 125
"""Replications analysed together (arrays of replications x practices x years)."""


def _label(value: float) -> str:
    return "0" if value == 0 else f"{value:+g}"


def organisation_cells(plan: sd.Design, analysis: str) -> list[tuple[int, str, np.ndarray]]:
    """The cells an organisation-level outcome is summarised over: ``(size, effect, units)``.

    ``size`` 0 is every size; ``effect`` is ``all``, ``null`` (no designed effect),
    ``non-null`` or one designed effect (``+0.25``...). In the level analysis an
    organisation whose members join or leave has a designed level that is no longer
    England's whatever its effect (its joiners are better practices): it is labelled
    ``turnover``, in neither the null nor the non-null group.
    """
    effect = plan.level_effect if analysis == "level" else plan.trend_effect
    labels = np.array([_label(round(e, 6)) for e in effect], dtype=object)
    if analysis == "level":
        is_member = plan.member[:, :, None] == np.arange(plan.organisations)
        changing = (is_member.any(axis=1) & ~is_member.all(axis=1)).any(axis=0)
        labels = np.where(changing, "turnover", labels)
    units = np.arange(plan.organisations)
    cells = [
        (0, "all", units),
        (0, "null", units[labels == "0"]),
        (0, "non-null", units[(labels != "0") & (labels != "turnover")]),
    ]
    for size in sorted(set(plan.org_size)):
        at = plan.org_size == size
        cells.append((int(size), "all", units[at]))
        for label in sorted(set(labels[at])):
            cells.append((int(size), label, units[at & (labels == label)]))
    return [c for c in cells if len(c[2])]


class Moments:
    """Running sums of per-replication cell totals (see the module notes)."""

    def __init__(self) -> None:
        self.sums: dict[tuple, np.ndarray] = {}

    def add(self, key: tuple, values: np.ndarray, cells: list[tuple[int, str, np.ndarray]]):
        """Add ``values`` (replications x units; NaN = no result) for each cell."""
        present = np.isfinite(values)
        filled = np.where(present, values, 0.0)
        for size, effect, units in cells:
            x = filled[:, units].sum(axis=1)
            n = present[:, units].sum(axis=1).astype(float)
            row = np.array([(n > 0).sum(), n.sum(), x.sum(), (x * x).sum(), (x * n).sum(),
                            (n * n).sum()])  # fmt: skip
            full = (*key[:3], size, effect, key[3])
            self.sums[full] = self.sums.get(full, 0.0) + row

    def frame(self) -> pd.DataFrame:
        rows = [(*key, *values) for key, values in self.sums.items()]
        out = pd.DataFrame(rows, columns=COLUMNS)
        return out.astype({"replications": int, "size": int})


def _analyse(
    moments: Moments,
    item: sd.Scenario,
    plan: sd.Design,
    groups: tuple[sf.Groups, sf.Groups],
    y: np.ndarray,
    n: np.ndarray,
    alpha: float,
) -> None:
    level, tau2, scores = sf.level_results(plan, y, n, alpha)
    trend = sf.trend_results(plan, *groups, y, n, alpha)
    for analysis, outcome in (("level", level), ("trend", trend)):
        cells = organisation_cells(plan, analysis)
        for method in outcome.covered:
            error = outcome.error[method]
            for quantity, values in (
                ("covered", outcome.covered[method]),
                ("reject", outcome.reject[method]),
                ("error", error),
                ("error_sq", error**2),
            ):
                moments.add((item.name, analysis, method, quantity), values, cells)
    whole = [(0, "all", np.array([0]))]
    for method, estimate in tau2.items():
        error = (estimate - plan.true_tau2)[:, None]
        for quantity, values in (("error", error), ("error_sq", error**2),
                                 ("truth", np.full_like(error, plan.true_tau2))):  # fmt: skip
            moments.add((item.name, "tau2", method, quantity), values, whole)
    if not item.turnover:  # with turnover the spread of member practices changes by design
        tested = plan.org_size >= 2
        cells = [(0, "all", np.flatnonzero(tested))]
        cells += [(int(s), "all", np.flatnonzero(plan.org_size == s)) for s in
                  sorted(set(plan.org_size[tested]))]  # fmt: skip
        for method, values in sf.variation_results(plan, y, n, alpha).reject.items():
            moments.add((item.name, "variation", method, "reject"), values, cells)
    labels = [_label(sign * sd.LEVEL_EFFECT) for sign in sf.SCORE_EFFECTS]
    cells = [(0, "non-null", np.arange(len(labels)))]
    cells += [(0, label, np.array([k])) for k, label in enumerate(labels)]
    for method, rho in sf.score_results(plan, scores).items():
        moments.add((item.name, "score", method, "rho"), rho, cells)


def simulate(
    replications: int,
    *,
    seed: int = DEFAULT_SEED,
    start: int = 0,
    scenarios: Sequence[str] | None = None,
    alpha: float = 0.05,
    chunk: int = CHUNK,
) -> pd.DataFrame:
    """Moments of replications ``start ... start + replications - 1`` of each scenario.

    Parameters
    ----------
    replications, start
        How many replications, and the index of the first (the seeds follow the index).
    seed
        Base seed.
    scenarios
        Names of :data:`~analysis.indicators.synthetic.simulation_design.SCENARIOS` (default all).
    alpha
        Significance level of every test; intervals are ``1 - alpha``.
    chunk
        Replications analysed at once (memory, not results, depends on it).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` (see the module notes).
    """
    if replications < 1:
        raise ValueError(f"parameter 'replications': {replications} is not >= 1")
    if not 0 < alpha < 1:
        raise ValueError(f"parameter 'alpha': {alpha} is not between 0 and 1")
    names = [s.name for s in sd.SCENARIOS] if scenarios is None else list(scenarios)
    moments = Moments()
    for name in names:
        item = sd.scenario(name)
        index = sd.SCENARIOS.index(item)
        plan = sd.design(item)
        groups = (sf.trend_groups(plan, stable=True), sf.trend_groups(plan, stable=False))
        for first in range(start, start + replications, chunk):
            last = min(first + chunk, start + replications)
            seeds = [sd.replication_seed(seed, index, i) for i in range(first, last)]
            y, n = sd.draw(plan, seeds)
            with np.errstate(divide="ignore", invalid="ignore"):
                _analyse(moments, item, plan, groups, y, n, alpha)
    return moments.frame()


def as_prepared(plan: sd.Design, y: np.ndarray, n: np.ndarray, replication: int = 0):
    """One replication as the quality-indicator analyses take it (the output of
    :func:`analysis.indicators.methods.selection.prepare`): indicator ``SIM01``, years from 2009."""
    practices, years = plan.member.shape
    member = plan.member.ravel()
    frame = pd.DataFrame(
        {
            "practice_code": np.repeat([f"P{p:05d}" for p in range(practices)], years),
            "year": np.tile(2009 + np.arange(years), practices),
            "indicator_id": "SIM01",
            "numerator": y[replication].ravel(),
            "denominator": np.repeat(n[replication], years),
            "organisation_id": np.where(member >= 0, [f"ORG{m:02d}" for m in member], None),
            "domain": "prescribing",
            "distribution": "binomial",
            "higher_is_better": True,
        }
    )
    frame["rate"] = frame["numerator"] / frame["denominator"]
    return frame.sort_values(["indicator_id", "year", "practice_code"], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    """Run replications ``batch * replications ...`` and write their moments (CSV)."""
    parser = CommandParser(
        "analysis.indicators.synthetic.simulation",
        description="One batch of the SYNTHETIC simulation study of the indicator methods.",
    )
    parser.add_argument("--batch", type=int, required=True, help="batch number, from 0")
    parser.add_argument("--replications", type=int, default=50, help="replications per batch")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="base seed")
    parser.add_argument("--scenario", action="append", help="scenario name(s); default all")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level")
    parser.add_argument("--output", type=path_argument, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    if args.batch < 0 or args.replications < 1 or not 0 < args.alpha < 1:
        print(
            f"error: --batch {args.batch} must be >= 0, --replications {args.replications} >= 1 "
            f"and --alpha {args.alpha} between 0 and 1",
            file=sys.stderr,
        )
        return 2
    known = [s.name for s in sd.SCENARIOS]
    unknown = [s for s in args.scenario or [] if s not in known]
    if unknown:
        print(f"error: --scenario {unknown[0]!r} is not one of {', '.join(known)}", file=sys.stderr)
        return 2
    frame = simulate(
        args.replications,
        seed=args.seed,
        start=args.batch * args.replications,
        scenarios=args.scenario,
        alpha=args.alpha,
    )
    path = Path(args.output)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    frame.to_csv(tmp, index=False, lineterminator="\n")  # full precision: batches add up
    tmp.replace(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
