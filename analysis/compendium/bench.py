"""Benchmarks: the compendium's pipeline against the usual ways of running notebooks (issue 8).

``python -m analysis.compendium.bench`` (``make bench``) measures in one run, side by side:

1. floors: kernel start-up (an empty notebook through papermill) and the pipeline floor, the
   kernel start-ups plus each notebook's own compute divided over the cores (never less than
   the longest chain of dependent notebooks);
2. our pipeline: cold run, no-op rerun, rerun after changing one parameter of one notebook
   (its default in ``pipeline.yml``), serial against ``--jobs`` equal to the cores, and the
   same serial/parallel pair on synthetic independent notebooks of equal length;
3. the same notebooks run the ways users would otherwise: a plain sequential papermill
   loop, ``jupyter nbconvert --execute`` and ``jupyter-book build`` with execution on (cache
   and force modes);
4. the indicator analysis (:mod:`analysis.indicators.scaling`, run as a command) on synthetic
   national panels of growing size: time and peak memory, each size in a fresh process;
5. the REAL networks chapter (:mod:`analysis.indicators.real_bench`, run as commands): its
   five-year practice panel, its figures and its peak memory.

The machine is shared and noisy, so every timing is the median of ``--repeat`` runs and the
results are read as ratios. Everything runs in a private copy of the repository (with its own
``analysis`` package on ``PYTHONPATH``, so edits made meanwhile do not leak in) and private
build folders; ``build/runs`` is never touched. The results go to
``build/bench/results.json`` in the shape the book's Performance page reads:
``{"summary": markdown, "tables": {section: [row, ...]}}`` plus the raw measurements.

Every timed command records the machine's load before and during it
(:mod:`analysis.compendium.benchload`); a section in which other work competed is marked
busy, in its table and on the targets it supports, and every median comes with its spread.
A full run (not ``--quick``, default root and output) also writes its results, with date,
machine and commit, to ``book/bench/results.json``: kept in the repository, so the book's
Performance page shows a measured table even on a fresh clone.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.compendium.benchbook import (
    ENGLAND,
    ENGLAND_NOTE,
    book_rebuilds,
    england_rows,
    england_runs,
    issue14_rows,
    issue17_rows,
    real_chapter_rows,
    real_chapter_runs,
    sweep_rows,
)
from analysis.compendium.benchload import (
    BUSY_BEFORE_PER_CORE,
    BUSY_EXTRA_PER_CORE,
    BUSY_OTHER_SHARE,
    LOG,
    load_rows,
    machine_state,
    section_load,
    spread_rows,
)
from analysis.compendium.benchreport import SPEEDUP_TARGET_PER_CORE, median
from analysis.compendium.benchsteps import (
    Workspace,
    choose_change,
    cold_run,
    independent_project,
    jupyter_book_runs,
    kernel_floor,
    nbconvert_run,
    noop_runs,
    papermill_loop,
    parameter_change_runs,
    parse_change,
    pipeline_order,
    speedup_runs,
)
from analysis.compendium.benchtables import report
from analysis.compendium.benchtools import (
    BenchError,
    cli,
    compute_by_notebook,
    copy_project,
    dependants,
    load_pipeline,
    project_env,
    sweep_task_seconds,
    timed,
    upstream_of,
)
from analysis.files import atomic_path
from analysis.paths import build_dir, repo_root

FULL_SIZES = (1_000, 7_000, 30_000)
QUICK_SIZES = (700, 1_400)
# The indicator analysis is strand code: the engine runs its benchmark worker as a command,
# never imports it (tests/test_architecture.py).
SCALING_WORKER = "analysis.indicators.scaling"
SWEEP_NAME = "simulation"
QUICK_SWEEP_REPLICATIONS = 1  # per task in a quick run; a full run measures the declared sweep


def single_thread(env: dict[str, str]) -> dict[str, str]:
    """``env`` with numerical libraries held to one thread: "on one core" means one core."""
    threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return {**env, **dict.fromkeys(threads, "1")}


def kept_results() -> Path:
    """The results of the last full ``make bench``, kept in the repository for the book."""
    return repo_root() / "book" / "bench" / "results.json"


def scaling_runs(sizes: tuple[int, ...], repeat: int, work: Path, env: dict[str, str]):
    """Each size in fresh processes: generation, then analysis; medians over ``repeat``."""
    results = []
    for size in sizes:
        runs = []
        for i in range(repeat):
            pickle_path = work / f"panel-{size}-{i}.pickle"
            worker = [sys.executable, "-m", SCALING_WORKER]
            gen = json.loads(timed([*worker, "generate", str(size), str(pickle_path)], env).stdout)
            ana = json.loads(timed([*worker, "analyse", str(pickle_path)], env).stdout)
            pickle_path.unlink(missing_ok=True)
            runs.append({"generate": gen, "analyse": ana})
        results.append({"n_practices": size, "runs": runs})
    return results


# --------------------------------------------------------------------------- the whole bench


@dataclass
class Settings:
    """What to measure and how often."""

    repeat: int = 3
    sizes: tuple[int, ...] = FULL_SIZES
    busy_seconds: float = 2.0
    sections: tuple[str, ...] = (
        "floors", "pipeline", "parallel", "peers", "scaling", "sweep", "realchapter", "england",
    )  # fmt: skip
    change: str | None = None
    cores: int = os.cpu_count() or 1
    quick: bool = False


def measure(source: Path, scratch: Path, settings: Settings) -> dict[str, Any]:
    """Every measurement; returns raw results (seconds, statuses, errors)."""
    ws = Workspace(copy_project(source, scratch / "project"), scratch)
    env = ws.env(scratch / "probe")
    ws.names = pipeline_order(ws.root, env)
    ws.upstream = upstream_of(load_pipeline(ws.root))
    raw: dict[str, Any] = {"notebooks": ws.names, "upstream": ws.upstream, "errors": []}
    raw["load"] = [os.getloadavg()[0]]
    raw["commands"] = {}

    def attempt(key: str, function: Callable[[], Any]) -> Any:
        first = len(LOG.records)
        try:
            raw[key] = function()
        except (BenchError, OSError, ValueError, KeyError) as err:
            raw["errors"].append(f"{key}: {err}")
            raw[key] = None
        raw["load"].append(os.getloadavg()[0])
        raw["commands"][key] = LOG.since(first)
        return raw[key]

    if "floors" in settings.sections:
        work = scratch / "floor"
        work.mkdir()
        attempt("kernel_floor", lambda: kernel_floor(work, env, settings.repeat))
    if "pipeline" in settings.sections:
        pipe = attempt("pipeline", lambda: measure_pipeline(ws, settings))
        if pipe:
            attempt("book", lambda: measure_book(ws, pipe["builds"]))
            attempt("book_rebuilds", lambda: measure_book_rebuilds(ws, pipe, settings))
            attempt("change", lambda: measure_change(ws, pipe, settings))
    if "parallel" in settings.sections:
        attempt("independent", lambda: measure_independent(scratch, settings))
    if "peers" in settings.sections:
        attempt("peers", lambda: measure_peers(ws, settings))
    if "scaling" in settings.sections:
        work = scratch / "scaling"
        work.mkdir()
        scale_env = single_thread(scaling_env(ws))
        attempt("scaling", lambda: scaling_runs(settings.sizes, settings.repeat, work, scale_env))
    if "sweep" in settings.sections:
        attempt("sweep", lambda: measure_sweep(ws, settings))
    if "realchapter" in settings.sections:
        real_env = single_thread(scaling_env(ws))
        attempt("realchapter", lambda: real_chapter_runs(settings.repeat, real_env))
    if "england" in settings.sections:
        env_1 = single_thread(scaling_env(ws))
        attempt("england", lambda: england_runs(settings.repeat, scratch / "england", env_1))
    return raw


PIPELINE_SERIES = ("cold", "serial", "compute", "serial_compute", "sweeps", "builds")


def measure_pipeline(ws: Workspace, settings: Settings) -> dict[str, Any]:
    """Cold runs (parallel and serial) and no-op reruns; keeps the parallel build folders."""
    out: dict[str, Any] = {key: [] for key in PIPELINE_SERIES}
    for _ in range(settings.repeat):
        result, build = cold_run(ws, settings.cores)
        out["cold"].append(result.seconds)
        out["compute"].append(compute_by_notebook(build, ws.names))
        out["sweeps"].append(sweep_task_seconds(build))
        out["builds"].append(str(build))
        serial, serial_build = cold_run(ws, 1)
        out["serial"].append(serial.seconds)
        out["serial_compute"].append(compute_by_notebook(serial_build, ws.names))
    out["noop"] = [run.seconds for run in noop_runs(ws, build, settings.repeat)]
    return out


def measure_book(ws: Workspace, builds: list[str]) -> list[float]:
    """``compendium book`` (HTML from the executed notebooks, no execution) per cold build."""
    return [timed(cli("book"), ws.env(Path(build))).seconds for build in builds]


def measure_book_rebuilds(ws: Workspace, pipe: dict[str, Any], settings: Settings) -> dict:
    """``compendium book`` again, unchanged and after the cheapest chapter changed."""
    build = Path(pipe["builds"][-1])
    compute = {n: median([c[n] for c in pipe["compute"]]) for n in ws.names}
    chapter = min(compute, key=compute.get)
    return book_rebuilds(ws.env(build), build, chapter, settings.repeat)


def measure_change(ws: Workspace, pipe: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """One parameter default changed (alternately back) and the whole pipeline rerun."""
    compute = {n: median([c[n] for c in pipe["compute"]]) for n in ws.names}
    change = parse_change(settings.change) if settings.change else None
    change = change or choose_change(load_pipeline(ws.root), compute)
    runs = parameter_change_runs(ws, Path(pipe["builds"][-1]), change, settings.repeat)
    return {
        "notebook": change[0],
        "parameter": change[1],
        "value": change[2],
        "expected": sorted(dependants(ws.upstream, change[0])),
        "runs": runs,
    }


def scaling_env(ws: Workspace) -> dict[str, str]:
    """Where the panel generator finds the indicator catalogue: the copy, else this package."""
    if (ws.root / "data" / "indicators").is_dir():
        return ws.env(ws.scratch / "scaling-build")
    package_root = Path(__file__).resolve().parents[2]
    return project_env(package_root, ws.scratch / "scaling-build", False)


def measure_independent(scratch: Path, settings: Settings) -> dict[str, Any]:
    """Serial against parallel on 2 x cores synthetic notebooks of equal CPU time."""
    count = 2 * settings.cores
    root = independent_project(scratch / "independent", count, settings.busy_seconds)
    times = speedup_runs(root, scratch / "independent-builds", settings.cores, settings.repeat)
    return {"notebooks": count, "busy_seconds": settings.busy_seconds, **times}


def measure_sweep(ws: Workspace, settings: Settings) -> dict[str, Any] | None:
    """The ``simulation`` sweep serially and on Dask clusters of 1 and 2 one-thread workers.

    Run as a command (:mod:`analysis.compendium.sweepbench`) in the copy, as declared in
    ``pipeline.yml`` (with ``QUICK_SWEEP_REPLICATIONS`` replications per task in a quick run);
    None when the project declares no such sweep.
    """
    if SWEEP_NAME not in (load_pipeline(ws.root).get("sweeps") or {}):
        return None
    out = ws.scratch / "sweep.json"
    command = [
        sys.executable, "-m", "analysis.compendium.sweepbench", "--sweep", SWEEP_NAME,
        "--repeat", str(settings.repeat), "--output", str(out),
        "--overhead-tasks", str(20 if settings.quick else 200),
    ]  # fmt: skip
    if settings.quick:
        command += ["--fixed", f"replications={QUICK_SWEEP_REPLICATIONS}"]
    timed(command, single_thread(ws.env(ws.scratch / "sweep-build")))
    return json.loads(out.read_text(encoding="utf-8"))


def measure_peers(ws: Workspace, settings: Settings) -> dict[str, Any]:
    """The usual ways: papermill loop, nbconvert, jupyter-book cache and force."""
    out: dict[str, Any] = {"papermill": [], "nbconvert": []}
    for _ in range(settings.repeat):
        out["papermill"].append(papermill_loop(ws).seconds)
        out["nbconvert"].append(nbconvert_run(ws).seconds)
    out["jb_cache_cold"], out["jb_cache_rerun"] = jupyter_book_runs(ws, "cache", settings.repeat)
    out["jb_force"], _ = jupyter_book_runs(ws, "force", settings.repeat)
    return out


def write_results(results: dict[str, Any], path: Path) -> Path:
    """Write the results JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return path


