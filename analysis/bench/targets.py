"""The targets beyond the pipeline's own, judged on the raw measurements: reruns and book
rebuilds, the analysis and its sweeps on Dask, the REAL networks chapter and England scale.

:func:`rerun_rows` judges the cost of a rerun with nothing changed, of a book rebuild after
one chapter changed, of a cold run against its floor, the parallel speed-up and the
quality-indicator notebook's own compute (with the derived numbers of
:mod:`analysis.bench.derive`); :func:`analysis_rows` and :func:`sweep_rows` judge and show
the time of one full analysis and the Dask sweep measurements (:mod:`analysis.bench.sweeps`);
:func:`real_chapter_rows` and :func:`england_rows` judge the REAL networks chapter and the
England-scale analysis, whose workers :mod:`analysis.bench.steps` runs as commands. Each
table's title and note are here too (:data:`TITLES`, :data:`NOTES`). Pure functions.
"""

from __future__ import annotations

import math
from typing import Any

from analysis.bench.load import paired_speedups, spread

MAKE_ALL_TARGET_S = 2.0
ONE_CHAPTER_TARGET_S = 5.0
COLD_FLOOR_TARGET = 1.15
SPEEDUP_TARGET = 1.7
QI_COMPUTE_TARGET_S = 8.0
ANALYSIS_TARGET_S = 1.5
ANALYSIS_PRACTICES = 7_000
SWEEP_SPEEDUP_TARGET = 1.7
REAL_PANEL_TARGET_S = 10.0
REAL_FIGURES_TARGET_S = 5.0
REAL_MEMORY_TARGET_MB = 2048.0
ENGLAND_TARGET_S = 3.0
ENGLAND_MEMORY_TARGET_MB = 2048.0
RERUNS = "Targets of reruns, rebuilds and compute time"
ANALYSIS = "Targets of one analysis and the sweeps on Dask"
SWEEPS = "Sweeps on Dask"
REAL = "Targets of the REAL networks chapter"
ENGLAND = "England scale: every PCN, every indicator"
#: The tables of this module, in the order the book shows them after the pipeline's own.
TITLES = (RERUNS, ANALYSIS, SWEEPS, REAL, ENGLAND)
NOTES = {
    RERUNS: (
        "What a rerun costs (nothing changed: nothing to do; one chapter changed: only it is "
        "compiled again), a cold run against its floor, the parallel speed-up and the "
        "quality-indicator notebook's own compute, each with the median and range of its "
        "repeated runs."
    ),
    ANALYSIS: (
        "One full quality-indicator analysis on one core, and the simulation study's sweep on "
        "Dask (speed-up on two workers, overhead per task), each with the median and range of "
        "its repeated runs."
    ),
    SWEEPS: (
        "The `simulation` sweep of pipeline.yml (each task a process running one batch of "
        "replications) run three ways: serially, and on a Dask LocalCluster of one and of two "
        "one-thread worker processes (cluster start-up not counted). The overhead is the time "
        "per no-op task submitted to and gathered from two workers."
    ),
    REAL: (
        "The REAL networks chapter's targets, each worker in fresh processes with numerical "
        "libraries on one thread: its five-year practice-level panel, its five figures and "
        "the peak resident memory of either worker."
    ),
    ENGLAND: (
        "The quality-indicator comparison of every primary care network with England on every "
        "QOF achievement indicator of 2021-22, each run in a fresh process."
    ),
}


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _row(target: str, measured: str, value: float | None, ok, note: str = "") -> dict:
    known = value is not None and not (isinstance(value, float) and math.isnan(value))
    result = ("met" if ok(value) else "missed") if known else "n/a"
    return {"target": target, "measured": measured, "result": result, "note": note}


def _range(values: list[float] | None) -> str:
    s = spread(values)
    return (
        f"median {_fmt(s['median'])} (range {_fmt(s['min'])} to {_fmt(s['max'])}, n={s['n']})"
        if s
        else "n/a"
    )  # noqa: E501


