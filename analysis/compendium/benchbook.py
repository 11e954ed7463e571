"""Book rebuild costs, and the targets of issues 17 and 14 and of the REAL networks chapter.

:func:`book_rebuilds` times ``compendium book`` in a build whose book is already built: with
nothing changed (the cache key matches, no Sphinx run) and after one chapter's executed
notebook changed (Sphinx re-reads that chapter). :func:`issue17_rows` judges issue 17's
targets from these and from the derived numbers of :mod:`analysis.compendium.benchreport`;
:func:`issue14_rows` and :func:`sweep_rows` judge and show the analysis time and the Dask
sweep measurements (:mod:`analysis.compendium.sweepbench`); :func:`real_chapter_runs` and
:func:`real_chapter_rows` measure and judge the REAL networks chapter (its workers,
``python -m analysis.indicators.real_bench``, run as commands: the engine imports no strand).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from analysis.compendium.benchload import paired_speedups, spread
from analysis.compendium.benchtools import cli, timed

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
REAL_WORKER = "analysis.indicators.real_bench"
ENGLAND_TARGET_S = 3.0
ENGLAND_MEMORY_TARGET_MB = 2048.0
ENGLAND_SHAPE = (1_263, 49)  # every PCN of 2021-22 x its QOF achievement indicators
ENGLAND_WORKER = "analysis.indicators.scaling"
ENGLAND = "England scale: every PCN, every indicator"
ENGLAND_NOTE = (
    "The quality-indicator comparison of every primary care network with England on every QOF "
    "achievement indicator of 2021-22, each run in a fresh process."
)


def touch_chapter(build: Path, name: str, mark: int) -> Path:
    """Append a markdown cell to a run's executed notebook and record its new sha256 in the
    run's ``run.json``, as a rerun would (the book refuses a run whose files differ)."""
    from analysis.files import sha256_file

    folder = build / "runs" / name / "default"
    executed = folder / f"{name}.ipynb"
    document = json.loads(executed.read_text(encoding="utf-8"))
    document["cells"].append(
        {"cell_type": "markdown", "id": f"bench-{mark}", "metadata": {},
         "source": f"Benchmark edit {mark}."}
    )  # fmt: skip
    executed.write_text(json.dumps(document, indent=1), encoding="utf-8")
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    record.setdefault("files", {})[executed.name] = sha256_file(executed)
    (folder / "run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return executed


def book_rebuilds(env: dict[str, str], build: Path, chapter: str, repeat: int) -> dict:
    """``compendium book`` with nothing changed, then after one chapter changed; seconds."""
    out: dict[str, Any] = {"chapter": chapter, "noop": [], "one_chapter": []}
    for _ in range(repeat):
        out["noop"].append(timed(cli("book"), env).seconds)
    for i in range(repeat):
        touch_chapter(build, chapter, i)
        out["one_chapter"].append(timed(cli("book"), env).seconds)
    return out


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


def issue17_rows(raw: dict[str, Any], derived: dict[str, Any]) -> list[dict[str, str]]:
    """The targets of issue 17, each with its measured median and spread."""
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


def issue14_rows(raw: dict[str, Any]) -> list[dict[str, str]]:
    """The performance targets of issue 14: one full analysis, the sweep's speed-up."""
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


def real_chapter_runs(repeat: int, env: dict[str, str]) -> dict[str, list[dict]]:
    """The REAL networks chapter's two workers, each in ``repeat`` fresh processes."""
    import sys

    out: dict[str, list[dict]] = {"panel": [], "chapter": []}
    for _ in range(repeat):
        for step in out:
            result = timed([sys.executable, "-m", REAL_WORKER, step], env)
            out[step].append(json.loads(result.stdout))
    return out


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


def england_runs(repeat: int, work: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Every PCN against England on every indicator, ``repeat`` times, each in a fresh
    process on one core (the ``england`` worker of :mod:`analysis.indicators.scaling`)."""
    import sys

    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for i in range(repeat):
        command = [sys.executable, "-m", ENGLAND_WORKER, "england", str(work / f"england-{i}"),
                   *map(str, ENGLAND_SHAPE)]  # fmt: skip
        runs.append(json.loads(timed(command, env).stdout))
    return runs


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
