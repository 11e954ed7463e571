"""Benchmark workers of the REAL networks chapter (``make bench``, section ``realchapter``).

Run by the benchmark as commands, one fresh process each, numerical libraries on one thread:

``python -m analysis.indicators.networks.real_bench panel``
    A practice-level five-year panel at England's scale: every practice-year of the five REAL
    geography mappings (about 6,500 practices, 2019-20 to 2023-24) times ten indicators whose
    values are SYNTHETIC (seeded draws: the real files hold no ten-indicator five-year panel),
    then the chapter's trends under the three membership rules and the variation within PCNs
    of every indicator and year. Prints seconds and CPU seconds (generation excluded) and
    peak memory.
``python -m analysis.indicators.networks.real_bench chapter``
    The chapter on its REAL default files: every table, then every figure saved as the notebook
    saves them. Prints the seconds (and CPU seconds) of the tables and of the figures, and the
    peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PANEL_INDICATORS = 10
SEED = 20261206


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_panel(practices: Any, indicators: int = PANEL_INDICATORS, seed: int = SEED):
    """SYNTHETIC values on the REAL practice-years: level + PCN effect + trend + noise."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    years = practices[["practice_code", "year", "pcn_code"]]
    codes = pd.factorize(years["practice_code"])[0]
    pcns = pd.factorize(years["pcn_code"])[0]
    frames = []
    for i in range(indicators):
        practice_effect = rng.normal(0, 4, codes.max() + 1)[codes]
        pcn_effect = rng.normal(0, 2, pcns.max() + 1)[pcns]
        trend = 0.5 * (years["year"].to_numpy() - 2019)
        noise = rng.normal(0, 2, len(years))
        frames.append(
            pd.DataFrame(
                {
                    "practice_code": years["practice_code"].to_numpy(),
                    "year": years["year"].to_numpy(),
                    "indicator_id": f"SYN{i:02d}",
                    "value": 85 + practice_effect + pcn_effect + trend + noise,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def bench_panel() -> dict[str, Any]:
    """Worker: trends (three rules) and within-PCN variation of the five-year panel."""
    from analysis.indicators.networks import rule_trends
    from analysis.indicators.sources import structures as st

    mapped = st.read_structure_years(st.stored_files()).practices
    panel = synthetic_panel(mapped)
    years = sorted(int(y) for y in mapped["year"].unique())
    base = peak_mb()
    started, cpu = time.perf_counter(), time.process_time()
    own = st.membership_table(mapped, years, None)
    memberships = {
        "fixed": st.membership_table(mapped, years, years[-1]),
        "own": own,
        "practice_fe": own,
    }
    trends = rule_trends.organisation_trends(panel, memberships)
    summary = rule_trends.rule_summary(trends)
    variation = rule_trends.within_variation(panel, own, ["indicator_id", "year"])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak_mb(),
        "extra_mb": peak_mb() - base,
        "rows": len(panel),
        "practices": int(panel["practice_code"].nunique()),
        "years": len(years),
        "indicators": int(panel["indicator_id"].nunique()),
        "trend_rows": len(trends),
        "summary_rows": len(summary),
        "variation_rows": len(variation),
    }


def bench_chapter() -> dict[str, Any]:
    """Worker: every table of the chapter on its REAL default files, then every figure."""
    import matplotlib.pyplot as plt

    from analysis.core.figures import save_figure
    from analysis.indicators.networks import real_figures as figs
    from analysis.indicators.networks.real_chapter import run_real_chapter

    data = "data/indicators"
    started, cpu = time.perf_counter(), time.process_time()
    run = run_real_chapter(
        membership_source=f"{data}/real/membership",
        organisation_table=f"{data}/real/qof_indicators/pcn_data_matrix.csv.gz",
        organisation_mapping=f"{data}/mappings/wide_pcn_data_matrix.yml",
        practice_groups=f"{data}/real/qof_indicators/qof_cvd_groups.csv.gz",
        practice_groups_mapping=f"{data}/mappings/wide_qof_cvd_groups.yml",
        qof_source=f"{data}/real/qof",
    )
    tables_seconds, tables_cpu = time.perf_counter() - started, time.process_time() - cpu
    t = run.tables
    labels = {"pcn_table achievement": "PCN table", "cvd_groups achievement": "CVD groups"}
    makers = {
        "turnover": lambda: figs.turnover_figure(t["turnover"]),
        "summary": lambda: figs.summary_figure(t["domain_summary"], labels),
        "funnels_table": lambda: figs.funnel_grid(
            t["levels"], t["indicator_summary"], "pcn_table achievement"
        ),
        "funnels_groups": lambda: figs.funnel_grid(
            t["levels"], t["indicator_summary"], "cvd_groups achievement", columns=4, label=2
        ),
        "trends": lambda: figs.trend_figure(t["trends"], "QOF total"),
    }
    each: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        started, cpu = time.perf_counter(), time.process_time()
        for name, make in makers.items():
            mark = time.perf_counter()
            fig = make()
            save_figure(fig, Path(folder) / name, tier="real")
            plt.close(fig)
            each[name] = time.perf_counter() - mark
        figures_seconds, figures_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "tables_seconds": tables_seconds,
        "tables_cpu_seconds": tables_cpu,
        "figures_seconds": figures_seconds,
        "figures_cpu_seconds": figures_cpu,
        "figures": each,
        "steps": run.timings,
        "peak_mb": peak_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    """``panel`` or ``chapter``: print the measurement as JSON."""
    args = sys.argv[1:] if argv is None else argv
    workers = {"panel": bench_panel, "chapter": bench_chapter}
    if len(args) != 1 or args[0] not in workers:
        print(
            "usage: python -m analysis.indicators.networks.real_bench panel | chapter",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(workers[args[0]]()))
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