def rerun_rows(raw: dict[str, Any], derived: dict[str, Any]) -> list[dict[str, str]]:
    """Reruns, book rebuilds, the cold run's floor, the speed-up and the quality-indicator
    notebook's compute: each target with its measured median and spread."""
    pipe, book = raw.get("pipeline") or {}, raw.get("book_rebuilds") or {}
    noop_run = spread(pipe.get("noop"))
    noop_book = spread(book.get("noop"))
    make_all = noop_run["median"] + noop_book["median"] if noop_run and noop_book else None
    one = spread(book.get("one_chapter"))
    floor = derived.get("floor", {}).get("floor")
    cold = derived.get("cold_s")
    cold_ratio = cold / floor if cold and floor else None
    ind = raw.get("independent") or {}
    pairs = paired_speedups(ind.get("serial") or [], ind.get("parallel") or [])
    speedup = spread(pairs)
    qi = (derived.get("compute") or {}).get("quality_indicators")
    alone = [c["quality_indicators"] for c in pipe.get("serial_compute") or []
             if "quality_indicators" in c]  # fmt: skip
    qi_alone = spread(alone)["median"] if alone else None
    return [
        _row(
            f"make all with nothing changed under {MAKE_ALL_TARGET_S:.0f} s",
            f"{_fmt(make_all)} s: no-op run {_range(pipe.get('noop'))} + book check "
            f"{_range(book.get('noop'))}",
            make_all, lambda v: v < MAKE_ALL_TARGET_S,
            "make's own stamp check (milliseconds) not included",
        ),
        _row(
            f"compendium book after one chapter changed under {ONE_CHAPTER_TARGET_S:.0f} s",
            f"{_range(book.get('one_chapter'))} s ({book.get('chapter', 'n/a')} changed)",
            one["median"] if one else None, lambda v: v < ONE_CHAPTER_TARGET_S,
            "assembly of the sources, then Sphinx re-reads the changed chapter only",
        ),
        _row(
            f"cold run at or below {COLD_FLOOR_TARGET} x the floor",
            f"{_fmt(cold_ratio)} x ({_fmt(cold)} s against {_fmt(floor)} s)",
            cold_ratio, lambda v: v <= COLD_FLOOR_TARGET,
        ),
        _row(
            f"parallel speed-up at least {SPEEDUP_TARGET} x on independent notebooks",
            f"{_range(pairs)} x",
            speedup["median"] if speedup else None, lambda v: v >= SPEEDUP_TARGET,
            f"{ind.get('notebooks', 'n/a')} CPU-bound notebooks of equal length, per pair",
        ),
        _row(
            f"quality-indicator notebook's own compute under {QI_COMPUTE_TARGET_S:.0f} s",
            f"{_range(alone)} s alone (the --jobs 1 runs); {_fmt(qi)} s beside another "
            "notebook (the parallel runs)",
            qi_alone, lambda v: v < QI_COMPUTE_TARGET_S,
            "seconds in its cells; judged alone, as the notebook's own cost: beside another "
            "notebook the two share the memory bandwidth and caches",
        ),
    ]  # fmt: skip


def _analysis_seconds(raw: dict[str, Any], practices: int) -> list[float]:
    for entry in raw.get("scaling") or []:
        if entry.get("n_practices") == practices:
            return [run["analyse"]["seconds"] for run in entry.get("runs", [])]
    return []


def analysis_rows(raw: dict[str, Any]) -> list[dict[str, str]]:
    """One full analysis on one core, the sweep's speed-up on two workers, Dask's overhead."""
    analysis = _analysis_seconds(raw, ANALYSIS_PRACTICES)
    one = spread(analysis)
    sweep = raw.get("sweep") or {}
    pairs = sweep.get("speedup_pairs") or []
    speedup = spread(pairs)
    overhead = sweep.get("dask_overhead_seconds_per_task")
    per_task = (sweep.get("seconds") or {}).get("serial")
    task_s = per_task / sweep["tasks"] if per_task and sweep.get("tasks") else None
    return [
        _row(
            f"one full analysis of a {ANALYSIS_PRACTICES:,}-practice panel within "
            f"{ANALYSIS_TARGET_S} s on one core",
            f"{_range(analysis)} s",
            one["median"] if one else None, lambda v: v <= ANALYSIS_TARGET_S,
            "all 15 indicators, all six analyses, in a fresh process, numerical libraries "
            "held to one thread",
        ),
        _row(
            f"sweep speed-up on 2 workers at least {SWEEP_SPEEDUP_TARGET} x",
            f"{_range(pairs)} x",
            speedup["median"] if speedup else None, lambda v: v >= SWEEP_SPEEDUP_TARGET,
            f"{sweep.get('tasks', 'n/a')} tasks of the simulation sweep, 1 worker against 2, "
            "per pair",
        ),
        _row(
            "Dask overhead per task under 1% of a task",
            f"{_fmt(1000 * overhead if overhead else None)} ms per task; a task takes "
            f"{_fmt(task_s)} s",
            overhead if task_s else None, lambda v: v < 0.01 * task_s,
        ),
    ]  # fmt: skip


