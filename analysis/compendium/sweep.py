"""Parameter sweeps on Dask: a grid of tasks, each cached under its own key.

A sweep is declared in ``pipeline.yml`` under ``sweeps.<name>``::

    sweeps:
      simulation:
        title: Simulation study, 8 batches of 125 replications
        command: [python, -m, analysis.indicators.synthetic.simulation]
        grid: {batch: [0, 1, 2, 3, 4, 5, 6, 7]}
        fixed: {replications: 125}
        output: replications.csv
      qi_sensitivity:
        notebook: quality_indicators
        grid: {alpha: [0.01, 0.05], tau2_method: [winsorised, dl]}
        output: tables/summary_counts.csv

Each combination of grid values is one task. A ``command`` task runs the command in a new
process (``python`` is this interpreter) with ``--<name> <value>`` per parameter and
``--output <file>``; a ``notebook`` task is a papermill run of a declared notebook with
those parameters, cached like any ``compendium run`` (:mod:`analysis.compendium.execute`).
The engine imports no science: a strand's code runs only inside those processes.

Tasks run on ``dask.distributed``: a ``LocalCluster`` of one-thread worker processes by
default, an existing scheduler by address, or a SLURM cluster through ``dask-jobqueue``
(:func:`slurm_cluster`). A finished task's folder holds ``task.json`` with its cache key,
written last, so an interrupted sweep resumes with only the unfinished tasks; a task that
fails is retried once and then reported by name while the others finish. The sweep's
outputs are gathered, with one column per grid parameter, into
``<build>/sweeps/<name>/results.csv``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.compendium import cache
from analysis.compendium import pipeline as pl
from analysis.compendium.clusters import (  # noqa: F401 - the sweep's cluster API, re-exported
    close_client,
    make_client,
    slurm_cluster,
)
from analysis.compendium.sweeptask import TASK_FILE, plan_task, run_task
from analysis.configschema import check_config
from analysis.errors import CompendiumError
from analysis.files import sha256_file
from analysis.paths import SWEEP_RECORD, sweep_dir
from analysis.paths import SWEEP_RESULTS as RESULTS_FILE

DEFAULT_TIMEOUT = 600
_VALUE = {"type": ["string", "number", "boolean"]}
_VALUES = {"oneOf": [_VALUE, {"type": "array", "items": _VALUE}]}
SWEEPS_SCHEMA = {
    "type": "object",
    "properties": {
        "sweeps": {
            "type": ["object", "null"],
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["grid", "output"],
                "properties": {
                    "title": {"type": "string"},
                    "command": {
                        "oneOf": [
                            {"type": "string", "minLength": 1},
                            {"type": "array", "minItems": 1, "items": {"type": "string"}},
                        ]
                    },
                    "notebook": {"type": "string", "minLength": 1},
                    "grid": {
                        "type": "object",
                        "minProperties": 1,
                        "additionalProperties": {"type": "array", "minItems": 1, "items": _VALUES},
                    },
                    "fixed": {"type": ["object", "null"], "additionalProperties": _VALUES},
                    "output": {"type": "string", "minLength": 1},
                    "inputs": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "timeout": {"type": "integer", "minimum": 1},
                },
            },
        }
    },
}
"""What ``pipeline.yml``'s ``sweeps`` section may say: types, allowed keys, flat values."""
GATHERED_FILE = SWEEP_RECORD  # the declaration, task keys and sha256 behind results.csv


class SweepError(CompendiumError, ValueError):
    """A sweep declaration or option that cannot be used; the message names where."""


@dataclass(frozen=True)
class Sweep:
    """One declared sweep."""

    name: str
    title: str
    grid: dict[str, list[Any]]
    output: str
    command: tuple[str, ...] = ()
    notebook: str = ""
    fixed: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    timeout: int = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Task:
    """One parameter set of a sweep, with its cache key and folder."""

    sweep: str
    name: str
    parameters: dict[str, Any]
    key: str
    folder: Path


@dataclass
class SweepReport:
    """What a sweep did: task names by status, and how long it took."""

    cached: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    results: Path | None = None


# --------------------------------------------------------------------------- declarations


def _fail(path: Path, line: int, message: str) -> SweepError:
    return SweepError(f"{path}:{line}: {message}")