# Which measured section each target of the Targets table rests on.
TARGET_SECTIONS = {
    "cold run": ("kernel_floor", "pipeline"),
    "no-op rerun": ("pipeline",),
    "a one-parameter change": ("change",),
    "parallel speed-up >= {goal} x on independent": ("independent",),
    "parallel speed-up >= {goal} x on our": ("pipeline",),
    "faster than every peer": ("pipeline", "peers"),
    "far faster than every peer": ("pipeline", "peers"),
    "analysis time grows": ("scaling",),
    "make all with nothing changed": ("pipeline", "book_rebuilds"),
    "compendium book after one chapter": ("book_rebuilds",),
    "parallel speed-up at least": ("independent",),
    "quality-indicator notebook": ("pipeline",),
    "one full analysis": ("scaling",),
    "sweep speed-up": ("sweep",),
    "Dask overhead": ("sweep",),
    "REAL chapter": ("realchapter",),
    "all PCNs x the 49 indicators": ("england",),
    "peak memory of that analysis": ("england",),
}


def git_commit(source: Path) -> str:
    """The measured project's commit (``-dirty`` with uncommitted changes), or ``unknown``."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=source, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    return (commit + ("-dirty" if git("status", "--porcelain") else "")) if commit else "unknown"


def mark_load(results: dict[str, Any], raw: dict[str, Any], cores: int) -> None:
    """Add the load of every section, busy marks on the targets and the spread of repeats."""
    loads = {key: section_load(records, cores) for key, records in raw["commands"].items()}
    goal = f"{SPEEDUP_TARGET_PER_CORE * cores:.1f}"
    rows = [
        *results["tables"].get("Targets", []),
        *results["tables"].get(ISSUE17, []),
        *results["tables"].get(ISSUE14, []),
        *results["tables"].get(REAL, []),
        *results["tables"].get(ENGLAND, []),
    ]
    for row in rows:
        sections = next(
            (
                v
                for k, v in TARGET_SECTIONS.items()
                if row["target"].startswith(k.format(goal=goal))
            ),
            (),
        )
        busy = [s for s in sections if loads.get(s, {}).get("busy")]
        row["machine"] = "busy" if busy else ("quiet" if sections else "n/a")
    state = machine_state(loads)
    results["machine"] = state
    results["loads"] = loads
    note = (
        "**Measured on a busy machine**: other work competed with at least one measurement "
        "(see *Machine load*): its times are likely inflated and its parallel speed-ups "
        "understated, since other work held some of the cores."
        if state == "busy"
        else "No measurement competed with other work (see *Machine load*)."
    )
    results["summary"] = note + "\n\n" + results["summary"]
    results["tables"]["Machine load"] = load_rows(loads, cores)
    results["tables"]["Spread of the repeated runs"] = spread_rows(raw)
    results["notes"]["Machine load"] = LOAD_NOTE.format(
        share=BUSY_OTHER_SHARE,
        before=BUSY_BEFORE_PER_CORE * cores,
        peak=cores + BUSY_EXTRA_PER_CORE * cores,
    )
    results["notes"]["Spread of the repeated runs"] = (
        "Median, fastest and slowest of the repeated runs behind each median above; a speed-up "
        "per pair divides the serial run by the parallel run made right after it."
    )
    results["tables"] = {k: v for k, v in results["tables"].items() if v}


ISSUE17 = "Targets of issue 17"
REAL = "Targets of the REAL networks chapter"
ISSUE14 = "Targets of issue 14"
SWEEPS = "Sweeps on Dask"
SWEEPS_NOTE = (
    "The `simulation` sweep of pipeline.yml (each task a process running one batch of "
    "replications) run three ways: serially, and on a Dask LocalCluster of one and of two "
    "one-thread worker processes (cluster start-up not counted). The overhead is the time "
    "per no-op task submitted to and gathered from two workers."
)
LOAD_NOTE = (
    "*Other work* is the CPU time the machine spent busy while a command ran (from "
    "/proc/stat, including time stolen by other virtual machines) minus the CPU time of the "
    "benchmark and of every process it started, as a share of all cores over the command's "
    "wall time. A command counts as busy when other work took more than {share:.0%} of the "
    "machine. The one-minute load average before each command and sampled every half second "
    "while it ran is shown for information only: it lags by a minute, so right after one of "
    "our own measurements it still counts that measurement's processes. (Without /proc/stat, "
    "the load decides: busy above {before:.1f} before the command or {peak:.1f} during it.)"
)


def missed_note(results: dict[str, Any]) -> str:
    """The summary's sentence on the missed targets of the other tables (issue 8's are above)."""
    missed = [
        row["target"]
        for table in (ISSUE17, ISSUE14, REAL, ENGLAND)
        for row in results["tables"].get(table, [])
        if row["result"] == "missed"
    ]
    if not missed:
        return ""
    return "\n\nOther targets missed: " + "; ".join(missed) + " (their rows say by how much)."


def run_bench(source: Path, out: Path, settings: Settings, keep: Path | None = None) -> dict:
    """Measure everything in a scratch folder and write ``out``; returns the results."""
    scratch = Path(tempfile.mkdtemp(prefix="compendium-bench-", dir=keep))
    try:
        raw = measure(source, scratch, settings)
        results = report(raw, settings.cores, settings.repeat)
        results["tables"][ISSUE17] = issue17_rows(raw, results["derived"])
        results["tables"][ISSUE14] = issue14_rows(raw)
        results["tables"][SWEEPS] = sweep_rows(raw)
        results["tables"][REAL] = real_chapter_rows(raw)
        results["tables"][ENGLAND] = england_rows(raw)
        results["notes"][ENGLAND] = ENGLAND_NOTE
        results["notes"][REAL] = (
            "The REAL networks chapter's targets, each worker in fresh processes with numerical "
            "libraries on one thread: its five-year practice-level panel, its five figures and "
            "the peak resident memory of either worker."
        )
        results["notes"][ISSUE14] = (
            "The performance targets of issue 14 (methods and a simulation study on Dask), each "
            "with the median and range of its repeated runs."
        )
        results["notes"][SWEEPS] = SWEEPS_NOTE
        results["notes"][ISSUE17] = (
            "The targets of issue 17 (a rerun costs nothing, a chapter compiles in seconds), "
            "each with the median and range of its repeated runs."
        )
        results["summary"] += missed_note(results)
        mark_load(results, raw, settings.cores)
        results["settings"] = settings.__dict__
        results["recorded"] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} ({platform.platform()}, {settings.cores} cores)",
            "python": platform.python_version(),
            "commit": git_commit(source),
        }
        write_results(results, out)
        return results
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, small panels (smoke run)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (3)")
    parser.add_argument("--root", type=Path, default=None, help="project to measure (this one)")
    parser.add_argument(
        "--out", type=Path, default=None, help="results file (build/bench/results.json)"
    )
    parser.add_argument("--sizes", default=None, help="panel sizes, e.g. 1000,7000,30000")
    parser.add_argument(
        "--only",
        default=None,
        help="sections: floors,pipeline,parallel,peers,scaling,sweep,realchapter,england",
    )
    parser.add_argument("--change", default=None, help="parameter to change: NOTEBOOK:NAME=VALUE")
    parser.add_argument("--keep", type=Path, default=None, help="keep scratch folders under this")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = (
        Settings(repeat=1, sizes=QUICK_SIZES, busy_seconds=0.5, quick=True)
        if args.quick
        else Settings()
    )
    if args.repeat:
        settings.repeat = max(1, args.repeat)
    if args.sizes:
        settings.sizes = tuple(int(s) for s in args.sizes.split(","))
    if args.only:
        settings.sections = tuple(s.strip() for s in args.only.split(","))
    settings.change = args.change
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    out = args.out or build_dir() / "bench" / "results.json"
    results = run_bench((args.root or repo_root()).resolve(), out, settings, args.keep)
    if not settings.quick and args.out is None and args.root is None:
        # The last full run is kept in the repository: the book shows it on a fresh clone.
        write_results(results, kept_results())
    print(results["summary"])
    rows = [results["tables"].get(k, []) for k in ("Targets", ISSUE17, ISSUE14, REAL, ENGLAND)]
    for row in (r for table in rows for r in table):
        print(f"  {row['result']:7} {row['target']}: {row['measured']}")
    print(f"results: {out}")
    return 1 if results["raw"]["errors"] else 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