def sweep_rows(raw: dict[str, Any]) -> list[dict[str, str]]:
    """The simulation sweep run serially and on 1 and 2 Dask workers: time and throughput."""
    sweep = raw.get("sweep") or {}
    runs = sweep.get("runs") or {}
    labels = {
        "serial": "serially, one process per task",
        "workers_1": "LocalCluster, 1 worker",
        "workers_2": "LocalCluster, 2 workers",
    }
    rows = []
    for key, label in labels.items():
        s = spread(runs.get(key))
        if not s:
            continue
        rows.append(
            {
                "how": label,
                "tasks": str(sweep.get("tasks", "")),
                "replications per task": str((sweep.get("fixed") or {}).get("replications", "")),
                "seconds": _range(runs.get(key)),
                "tasks per minute": _fmt(60 * sweep["tasks"] / s["median"], 1),
            }
        )
    return rows


def real_chapter_rows(raw: dict[str, Any]) -> list[dict[str, str]]:
    """The REAL networks chapter's targets: the five-year panel, the figures, peak memory."""
    runs = raw.get("realchapter") or {}
    panel = [r["seconds"] for r in runs.get("panel", [])]
    figures = [r["figures_seconds"] for r in runs.get("chapter", [])]
    tables = [r["tables_seconds"] for r in runs.get("chapter", [])]
    peaks = [r["peak_mb"] for r in (*runs.get("panel", []), *runs.get("chapter", []))]
    shape = (runs.get("panel") or [{}])[0]
    panel_cpu = [r.get("cpu_seconds", math.nan) for r in runs.get("panel", [])]
    figures_cpu = [r.get("figures_cpu_seconds", math.nan) for r in runs.get("chapter", [])]
    peak = max(peaks) if peaks else None
    return [
        _row(
            f"REAL chapter: practice-level five-year panel with trends and variation under "
            f"{REAL_PANEL_TARGET_S:.0f} s on one core",
            f"{_range(panel)} s (CPU {_range(panel_cpu)} s)",
            spread(panel)["median"] if panel else None, lambda v: v < REAL_PANEL_TARGET_S,
            f"{shape.get('practices', 'n/a')} practices x {shape.get('years', 'n/a')} years x "
            f"{shape.get('indicators', 'n/a')} indicators ({shape.get('rows', 'n/a')} rows): REAL "
            "practice-years of the geography mappings, SYNTHETIC values; three membership "
            "rules and REML variation per indicator and year",
        ),
        _row(
            f"REAL chapter: its figures under {REAL_FIGURES_TARGET_S:.0f} s together",
            f"{_range(figures)} s (CPU {_range(figures_cpu)} s; its tables: {_range(tables)} s)",
            spread(figures)["median"] if figures else None, lambda v: v < REAL_FIGURES_TARGET_S,
            "five figures drawn and saved as PNG and SVG, as the notebook does",
        ),
        _row(
            f"REAL chapter: peak memory under {REAL_MEMORY_TARGET_MB / 1024:.0f} GiB",
            f"{_fmt(peak, 0)} MB (largest of the workers' peak resident memory)",
            peak, lambda v: v < REAL_MEMORY_TARGET_MB,
        ),
    ]  # fmt: skip


def england_rows(raw: dict[str, Any]) -> list[dict[str, str]]:
    """The England-scale targets: time (median of fresh processes) and peak memory."""
    runs = raw.get("england") or []
    seconds = [r["seconds"] for r in runs]
    peaks = [r["peak_mb"] for r in runs]
    one = spread(seconds)
    peak = max(peaks) if peaks else None
    what = runs[0]["data"] if runs else "n/a"
    steps = (
        {k: spread([r["steps"][k] for r in runs])["median"] for k in runs[0]["steps"]}
        if runs
        else {}
    )
    shares = ", ".join(f"{k} {_fmt(v)} s" for k, v in steps.items())
    return [
        _row(
            f"all PCNs x the 49 indicators of 2021-22 under {ENGLAND_TARGET_S:.0f} s on one core",
            f"{_range(seconds)} s ({shares})",
            one["median"] if one else None, lambda v: v < ENGLAND_TARGET_S,
            f"{what}: levels with the between-PCN variance (DerSimonian-Laird), classes and "
            "Benjamini-Hochberg, after loading; a fresh process, numerical libraries on one thread",
        ),
        _row(
            f"peak memory of that analysis under {ENGLAND_MEMORY_TARGET_MB / 1024:.0f} GiB",
            f"{_fmt(peak, 0)} MB (largest of the runs; the process's peak resident memory)",
            peak, lambda v: v < ENGLAND_MEMORY_TARGET_MB,
        ),
    ]  # fmt: skip
