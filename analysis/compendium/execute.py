"""Executing one notebook: papermill, one fresh kernel, its manifest, its plan and freshness.

A notebook runs in a temporary folder beside its run folder with ``output_dir = "."``;
only when it succeeds and has written every declared output is the temporary folder
moved into place. A failure keeps the partly executed notebook in ``failed-<set>/``
and never touches the previous good run. :func:`plan_notebook` resolves a notebook's
parameters and says whether its last run is still fresh. Used by the runner, which schedules
the notebooks, and by a sweep whose tasks are notebook runs; it imports neither.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.compendium import atomic, cache, observe, reads
from analysis.compendium import pipeline as pl
from analysis.compendium.inputcheck import input_problems
from analysis.compendium.outcome import Outcome
from analysis.errors import CompendiumError, describe_os_error
from analysis.files import atomic_path
from analysis.paths import repo_root

MANIFEST = "run.json"


class RunError(CompendiumError, RuntimeError):
    """A run could not start or a notebook failed; the message says which and why."""


# --------------------------------------------------------------------------- manifest


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The run manifest in ``folder``, or None if there is no complete run."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    manifest["_folder"] = str(folder)
    return manifest


def git_commit() -> str:
    """The repository's commit (with ``-dirty`` when there are uncommitted changes)."""
    import subprocess

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=repo_root(), capture_output=True, text=True, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return commit + ("-dirty" if dirty else "")


# --------------------------------------------------------------------------- one notebook


def _describe_failure(name: str, err: BaseException) -> str:
    cell = getattr(err, "exec_count", None)
    ename = getattr(err, "ename", None)
    if ename:
        lines = [line for line in str(getattr(err, "evalue", "")).strip().splitlines() if line]
        # A DataError names the file on its first line and the rows below it: keep both.
        shown = lines if len(lines) <= 11 else [lines[0], *lines[-10:]]
        return f"notebook {name!r} failed in cell [{cell}]: {ename}: " + "\n".join(shown)
    kind = type(err).__name__
    if kind == "DeadKernelError":
        return f"notebook {name!r}: the kernel died ({err})"
    if isinstance(err, NotebookTimeout):
        return str(err)
    if kind == "CellTimeoutError" or isinstance(err, TimeoutError):
        first = str(err).strip().splitlines()[0] if str(err).strip() else kind
        return f"notebook {name!r}: a cell timed out ({first})"
    return f"notebook {name!r} failed: {kind}: {err}"


class NotebookTimeout(TimeoutError):
    """A notebook used up its time budget (pipeline.yml ``timeout``)."""


def notebook_budget(name: str, seconds: float) -> Callable[..., None]:
    """A hook run before each cell: stops the notebook once ``seconds`` have passed in all.

    papermill's ``execution_timeout`` bounds each cell; this bounds the notebook, checked at
    cell boundaries, so a notebook runs at most its budget plus one cell's (itself bounded).
    """
    deadline: list[float] = []  # set at the first cell, so kernel start-up is not counted

    def hook(cell: Any = None, cell_index: int = 0, **_: Any) -> None:
        if not deadline:
            deadline.append(time.monotonic() + seconds)
        elif time.monotonic() > deadline[0]:
            raise NotebookTimeout(
                f"notebook {name!r} exceeded its {seconds} s budget before cell {cell_index + 1}"
            )

    return hook


