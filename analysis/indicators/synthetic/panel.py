"""The SYNTHETIC national practice panel (illustrative; not study data) and its planted truth.

:func:`generate_panel` draws about 7,000 practices x 6 years x 15 indicators. For practice
``p`` in year ``t`` and indicator ``i`` the linear predictor on the link scale (log for
``poisson`` indicators, logit for ``binomial``) is::

    eta = national_level[i] + national_trend[i] * (t - 2009)
          + u[p, i]                                   # between-practice, SD between_practice_sd
          + e[p, t, i]                                # practice-year noise, SD practice_year_sd
          + level_log_ratio[o, i] + trend_log_ratio[o, i] * (t - 2009)   # if p in o in year t

* List sizes in 2013 are drawn from the REAL 2013 distribution of practice list sizes
  (HSCIC; two-sample KS distance about 0.02; :func:`calibrated_list_sizes`) and grow about
  1% a year (``list_sizes="lognormal"`` gives the earlier lognormal, median 6,800); rate
  indicators count events among registered patients
  (numerator ~ Poisson(list size x rate)).
* Broad-spectrum antibiotic items are binomial out of the practice's antibacterial items;
  emergency readmissions are binomial out of discharges (Poisson, about 10% of the list);
  QOF points are binomial out of illustrative points available (1,000 total, 650 clinical,
  170 organisational: not the real QOF maxima); GP patient survey items are binomial out of
  the respondents to each item (about 118 respondents per practice, 100-115 per item).
* Forty small networks ``NET01``-``NET40`` of 2 to 10 practices (like primary care
  networks), members throughout, with no effect on any indicator (``small_networks``).
* Eight organisations of 12 to 100 practices; founding members joined 2004-2009, about a
  fifth of the final members joined during 2010-2014, about 6% left, and two practices
  moved from one organisation to another. ORG01-ORG03 are flagged as case-study sites.
* The published findings {cite}`rosen2016bigger` are the truth: prescribing improves
  nationally and six of eight organisations improve faster (``trend_log_ratio`` -0.04 a
  year, i.e. better for these lower-is-better indicators), some from a worse level;
  hospital use and patient satisfaction deteriorate nationally and every organisation
  follows the national trend (``trend_log_ratio`` 0); QOF has no trend and four of eight
  organisations are better (``level_log_ratio`` +0.4 on the logit scale); the three
  case-study organisations are better on more than half of the 15 indicators, no
  organisation is better (or worse) on all; between-practice spread (``u``) is constant
  over time, so variation between member practices does not fall; organisation effects
  are set without regard to size, form or rurality (no association).
* The truth table lists, per indicator, the national parameters (``organisation_id``
  ``ENGLAND``: ``national_level``, ``national_trend``, ``between_practice_sd``,
  ``practice_year_sd``) and per organisation ``level_log_ratio``, ``trend_log_ratio`` and
  ``mean_practice_effect`` (the mean ``u`` of the practices that were ever members: the
  finite-sample part of an organisation's level that is not in ``level_log_ratio``).
  Effects are conditional (practice-level) on the link scale; a population-averaged logit
  GLM estimates them attenuated by roughly ``1 / sqrt(1 + 0.346 * sd**2)``, a log-link GLM
  does not attenuate trends.

The stored copy lives in ``data/indicators/synthetic/`` (``observations.csv.gz``,
``membership.csv``, ``organisations.csv``, ``truth.csv``);
``python -m analysis.indicators.synthetic.panel --write`` regenerates it byte-identically from the
default seed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.commandline import CommandParser
from analysis.core.datasets import write_csv
from analysis.indicators.sources.contract import (
    FIRST_YEAR,
    LAST_YEAR,
    MEMBERSHIP_SCHEMA,
    NATIONAL,
    ORGANISATION_SCHEMA,
    TRUTH_PARAMETERS,
    TRUTH_SCHEMA,
    YEARS,
    year_window,
)
from analysis.indicators.sources.panel import (
    SYNTHETIC_FILES,
    Panel,
    read_catalogue,
    synthetic_dir,
    write_observations,
)
from analysis.paths import path_argument

DEFAULT_SEED = 20160701
MIN_LIST = 500

# indicator -> national level at 2009 (link scale), national trend per year, between-practice SD,
# practice-year SD and what the denominator counts. Levels are illustrative round numbers.
_DGP = {
    "PRE01": (np.log(0.65), -0.02, 0.20, 0.05, "list"),
    "PRE02": (np.log(0.20 / 0.80), -0.05, 0.30, 0.05, "PRE01"),
    "PRE03": (np.log(0.12), -0.02, 0.35, 0.05, "list"),
    "PRE04": (np.log(0.30), -0.04, 0.25, 0.05, "list"),
    "HOS01": (np.log(0.090), 0.02, 0.20, 0.04, "list"),
    "HOS02": (np.log(0.014), 0.02, 0.25, 0.05, "list"),
    "HOS03": (np.log(0.30), 0.03, 0.25, 0.04, "list"),
    "HOS04": (np.log(0.12 / 0.88), 0.02, 0.15, 0.05, "discharges"),
    "QOF01": (np.log(0.96 / 0.04), 0.0, 0.50, 0.10, "points:1000"),
    "QOF02": (np.log(0.95 / 0.05), 0.0, 0.50, 0.10, "points:650"),
    "QOF03": (np.log(0.97 / 0.03), 0.0, 0.60, 0.10, "points:170"),
    "SAT01": (np.log(0.80 / 0.20), -0.08, 0.60, 0.10, "survey:0.97"),
    "SAT02": (np.log(0.88 / 0.12), -0.05, 0.40, 0.10, "survey:0.95"),
    "SAT03": (np.log(0.40 / 0.60), -0.05, 0.50, 0.10, "survey:0.90"),
    "SAT04": (np.log(0.80 / 0.20), -0.03, 0.30, 0.10, "survey:0.96"),
}

# organisation_id -> label, form, target members in 2014, CCGs spanned, rurality, case study
_ORGANISATIONS = {
    "ORG01": ("Synthetic multisite A", "multisite", 20, 12, "urban", True),
    "ORG02": ("Synthetic federation B", "federation", 21, 1, "urban", True),
    "ORG03": ("Synthetic super-partnership C", "super-partnership", 16, 3, "urban", True),
    "ORG04": ("Synthetic federation D", "federation", 100, 3, "mixed", False),
    "ORG05": ("Synthetic network E", "network", 55, 2, "rural", False),
    "ORG06": ("Synthetic federation F", "federation", 38, 1, "mixed", False),
    "ORG07": ("Synthetic network G", "network", 27, 1, "rural", False),
    "ORG08": ("Synthetic multisite H", "multisite", 12, 4, "urban", False),
}
_CASE_STUDIES = ("ORG01", "ORG02", "ORG03")
_PRESCRIBING = ("PRE01", "PRE02", "PRE03", "PRE04")


def _organisation_effects(organisations: dict | None = None) -> pd.DataFrame:
    """True organisation effects (link scale) encoding the published findings.

    Organisations beyond the study's eight (small networks) have no effect on anything.
    """
    rows = []
    for org in organisations or _ORGANISATIONS:
        if org not in _ORGANISATIONS:
            rows += [(org, ind, 0.0, 0.0) for ind in _DGP]
            continue
        for ind in _DGP:
            level, trend = 0.0, 0.0
            if ind in _PRESCRIBING:
                trend = -0.04 if org not in ("ORG07", "ORG08") else 0.0
                level = {"ORG04": 0.10, "ORG05": 0.10}.get(
                    org, -0.05 if org in _CASE_STUDIES else 0
                )
            elif ind.startswith("QOF"):
                level = {"ORG01": 0.4, "ORG02": 0.4, "ORG03": 0.4, "ORG06": 0.4, "ORG08": -0.3}.get(
                    org, 0.0
                )
            elif org in _CASE_STUDIES and ind in ("HOS01", "HOS03"):
                level = -0.10
            elif org in _CASE_STUDIES and ind in ("SAT02", "SAT04"):
                level = 0.20
            else:
                level = {("ORG08", "HOS01"): 0.10, ("ORG04", "SAT01"): -0.20}.get((org, ind), 0.0)
                level = {("ORG07", "SAT03"): 0.20}.get((org, ind), level)
            rows.append((org, ind, float(level), float(trend)))
    return pd.DataFrame(rows, columns=["organisation_id", "indicator_id", "level", "trend"])


def _draw_membership(rng: np.random.Generator, n_practices: int) -> pd.DataFrame:
    """Membership spells: founders, joiners, leavers and two practices that move."""
    sizes = [spec[2] for spec in _ORGANISATIONS.values()]
    extra = [round(0.06 * n) for n in sizes]
    needed = sum(sizes) + sum(extra)
    if n_practices < 2 * needed:
        raise ValueError(f"n_practices={n_practices} is too small; need at least {2 * needed}")
    chosen = rng.choice(n_practices, size=needed, replace=False)
    rows, start = [], 0
    for org, n, n_leave in zip(_ORGANISATIONS, sizes, extra, strict=True):
        ids = chosen[start : start + n + n_leave]
        start += n + n_leave
        n_join = round(0.2 * n)
        joined = rng.integers(2004, FIRST_YEAR + 1, size=len(ids))
        joined[:n_join] = rng.integers(FIRST_YEAR + 1, LAST_YEAR + 1, size=n_join)
        left = np.full(len(ids), -1)
        left[n_join : n_join + n_leave] = rng.integers(FIRST_YEAR + 1, LAST_YEAR + 1, size=n_leave)
        rows += [(int(i), org, int(j), int(k)) for i, j, k in zip(ids, joined, left, strict=True)]
    frame = pd.DataFrame(rows, columns=["practice", "organisation_id", "joined", "left"])
    movers = frame.index[(frame["organisation_id"] == "ORG05") & (frame["left"] < 0)][-2:]
    frame.loc[movers, "left"] = 2012
    moved = frame.loc[movers].assign(organisation_id="ORG07", joined=2012, left=-1)
    frame = pd.concat([frame, moved], ignore_index=True)
    frame["left"] = frame["left"].where(frame["left"] > 0).astype("Int64")
    frame["joined"] = frame["joined"].astype("Int64")
    return frame


def _member_matrix(membership: pd.DataFrame, n_practices: int, orgs: list[str]) -> np.ndarray:
    """Organisation index (or -1) of every practice in every year, shape (practices, years)."""
    matrix = np.full((n_practices, len(YEARS)), -1)
    for t, year in enumerate(YEARS):
        members = membership[
            (membership["joined"] <= year) & (membership["left"].fillna(9999) > year)
        ]
        matrix[members["practice"].to_numpy(), t] = members["organisation_id"].map(
            {o: k for k, o in enumerate(orgs)}
        )
    return matrix


def _denominators(
    kind: str, rng: np.random.Generator, lists: np.ndarray, responses: np.ndarray, counts: dict
) -> np.ndarray:
    if kind == "list":
        return lists
    if kind in counts:
        return np.maximum(counts[kind], 1)
    if kind == "discharges":
        return np.maximum(rng.poisson(0.10 * lists), 1)
    name, _, value = kind.partition(":")
    if name == "points":
        return np.full(lists.shape, int(value))
    return np.maximum(rng.binomial(responses, float(value)), 1)


def _draw_small_networks(
    rng: np.random.Generator, spells: pd.DataFrame, n_practices: int, count: int
) -> tuple[pd.DataFrame, dict]:
    """``count`` small networks of 2 to 10 practices, like PCNs, members from 2009 on."""
    free = np.setdiff1d(np.arange(n_practices), spells["practice"].to_numpy())
    sizes = rng.integers(2, 11, size=count)
    if sizes.sum() > len(free):
        raise ValueError(
            f"n_practices={n_practices} is too small for {count} small networks "
            f"({int(sizes.sum())} practices) beside the large organisations"
        )
    chosen = rng.choice(free, size=int(sizes.sum()), replace=False)
    ids = [f"NET{k + 1:02d}" for k in range(count)]
    frame = pd.DataFrame(
        {
            "practice": chosen,
            "organisation_id": np.repeat(ids, sizes),
            "joined": pd.array(np.full(len(chosen), FIRST_YEAR), dtype="Int64"),
            "left": pd.array([pd.NA] * len(chosen), dtype="Int64"),
        }
    )
    specs = {o: (f"Synthetic small network {o}", "network", int(n), 1, "mixed", False)
             for o, n in zip(ids, sizes, strict=True)}  # fmt: skip
    return pd.concat([spells, frame], ignore_index=True), specs


def calibrated_list_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` list sizes drawn from the REAL 2013 distribution (inverse of its ECDF, linear
    between observed sizes), so a synthetic panel has England's spread of practice sizes.

    The 0.7% of codes with fewer than :data:`MIN_LIST` registered patients are left out: with
    so few patients the rarer events of the rate indicators are often zero, which has no log
    rate, and the synthetic practices are meant to be general practices with a full list.
    """
    from analysis.indicators.sources.listsizes import read_list_sizes

    real = read_list_sizes()["list_size"].to_numpy(dtype=float)
    real = np.sort(real[real >= MIN_LIST])
    return np.quantile(real, rng.uniform(size=n))