def load_sweeps(pipeline: pl.Pipeline) -> dict[str, Sweep]:
    """The ``sweeps`` section of the pipeline file, checked against :data:`SWEEPS_SCHEMA`
    and the notebooks it names; errors name the file, line and key."""
    path = pipeline.path
    raw = pl.read_raw(path)
    check_config(raw, SWEEPS_SCHEMA, path)
    section = raw.get("sweeps") or {}
    sweeps = {}
    for name, spec in section.items():
        line = pl._line(section, name)
        if bool(spec.get("command")) == bool(spec.get("notebook")):
            raise _fail(path, line, f"sweep {name!r}: give exactly one of 'command' or 'notebook'")
        grid = spec["grid"]
        try:
            for ref in spec.get("inputs") or []:
                pl.check_data_input(ref)
        except ValueError as err:
            raise _fail(path, pl._line(spec, "inputs"), f"sweep {name!r}: {err}") from None
        notebook = spec.get("notebook") or ""
        if notebook:
            if notebook not in pipeline.notebooks:
                raise _fail(path, line, f"sweep {name!r}: unknown notebook {notebook!r}")
            nb = pipeline.notebook(notebook)
            bad = sorted((set(grid) | set(spec.get("fixed") or {})) - set(nb.parameters))
            if bad:
                raise _fail(path, line, f"sweep {name!r}: {notebook!r} has no parameter(s) {bad}")
            if spec["output"] not in nb.outputs:
                raise _fail(
                    path,
                    line,
                    f"sweep {name!r}: {notebook!r} declares no output {spec['output']!r}",
                )
        command = spec.get("command") or ()
        if isinstance(command, str):
            command = command.split()
        sweeps[name] = Sweep(
            name=name,
            title=str(spec.get("title") or name),
            grid={k: list(v) for k, v in grid.items()},
            output=spec["output"],
            command=tuple(str(c) for c in command),
            notebook=notebook,
            fixed=dict(spec.get("fixed") or {}),
            inputs=tuple(spec.get("inputs") or ()),
            timeout=spec.get("timeout", DEFAULT_TIMEOUT),
        )
    return sweeps


def get_sweep(pipeline: pl.Pipeline, name: str) -> Sweep:
    sweeps = load_sweeps(pipeline)
    if name not in sweeps:
        known = ", ".join(sweeps) or "none"
        raise SweepError(f"unknown sweep {name!r}; the pipeline declares: {known}")
    return sweeps[name]


# --------------------------------------------------------------------------- tasks and keys


def _code_digest(sweep: Sweep) -> str:
    """Digest of what a command runs: the ``analysis`` modules it imports, or its script."""
    digest = hashlib.sha256()
    args = list(sweep.command)
    if "-m" in args:
        module = args[args.index("-m") + 1]
        for file in cache.module_closure({module}):
            digest.update(file.read_bytes())
    for arg in args:
        candidate = Path(arg)
        if candidate.suffix == ".py" and candidate.is_file():
            digest.update(candidate.read_bytes())
    return digest.hexdigest()


def _task_name(parameters: dict[str, Any]) -> str:
    return ",".join(
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in parameters.items()
    )


def tasks(sweep: Sweep, pipeline: pl.Pipeline) -> list[Task]:
    """Every grid combination of ``sweep`` with its cache key and folder."""
    names = list(sweep.grid)
    code = _code_digest(sweep) if sweep.command else ""
    out = []
    for values in itertools.product(*(sweep.grid[n] for n in names)):
        grid_values = dict(zip(names, values, strict=True))
        parameters = {**sweep.fixed, **grid_values}
        if sweep.notebook:
            plan = plan_task(pipeline, sweep.notebook, parameters)
            key = cache.cache_key(plan.components)
        else:
            made_of = {"command": sweep.command, "parameters": parameters, "code": code}
            if sweep.inputs:
                made_of["inputs"] = {ref: cache.input_digest(ref) for ref in sweep.inputs}
            key = hashlib.sha256(pl.canonical_json(made_of).encode()).hexdigest()
        name = _task_name(grid_values)
        slug = hashlib.sha256(name.encode()).hexdigest()[:10]
        out.append(Task(sweep.name, name, parameters, key, sweep_dir(sweep.name) / "tasks" / slug))
    return out


def is_done(task: Task) -> bool:
    """True when the task's folder records a finished run with the same cache key."""
    try:
        recorded = json.loads((task.folder / TASK_FILE).read_text())
    except (OSError, ValueError):
        return False
    return recorded.get("key") == task.key


def _gathered(sweep: Sweep, all_tasks: list[Task]) -> dict[str, Any]:
    return {
        "sweep": sweep.name,
        "title": sweep.title,
        "grid": sweep.grid,
        "fixed": sweep.fixed,
        "output": sweep.output,
        "keys": [t.key for t in all_tasks],
    }