def check_inputs(notebook: pl.Notebook, produced: set[str] = frozenset()) -> None:
    """Every declared input exists and is readable (except those a selected upstream makes)."""
    for ref in notebook.inputs:
        if ref.split(":", 1)[0] in produced:
            continue
        path = pl.input_path(ref)
        if pl.is_pattern(ref) and path.is_dir() and not cache.pattern_files(ref):
            raise RunError(f"notebook {notebook.name!r}: input {ref} matches no file in {path}")
        if not path.exists():
            hint = f" (run {ref.split(':')[0]!r} first)" if ":" in ref else ""
            raise RunError(f"notebook {notebook.name!r}: input {ref} not found at {path}{hint}")
        if path.is_file() and not os.access(path, os.R_OK):
            raise RunError(f"notebook {notebook.name!r}: input {ref} at {path} is not readable")
        if ":" in ref:
            manifest = read_manifest(pl.run_dir(ref.split(":", 1)[0]))
            damaged = cache.integrity_problems(manifest) if manifest else []
            if damaged:
                raise RunError(
                    f"notebook {notebook.name!r}: input {ref} no longer matches the sha256 in "
                    f"its run.json ({'; '.join(damaged[:3])}); run "
                    f"`compendium run {ref.split(':')[0]} --force` first"
                )


def _check_after(
    notebook: pl.Notebook, parameters: dict[str, Any], before: dict[str, Any], stamps: dict
) -> None:
    """Refuse a run whose inputs changed while it ran (even if put back), or that wrote
    into other runs."""
    after = cache.cache_components(notebook, parameters)
    changed = sorted(
        ref for ref in {*before["inputs"], *after["inputs"]}
        if before["inputs"].get(ref) != after["inputs"].get(ref)
    )  # fmt: skip
    now = cache.input_stamps(notebook, parameters)
    changed += sorted(
        {key.split(":/", 1)[0] for key in {*stamps, *now} if stamps.get(key) != now.get(key)}
        - set(changed)
    )
    if changed or after["source"] != before["source"]:
        what = ", ".join(changed) or str(notebook.source)
        raise RunError(
            f"notebook {notebook.name!r}: {what} changed while it ran; the run is not recorded "
            "(run it again once the files are settled)"
        )
    tampered = cache.tampered_runs()
    if tampered:
        raise RunError(
            f"notebook {notebook.name!r} wrote outside its own run folder: "
            + "; ".join(tampered[:5])
            + " (a notebook writes only under its output_dir)"
        )


def _check_reads(notebook: pl.Notebook, parameters: dict[str, Any], tmp: Path) -> list[str]:
    """Refuse a run that read a project file its cache key does not cover; return the
    project files it read (for its manifest)."""
    log = tmp / observe.READS_LOG
    if not log.is_file():
        raise RunError(
            f"notebook {notebook.name!r}: its kernel did not record the files it read "
            f"({log.name} missing: was the analysis package importable in the kernel?)"
        )
    read = observe.read_log(log)
    log.unlink()
    paths = [
        parameters[name]
        for name, param in notebook.parameters.items()
        if param.type == "path" and parameters.get(name)
    ]
    covered = reads.coverage(notebook.cache_inputs, paths, own=[tmp])
    missing = reads.undeclared(read, covered)
    if missing:
        raise RunError(reads.describe(notebook.name, "notebook", missing))
    own = Path(os.path.realpath(tmp))
    return reads.recorded_reads(p for p in read if not Path(p).is_relative_to(own))


