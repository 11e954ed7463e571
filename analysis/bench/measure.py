"""Every measurement of ``make bench``, in a private copy of the project: raw seconds.

:func:`measure` runs the sections :class:`Settings` names (floors, our pipeline, independent
notebooks, peers, growing panels, the sweep on Dask, the REAL networks chapter, England
scale), each through :mod:`analysis.bench.steps`, and records every command's machine load
(:mod:`analysis.bench.load`). A section that fails is recorded as an error and the others
still run. The strands' benchmark workers run as commands, never imported.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.bench.derive import median
from analysis.bench.load import LOG
from analysis.bench.steps import (
    Workspace,
    book_rebuilds,
    choose_change,
    cold_run,
    england_runs,
    independent_project,
    jupyter_book_runs,
    kernel_floor,
    nbconvert_run,
    noop_runs,
    papermill_loop,
    parameter_change_runs,
    parse_change,
    pipeline_order,
    real_chapter_runs,
    speedup_runs,
)
from analysis.bench.tools import (
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

FULL_SIZES = (1_000, 7_000, 30_000)
QUICK_SIZES = (700, 1_400)
# The indicator analysis is strand code: the engine runs its benchmark worker as a command,
# never imports it (tests/test_architecture.py).
SCALING_WORKER = "analysis.indicators.synthetic.scaling"
SWEEP_NAME = "simulation"
QUICK_SWEEP_REPLICATIONS = 1  # per task in a quick run; a full run measures the declared sweep


def single_thread(env: dict[str, str]) -> dict[str, str]:
    """``env`` with numerical libraries held to one thread: "on one core" means one core."""
    threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    return {**env, **dict.fromkeys(threads, "1")}


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

    Run as a command (:mod:`analysis.bench.sweeps`) in the copy, as declared in
    ``pipeline.yml`` (with ``QUICK_SWEEP_REPLICATIONS`` replications per task in a quick run);
    None when the project declares no such sweep.
    """
    if SWEEP_NAME not in (load_pipeline(ws.root).get("sweeps") or {}):
        return None
    out = ws.scratch / "sweep.json"
    command = [
        sys.executable, "-m", "analysis.bench.sweeps", "--sweep", SWEEP_NAME,
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