def is_current(sweep: Sweep, pipeline: pl.Pipeline, all_tasks: list[Task] | None = None) -> bool:
    """True when every task is done and ``results.csv`` was gathered from exactly these tasks
    (and not edited since): a sweep with nothing to do starts no cluster and reads no CSV."""
    folder = sweep_dir(sweep.name)
    try:
        recorded = json.loads((folder / GATHERED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    all_tasks = tasks(sweep, pipeline) if all_tasks is None else all_tasks
    if {k: v for k, v in recorded.items() if k != "sha256"} != _gathered(sweep, all_tasks):
        return False
    try:
        return recorded.get("sha256") == sha256_file(folder / RESULTS_FILE) and all(
            is_done(t) for t in all_tasks
        )
    except OSError:
        return False


def _spec(task: Task, sweep: Sweep, pipeline: pl.Pipeline) -> dict[str, Any]:
    return {
        "sweep": sweep.name,
        "name": task.name,
        "parameters": task.parameters,
        "key": task.key,
        "folder": str(task.folder),
        "output": sweep.output,
        "command": list(sweep.command),
        "notebook": sweep.notebook,
        "pipeline": str(pipeline.path),
        "inputs": list(sweep.inputs),
        "timeout": sweep.timeout,
    }


# --------------------------------------------------------------------------- the sweep


def run_sweep(
    sweep: Sweep,
    pipeline: pl.Pipeline,
    *,
    client: Any = None,
    report: Callable[[dict[str, Any]], None] | None = None,
    all_tasks: list[Task] | None = None,
) -> SweepReport:
    """Run every unfinished task of ``sweep`` (serially when ``client`` is None).

    ``report`` is called at the start and after each task with counts ``done``, ``running``
    (unfinished tasks up to the workers' thread count), ``failed``,
    ``cached``, ``total`` and ``eta_seconds`` (estimated time left). ``all_tasks``, the
    sweep's :func:`tasks` computed beforehand, spares computing the keys (which parses code)
    here: a caller running this in a thread computes them first, in its own.
    """
    started = time.perf_counter()
    all_tasks = tasks(sweep, pipeline) if all_tasks is None else all_tasks
    result = SweepReport()
    todo = []
    for task in all_tasks:
        if is_done(task):
            result.cached.append(task.name)
        else:
            todo.append(task)
    total = len(all_tasks)

    def progress(running: int) -> None:
        if report is None:
            return
        done = len(result.executed)
        elapsed = time.perf_counter() - started
        left = total - len(result.cached) - done - len(result.failed)
        eta = elapsed / done * left if done else float("nan")
        report(
            {
                "done": done,
                "cached": len(result.cached),
                "running": running,
                "failed": len(result.failed),
                "total": total,
                "eta_seconds": eta,
            }
        )

    progress(0)
    if client is None:
        for task in todo:
            progress(1)
            try:
                run_task(_spec(task, sweep, pipeline))
                result.executed.append(task.name)
            except Exception as first:  # noqa: BLE001 - retried once, then reported
                try:
                    run_task(_spec(task, sweep, pipeline))
                    result.executed.append(task.name)
                except Exception as err:  # noqa: BLE001
                    result.failed[task.name] = _message(err) or _message(first)
            progress(0)
    else:
        from dask.distributed import as_completed

        futures = {
            client.submit(
                run_task,
                _spec(t, sweep, pipeline),
                key=f"{sweep.name}-{t.key[:16]}",
                retries=1,
                pure=False,
            ): t
            for t in todo
        }
        pending = len(futures)
        slots = max(sum(client.nthreads().values()), 1)
        progress(min(pending, slots))
        for future in as_completed(futures):
            task = futures[future]
            pending -= 1
            if future.status == "finished":
                result.executed.append(task.name)
            else:
                result.failed[task.name] = _message(future.exception())
            # tasks beyond the workers' threads are queued, not running
            progress(min(pending, max(sum(client.nthreads().values()), 1)))
    result.seconds = time.perf_counter() - started
    if not result.failed:
        result.results = gather(sweep, all_tasks)
    return result


def _message(err: BaseException | None) -> str:
    return f"{type(err).__name__}: {err}" if err is not None else "unknown error"


def gather(sweep: Sweep, all_tasks: list[Task]) -> Path:
    """Concatenate every task's output CSV, grid parameters first, in grid order."""
    import pandas as pd

    frames = []
    for task in all_tasks:
        frame = pd.read_csv(task.folder / sweep.output, keep_default_na=False, na_values=[""])
        for k, name in enumerate(sweep.grid):
            value = task.parameters[name]
            frame.insert(k, name, json.dumps(value) if isinstance(value, list) else value)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    path = sweep_dir(sweep.name) / RESULTS_FILE
    tmp = path.with_name(RESULTS_FILE + ".part")
    out.to_csv(tmp, index=False, lineterminator="\n")
    record = {**_gathered(sweep, all_tasks), "sha256": sha256_file(tmp)}
    (path.parent / GATHERED_FILE).unlink(missing_ok=True)
    tmp.replace(path)
    (path.parent / GATHERED_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return path