def _draw_counts(
    rng: np.random.Generator,
    catalogue: pd.DataFrame,
    member: np.ndarray,
    effects: pd.DataFrame,
    list_sizes: str = "lognormal",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numerators, denominators (practices x years x indicators) and practice effects u."""
    n_p, n_t = member.shape
    if list_sizes == "real2013":
        # calibrated at 2013, so 2009 lists are the 2013 ones less four years' growth
        base = np.maximum(calibrated_list_sizes(rng, n_p) / np.exp(0.01 * (2013 - FIRST_YEAR)), 1)
    else:
        base = np.clip(np.exp(rng.normal(np.log(6800), 0.55, n_p)), 1000, 40000)
    growth = 0.01 * np.arange(n_t) + rng.normal(0, 0.02, (n_p, n_t))
    lists = np.round(base[:, None] * np.exp(growth)).astype(np.int64)
    responses = rng.binomial(320, 0.37, (n_p, n_t))
    ids = sorted(catalogue["indicator_id"])
    dist = dict(zip(catalogue["indicator_id"], catalogue["distribution"], strict=True))
    # rows in the order of the member matrix's organisation index (pivot would sort them)
    order = list(dict.fromkeys(effects["organisation_id"]))
    level = effects.pivot(index="organisation_id", columns="indicator_id", values="level")
    trend = effects.pivot(index="organisation_id", columns="indicator_id", values="trend")
    level, trend = level.reindex(order), trend.reindex(order)
    years = np.arange(n_t)[None, :]
    num = np.zeros((n_p, n_t, len(ids)))
    den = np.zeros((n_p, n_t, len(ids)))
    u = np.zeros((n_p, len(ids)))
    counts: dict[str, np.ndarray] = {}
    for k, ind in enumerate(ids):
        nat_level, nat_trend, sd, noise, kind = _DGP[ind]
        u[:, k] = rng.normal(0, sd, n_p)
        org_level = np.append(level[ind].to_numpy(), 0.0)[member]
        org_trend = np.append(trend[ind].to_numpy(), 0.0)[member]
        eta = nat_level + nat_trend * years + u[:, k, None] + org_level + org_trend * years
        eta = eta + rng.normal(0, noise, (n_p, n_t))
        den[:, :, k] = _denominators(kind, rng, lists, responses, counts)
        if dist[ind] == "poisson":
            num[:, :, k] = rng.poisson(den[:, :, k] * np.exp(eta))
        else:
            num[:, :, k] = rng.binomial(den[:, :, k].astype(np.int64), 1 / (1 + np.exp(-eta)))
        counts[ind] = num[:, :, k].astype(np.int64)
    return num, den, u, lists


def _truth_table(effects: pd.DataFrame, membership: pd.DataFrame, u: np.ndarray, ids: list[str]):
    national = [
        (NATIONAL, ind, name, float(value))
        for ind in ids
        for name, value in zip(TRUTH_PARAMETERS[:4], _DGP[ind][:4], strict=True)
    ]
    rows = []
    for org, group in membership.groupby("organisation_id"):
        mean_u = u[np.unique(group["practice"].to_numpy())].mean(axis=0)
        for k, ind in enumerate(ids):
            eff = effects[(effects["organisation_id"] == org) & (effects["indicator_id"] == ind)]
            rows += [
                (org, ind, "level_log_ratio", float(eff["level"].iloc[0])),
                (org, ind, "trend_log_ratio", float(eff["trend"].iloc[0])),
                (org, ind, "mean_practice_effect", float(mean_u[k])),
            ]
    truth = pd.DataFrame(national + rows, columns=list(TRUTH_SCHEMA.columns))
    return truth.sort_values(["organisation_id", "indicator_id", "parameter"], ignore_index=True)


def _organisation_table(
    membership: pd.DataFrame, lists: np.ndarray, organisations: dict | None = None
) -> pd.DataFrame:
    final = membership[(membership["joined"] <= LAST_YEAR) & membership["left"].isna()]
    rows = []
    for org, (label, form, _, ccgs, rurality, case) in (organisations or _ORGANISATIONS).items():
        practices = final.loc[final["organisation_id"] == org, "practice"].to_numpy()
        total = int(lists[practices, -1].sum())
        rows.append((org, label, form, len(practices), total, ccgs, rurality, case))
    frame = pd.DataFrame(rows, columns=list(ORGANISATION_SCHEMA.columns))
    return frame.astype({"n_practices": "Int64", "list_size": "Int64", "ccgs_spanned": "Int64"})


def generate_panel(
    seed: int = DEFAULT_SEED,
    n_practices: int = 7000,
    catalogue: pd.DataFrame | None = None,
    *,
    list_sizes: str = "real2013",
    small_networks: int = 40,
) -> tuple[Panel, pd.DataFrame]:
    """Draw the SYNTHETIC national panel and the truth that generated it.

    Parameters
    ----------
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical data.
    n_practices
        Number of practices in England (at least twice the organisations' members).
    catalogue
        Indicator catalogue; default the stored one. Rows outside an indicator's
        ``years_available`` are not generated.
    list_sizes
        ``lognormal`` (the stored panel: median 6,800, clipped to 1,000-40,000; two-sample
        KS distance about 0.13 from the REAL 2013 list sizes) or ``real2013`` (drawn from the
        REAL 2013 distribution, :func:`calibrated_list_sizes`; KS distance of the 2013 list
        sizes about 0.02).
    small_networks
        Extra organisations ``NET01``... of 2 to 10 practices each (like primary care
        networks) with no effect on any indicator, drawn after everything else.

    Returns
    -------
    panel : Panel
        Tier ``"synthetic"``; practice codes ``S00001``... (synthetic, not real codes).
    truth : pandas.DataFrame
        ``organisation_id``, ``indicator_id``, ``parameter``, ``value`` (module docstring).
    """
    catalogue = read_catalogue() if catalogue is None else catalogue
    missing = sorted(set(catalogue["indicator_id"]) - set(_DGP))
    if missing:
        raise ValueError(f"catalogue indicators {missing} have no synthetic model")
    rng = np.random.default_rng(seed)
    if list_sizes not in ("lognormal", "real2013"):
        raise ValueError(f"list_sizes={list_sizes!r}; expected 'lognormal' or 'real2013'")
    specs = dict(_ORGANISATIONS)
    spells = _draw_membership(rng, n_practices)
    if small_networks:
        spells, small = _draw_small_networks(
            np.random.default_rng([seed, 1]), spells, n_practices, small_networks
        )
        specs |= small
    orgs = list(specs)
    effects = _organisation_effects(specs)
    member = _member_matrix(spells, n_practices, orgs)
    num, den, u, lists = _draw_counts(rng, catalogue, member, effects, list_sizes)
    codes = np.array([f"S{i + 1:05d}" for i in range(n_practices)], dtype=object)
    ids = np.array(sorted(catalogue["indicator_id"]), dtype=object)
    n_t, n_i = len(YEARS), len(ids)
    observations = pd.DataFrame(
        {
            "practice_code": np.repeat(codes, n_t * n_i),
            "year": np.tile(np.repeat(np.array(YEARS, dtype=np.int64), n_i), n_practices),
            "indicator_id": np.tile(ids, n_practices * n_t),
            "numerator": num.reshape(-1),
            "denominator": den.reshape(-1),
        }
    )
    first, last = year_window(observations["indicator_id"], catalogue)
    inside = (observations["year"] >= first) & (observations["year"] <= last)
    observations = observations[inside].reset_index(drop=True)  # already in KEY order
    membership = spells.assign(practice_code=codes[spells["practice"].to_numpy()])
    membership = membership[list(MEMBERSHIP_SCHEMA.columns)].sort_values(
        ["practice_code", "joined"], ignore_index=True
    )
    organisations = _organisation_table(spells, lists, specs)
    truth = _truth_table(effects, spells, u, list(ids))
    return Panel(observations, membership, organisations, catalogue, "synthetic"), truth


def _as_text_bool(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.assign(**{column: np.where(frame[column].astype(bool), "true", "false")})


def write_panel(panel: Panel, folder: str | os.PathLike, truth: pd.DataFrame | None = None):
    """Write a panel (and its truth table) in the stored layout; returns the written paths."""
    folder = Path(folder)
    written = [write_observations(panel.observations, folder / SYNTHETIC_FILES["observations"])]
    written.append(write_csv(panel.membership, folder / SYNTHETIC_FILES["membership"]))
    organisations = _as_text_bool(panel.organisations, "case_study")
    written.append(write_csv(organisations, folder / SYNTHETIC_FILES["organisations"]))
    if truth is not None:
        written.append(write_csv(truth, folder / SYNTHETIC_FILES["truth"]))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        "analysis.indicators.synthetic.panel",
        description="Regenerate the SYNTHETIC indicator panel.",
    )
    parser.add_argument("--write", action="store_true", help="write data/indicators/synthetic/")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--out", type=path_argument, default=None, help="folder (default: stored one)"
    )
    args = parser.parse_args(argv)
    panel, truth = generate_panel(seed=args.seed)
    print(f"{len(panel.observations)} observations, {len(panel.membership)} membership spells")
    if args.write:
        for path in write_panel(panel, args.out or synthetic_dir(), truth):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