def _write_manifest(
    tmp: Path,
    notebook: pl.Notebook,
    parameters: dict[str, Any],
    paramset: str,
    components: dict[str, Any],
    seconds: float,
    read: list[str],
) -> None:
    files = cache.folder_hashes(tmp)
    manifest = {
        "notebook": notebook.name,
        "title": notebook.title,
        "source": str(notebook.source),
        "paramset": paramset,
        "parameters": parameters,
        "cache": components,
        "cache_key": cache.cache_key(components),
        "outputs": {out: files[out] for out in notebook.outputs},
        "files": files,
        "executed_notebook": f"{notebook.name}.ipynb",
        "reads": read,
        "seconds": round(seconds, 3),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }
    with atomic_path(tmp / MANIFEST) as path:
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def execute_notebook(
    notebook: pl.Notebook,
    parameters: dict[str, Any],
    paramset: str,
    components: dict[str, Any],
) -> Outcome:
    """Check the notebook's inputs (:func:`input_problems`), then run it with papermill in a
    fresh kernel and move its run into place. Bad inputs start no kernel and write nothing."""
    checked = time.perf_counter()
    problems = input_problems(notebook, parameters)
    if problems:
        return Outcome(notebook.name, "failed", None, time.perf_counter() - checked, problems)
    import papermill

    # A timed-out cell leaves nbclient's output poller pending; asyncio then logs noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    final = pl.run_dir(notebook.name, paramset)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.private_folder(final.parent, paramset)
    output_nb = tmp / f"{notebook.name}.ipynb"
    started = time.perf_counter()
    try:
        stamps = cache.input_stamps(notebook, parameters)
        papermill.execute_notebook(
            str(repo_root() / notebook.source),
            str(output_nb),
            parameters={**parameters, "output_dir": "."},
            kernel_name="python3",
            # The kernel starts in the run folder; papermill's own `cwd` would chdir the
            # whole process, which races between parallel runs.
            resources={"metadata": {"path": str(tmp)}},
            # Every file the kernel opens is recorded, and the kernel dies with this process.
            extra_arguments=[
                "--IPKernelApp.log_level=ERROR",
                f"--IPKernelApp.exec_lines={observe.kernel_startup()}",
            ],
            # Each kernel serves one notebook whose results are already saved: no need to wait.
            shutdown_kernel="immediate",
            execution_timeout=notebook.timeout,
            on_cell_execute=notebook_budget(notebook.name, notebook.timeout),
            progress_bar=False,
            log_output=False,
        )
        read = _check_reads(notebook, parameters, tmp)
        missing = [out for out in notebook.outputs if not (tmp / out).is_file()]
        if missing:
            raise RunError(f"notebook {notebook.name!r} did not write declared output(s) {missing}")
        _check_after(notebook, parameters, components, stamps)
        seconds = time.perf_counter() - started
        _write_manifest(tmp, notebook, parameters, paramset, components, seconds, read)
    except BaseException as err:
        failed = final.parent / f"failed-{paramset}"
        shutil.rmtree(failed, ignore_errors=True)
        os.rename(tmp, failed)
        if isinstance(err, RunError | pl.PipelineError):
            message = str(err)
        elif isinstance(err, OSError) and not isinstance(err, TimeoutError):
            message = f"notebook {notebook.name!r}: {describe_os_error(err)}"
        else:
            message = _describe_failure(notebook.name, err)
        message += f"; partly executed notebook kept in {failed / output_nb.name}"
        return Outcome(notebook.name, "failed", failed, time.perf_counter() - started, message)
    atomic.swap_folder(tmp, final)
    shutil.rmtree(final.parent / f"failed-{paramset}", ignore_errors=True)
    return Outcome(notebook.name, "executed", final, seconds)


# --------------------------------------------------------------------------- status


@dataclass
class Plan:
    """A notebook with its resolved parameters, folder and freshness."""

    notebook: pl.Notebook
    parameters: dict[str, Any]
    paramset: str
    components: dict[str, Any]
    reasons: list[str]

    @property
    def fresh(self) -> bool:
        return not self.reasons


def plan_notebook(notebook: pl.Notebook, overrides: dict[str, Any] | None = None) -> Plan:
    """Resolve parameters, compute the cache components and compare with the last run."""
    parameters = pl.resolve_parameters(notebook, overrides or {})
    paramset = pl.paramset_name(notebook, parameters)
    folder = pl.run_dir(notebook.name, paramset)
    components = cache.cache_components(notebook, parameters)
    reasons = cache.stale_reasons(notebook, components, read_manifest(folder))
    aside = [] if folder.exists() else list(folder.parent.glob(f".old-[0-9]*-{paramset}"))
    if aside:
        reasons.append(
            f"an interrupted update left it in {aside[0].name}; "
            "the next `compendium run` restores it"
        )
    return Plan(notebook, parameters, paramset, components, reasons)


def status(pipeline: pl.Pipeline) -> list[Plan]:
    """Every notebook's default run, fresh or stale with reasons, in run order."""
    return [plan_notebook(pipeline.notebook(name)) for name in pipeline.order()]
