"""Running the pipeline: the selected notebooks in dependency order, in parallel where allowed.

The runner schedules steps: each notebook is run by :mod:`.execute` (one fresh kernel, its
own temporary folder, swapped in only when whole) as soon as the notebooks and sweeps it
reads are done and a core is free; the sweeps the notebooks read are steps of another kind,
run on Dask by :mod:`.sweepsteps` beside them. Also writes the pipeline's manifest
(``build/manifest.json``) that the book reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.compendium import atomic, cache
from analysis.compendium import pipeline as pl
from analysis.compendium.execute import (
    RunError,
    check_inputs,
    execute_notebook,
    git_commit,
    plan_notebook,
    read_manifest,
)
from analysis.compendium.outcome import Outcome
from analysis.compendium.sweepsteps import SweepSteps
from analysis.files import atomic_path
from analysis.paths import build_dir

LOCK_FILE = atomic.LOCK_FILE
ENVIRONMENT_PACKAGES = (
    "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "pandera",
    "papermill", "nbclient", "ipykernel", "jupyter-book", "sphinx", "myst-nb",
)  # fmt: skip


# --------------------------------------------------------------------------- lock


def run_lock(command: str) -> contextlib.AbstractContextManager[None]:
    """Hold the build folder's lock (shared with ``compendium book``); see :mod:`.atomic`."""
    return atomic.build_lock(command)


def environment() -> dict[str, Any]:
    """Python and package versions, for the manifest."""
    from importlib import metadata

    versions = {}
    for package in ENVIRONMENT_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {"python": sys.version.split()[0], "platform": sys.platform, "packages": versions}


def write_pipeline_manifest(pipeline: pl.Pipeline) -> Path:
    """Gather the default runs' manifests into ``build/manifest.json`` for the book."""
    runs = {}
    for name in pipeline.notebooks:
        manifest = read_manifest(pl.run_dir(name))
        if manifest:
            manifest.pop("_folder", None)
            runs[name] = manifest
    document = {
        "git_commit": git_commit(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "notebooks": runs,
    }
    target = build_dir() / "manifest.json"
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


# --------------------------------------------------------------------------- the run


def _kill_children() -> None:
    """Stop kernels this process started (on Ctrl-C or SIGTERM)."""
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def _load_executor() -> None:
    """Import papermill, and through it nbformat and jsonschema, here before notebooks start.

    Importing jsonschema compiles grammars with ``ast.literal_eval``; CPython 3.11's parser
    must not run in two threads at once (python/cpython#106905), and this thread parses each
    notebook's code while others run (:func:`analysis.compendium.cache.package_digest`).
    """
    import papermill  # noqa: F401


def run(
    pipeline: pl.Pipeline,
    names: list[str] | None = None,
    overrides: dict[str, Any] | None = None,
    *,
    force: bool = False,
    jobs: int | None = None,
    report: Callable[[Outcome | tuple[str, str]], None] = lambda event: None,
) -> list[Outcome]:
    """Execute the selected notebooks (all by default) in dependency order.

    Parameters
    ----------
    pipeline
        The loaded pipeline.
    names
        Notebooks to run; their upstream notebooks are not added, but must have run.
    overrides
        Parameter values for the single named notebook.
    force
        Re-execute even when fresh.
    jobs
        Notebooks run at once (default: the number of cores).
    report
        Called with ``("start", name)`` and with each :class:`Outcome`.
    """
    selected = pipeline.order(names or None)
    for name in names or []:
        pipeline.notebook(name)
    if overrides and len(selected) != 1:
        raise RunError("parameters (-p) can be given only when running exactly one notebook")
    jobs = max(1, jobs or os.cpu_count() or 1)
    lock = threading.Lock()

    def report_locked(event: Outcome | tuple[str, str]) -> None:
        with lock:  # the sweeps report from their own thread
            report(event)

    # The sweeps run on their own Dask cluster beside the notebooks that do not read them,
    # which share the cores that the cluster's workers leave (each holds one).
    sweeps = SweepSteps(pipeline, selected, jobs=jobs, report=report_locked)
    plans = {name: plan_notebook(pipeline.notebook(name), overrides) for name in selected}
    for plan in plans.values():
        check_inputs(plan.notebook, produced=set(plans))
    if force or any(not plan.fresh for plan in plans.values()):
        _load_executor()
    outcomes: dict[str, Outcome] = {}
    pending = list(selected)
    running: dict[Future, str] = {}

    def launch(pool: ThreadPoolExecutor, name: str) -> None:
        plan = plans[name]
        failed = sweeps.failure(plan.notebook)
        if failed:
            outcome = Outcome(name, "skipped", message=failed)
            outcomes[name] = outcome
            report_locked(outcome)
            return
        check_inputs(plan.notebook)
        # Upstream outputs exist only now: recompute the key before deciding.
        plan.components = cache.cache_components(plan.notebook, plan.parameters)
        manifest = read_manifest(pl.run_dir(name, plan.paramset))
        plan.reasons = cache.stale_reasons(plan.notebook, plan.components, manifest)
        if plan.fresh and not force:
            outcome = Outcome(name, "cached", pl.run_dir(name, plan.paramset))
            outcomes[name] = outcome
            report_locked(outcome)
            return
        report_locked(("start", name))
        future = pool.submit(
            execute_notebook, plan.notebook, plan.parameters, plan.paramset, plan.components
        )
        with lock:
            running[future] = name

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            while pending or running:
                for name in list(pending):
                    upstream = [u for u in pipeline.upstream(name) if u in plans]
                    if any(
                        outcomes.get(u) and outcomes[u].status in ("failed", "skipped")
                        for u in upstream
                    ):
                        pending.remove(name)
                        outcome = Outcome(name, "skipped", message="an upstream notebook failed")
                        outcomes[name] = outcome
                        report_locked(outcome)
                    elif (
                        all(u in outcomes for u in upstream)
                        and sweeps.finished(pipeline.notebook(name))
                        and len(running) + sweeps.cores_in_use() < jobs
                    ):
                        pending.remove(name)
                        launch(pool, name)
                if running:
                    done, _ = wait(list(running), timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in done:
                        name = running.pop(future)
                        outcomes[name] = future.result()
                        report_locked(outcomes[name])
                elif pending:
                    sweeps.wait(0.2)  # only notebooks that read a running sweep are left
        except KeyboardInterrupt:
            pending.clear()
            sweeps.cancel()
            _kill_children()
            for future in running:
                future.cancel()
            raise
    sweeps.join()
    return [outcomes[name] for name in selected]
