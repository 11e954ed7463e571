"""The indicator analysis on synthetic national panels of growing size (``make bench``).

Run by the benchmark as a command, one fresh process per step, so each measurement starts
cold: ``python -m analysis.indicators.synthetic.scaling generate N PICKLE`` generates a SYNTHETIC
panel of N practices and pickles it; ``python -m analysis.indicators.synthetic.scaling analyse
PICKLE`` runs the default analysis on it; ``england FOLDER ORGANISATIONS INDICATORS`` compares every
organisation of an organisation-level table with England on every indicator (the REAL PCN
table where the project has it, else a SYNTHETIC one of that shape,
:func:`organisation_table`). Each prints one JSON object: seconds, peak memory and the
seconds of each step.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCALING_STEPS = (
    "overdispersion_table",
    "compare_to_national",
    "trend_fits",
    "classify_trends",
    "practice_variation",
    "variation_trend",
    "qof_single_points",
    "summary_table",
    "summary_counts",
    "performance_scores",
    "association_tests",
    "truth_vs_estimate",
    "truth_summary",
)


def organisation_table(
    n_organisations: int = 1_300, n_indicators: int = 50, *, seed: int = 20230401
) -> dict[str, pd.DataFrame]:
    """A SYNTHETIC organisation-level table shaped like a year of QOF by PCN, cheaply.

    One row per organisation and indicator: a proportion (logit-normal between organisations
    around each indicator's own level, a few blank) without denominators, as in a table of
    published PCN achievement; five domains; a third of the indicators without a direction.
    Organisations carry ``n_practices``, ``list_size`` and a deprivation score. Returns the
    tables a panel folder holds: ``observations``, ``indicator_catalogue``,
    ``organisations``.
    """
    rng = np.random.default_rng(seed)
    orgs = [f"ORG{i:04d}" for i in range(1, n_organisations + 1)]
    ids = [f"IND{i:02d}" for i in range(1, n_indicators + 1)]
    domains = [f"domain_{chr(97 + i % 5)}" for i in range(n_indicators)]
    level = rng.normal(1.5, 0.8, n_indicators)
    spread = rng.uniform(0.15, 0.6, n_indicators)
    logit = level[None, :] + spread[None, :] * rng.standard_normal((n_organisations, n_indicators))
    value = 1 / (1 + np.exp(-logit))
    value[rng.random(value.shape) < 0.002] = np.nan
    observations = pd.DataFrame(
        {
            "organisation_id": np.repeat(orgs, n_indicators),
            "year": 2021,
            "indicator_id": np.tile(ids, n_organisations),
            "value": value.ravel(),
        }
    )
    direction = np.where(np.arange(n_indicators) % 3 == 2, "", "true")
    catalogue = pd.DataFrame(
        {
            "indicator_id": ids,
            "name": [f"Synthetic indicator {i}" for i in ids],
            "domain": domains,
            "distribution": "binomial",
            "higher_is_better": direction,
        }
    )
    n_practices = rng.integers(1, 20, n_organisations)
    organisations = pd.DataFrame(
        {
            "organisation_id": orgs,
            "n_practices": n_practices,
            "list_size": n_practices * rng.integers(3_000, 12_000, n_organisations),
            "imd_score": rng.gamma(4.0, 5.0, n_organisations).round(2),
        }
    )
    return {
        "observations": observations,
        "indicator_catalogue": catalogue,
        "organisations": organisations,
    }


def write_table_folder(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write :func:`organisation_table`'s tables as a panel folder (CSV files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    return folder


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scaling_generate(n_practices: int, pickle_path: Path) -> dict[str, Any]:
    """Worker: generate a panel, pickle it; time and peak memory of the generation."""
    import pickle

    from analysis.indicators.synthetic.panel import generate_panel

    base = peak_rss_mb()
    started = time.perf_counter()
    generated, truth = generate_panel(n_practices=n_practices)
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    with open(pickle_path, "wb") as handle:
        pickle.dump((generated, truth), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "seconds": seconds,
        "peak_mb": peak,
        "extra_mb": peak - base,
        "observations": len(generated.observations),
    }


@contextlib.contextmanager
def step_timers(module: Any, names: tuple[str, ...], into: dict[str, float]) -> Iterator[None]:
    """Time calls of ``module.<name>`` made through the module (as ``run_analysis`` does)."""
    originals = {n: getattr(module, n) for n in names if hasattr(module, n)}

    def wrap(name: str, function: Callable) -> Callable:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                into[name] = into.get(name, 0.0) + time.perf_counter() - started

        return timed_call

    for name, function in originals.items():
        setattr(module, name, wrap(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def scaling_analyse(pickle_path: Path) -> dict[str, Any]:
    """Worker: load a pickled panel; time and peak memory of the default indicator analysis."""
    import pickle

    from analysis.indicators.methods import results, selection

    with open(pickle_path, "rb") as handle:
        generated, truth = pickle.load(handle)
    base = peak_rss_mb()
    steps: dict[str, float] = {}
    started = time.perf_counter()
    chosen = selection.select(generated.observations, generated.catalogue, generated.organisations)
    data = selection.prepare(
        generated.observations, generated.membership, generated.catalogue, chosen
    )
    steps["select_and_prepare"] = time.perf_counter() - started
    # run_analysis calls each step through the results module's own names
    with step_timers(results, SCALING_STEPS, steps):
        results.run_analysis(
            data, generated.catalogue, generated.organisations, chosen, truth=truth
        )
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    return {"seconds": seconds, "peak_mb": peak, "extra_mb": peak - base, "steps": steps}


ENGLAND_STEPS = ("prepare", "overdispersion_table", "compare_to_national", "summary_table")
"""What the England-scale target times: levels, between-organisation variance, classes, BH."""
PCN_TABLE = "data/indicators/real/qof_indicators/pcn_data_matrix.csv.gz"
PCN_MAPPING = "data/indicators/mappings/wide_pcn_data_matrix.yml"


def england_folder(folder: Path, n_organisations: int, n_indicators: int) -> tuple[Path, str]:
    """The REAL PCN table's 49 achievement indicators where the project has it, else a
    SYNTHETIC table of the same shape; returns the panel folder and what it holds."""
    from analysis.indicators.sources.widetable import write_panel_folder
    from analysis.paths import repo_root

    table = repo_root() / PCN_TABLE
    if table.exists():
        _, tables = write_panel_folder(table, repo_root() / PCN_MAPPING, folder)
        ids = tables["indicator_catalogue"].query("domain == 'achievement'")["indicator_id"]
        observations = tables["observations"]
        observations[observations["indicator_id"].isin(ids)].to_csv(
            folder / "observations.csv", index=False
        )
        return folder, f"REAL PCN table of QOF 2021-22 ({len(ids)} achievement indicators)"
    write_table_folder(organisation_table(n_organisations, n_indicators), folder)
    return folder, f"SYNTHETIC table of {n_organisations:,} organisations x {n_indicators}"


def scaling_england(folder: Path, n_organisations: int, n_indicators: int) -> dict[str, Any]:
    """Worker: every organisation x indicator of an organisation-level table against England
    (levels with the between-organisation variance, classes, Benjamini-Hochberg), timed by
    step in this process, after loading (not timed: read once, then cached)."""
    from analysis.indicators.methods import comparison, selection, summary
    from analysis.indicators.sources import panel

    folder, what = england_folder(folder, n_organisations, n_indicators)
    loaded = panel.load_panel(folder)
    chosen = selection.select(loaded.observations, loaded.catalogue, loaded.organisations)
    chosen = selection.with_methods(chosen, tau2_method="dl")  # the chapter's default
    base = peak_rss_mb()
    steps: dict[str, float] = {}
    started = time.perf_counter()
    data = selection.prepare(
        loaded.observations, loaded.membership, loaded.catalogue, chosen, unit=loaded.unit
    )
    steps["prepare"] = time.perf_counter() - started
    mark = time.perf_counter()
    dispersion = comparison.overdispersion_table(data, tau2_method=chosen.tau2_method)
    steps["overdispersion_table"] = time.perf_counter() - mark
    mark = time.perf_counter()
    level = comparison.compare_to_national(
        data, chosen.organisations, alpha=chosen.alpha, dispersion=dispersion
    )
    steps["compare_to_national"] = time.perf_counter() - mark
    mark = time.perf_counter()
    classes = summary.summary_table(level, level.iloc[:0], loaded.catalogue, chosen.years)
    steps["summary_table"] = time.perf_counter() - mark
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    return {
        "data": what,
        "organisations": len(chosen.organisations),
        "indicators": len(chosen.indicators),
        "comparisons": len(classes),
        "seconds": seconds,
        "peak_mb": peak,
        "extra_mb": peak - base,
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> int:
    """``generate N PICKLE``, ``analyse PICKLE`` or ``england FOLDER ORGANISATIONS INDICATORS``:
    print the measurement as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 3 and args[0] == "generate":
        print(json.dumps(scaling_generate(int(args[1]), Path(args[2]))))
    elif len(args) == 2 and args[0] == "analyse":
        print(json.dumps(scaling_analyse(Path(args[1]))))
    elif len(args) == 4 and args[0] == "england":
        print(json.dumps(scaling_england(Path(args[1]), int(args[2]), int(args[3]))))
    else:
        print(
            "usage: python -m analysis.indicators.synthetic.scaling generate N PICKLE | "
            "analyse PICKLE | england FOLDER ORGANISATIONS INDICATORS",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
