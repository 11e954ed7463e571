"""One task of a sweep, run in a Dask worker or in this process: a command or a notebook.

A ``command`` task runs in its own process group within the sweep's timeout, under
:mod:`.observe` when it is ``python``, and fails naming any project file it read that the
sweep's ``inputs`` do not cover; a ``notebook`` task is a run of a declared notebook with the
task's parameters, cached like any ``compendium run`` (:mod:`.execute`). The result file and
``task.json`` appear together, only after success. Plain data in, plain data out: Dask
pickles the task's spec, not the engine's objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from analysis.compendium import observe, reads
from analysis.compendium import pipeline as pl
from analysis.compendium.execute import Plan, execute_notebook, plan_notebook
from analysis.paths import repo_root

TASK_FILE = "task.json"


def plan_task(pipeline: pl.Pipeline, notebook: str, parameters: dict[str, Any]) -> Plan:
    """A notebook task's plan: its parameters resolved, its run folder and freshness."""
    return plan_notebook(pipeline.notebook(notebook), parameters)


def _arguments(parameters: dict[str, Any]) -> list[str]:
    args = []
    for name, value in parameters.items():
        for item in value if isinstance(value, list) else [value]:
            args += [f"--{name}", str(item)]
    return args


# A Dask nanny starts its workers with MALLOC_TRIM_THRESHOLD_=65536 (distributed's
# ``nanny.pre-spawn-environ``) so that a long-lived worker returns memory to the system. A
# task's own process inherits it, and a numpy-heavy task then maps and unmaps its large
# temporaries on every allocation: the simulation's batches spend as much time in the kernel
# as in Python. A task's process frees everything when it exits, so it runs without it.
WORKER_ONLY_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_",)


def run_task(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one task (in a Dask worker or in-process); raise on failure so Dask retries.

    ``spec`` is plain data: ``sweep``, ``name``, ``parameters``, ``key``, ``folder``,
    ``output``, and ``command`` or ``notebook`` plus ``pipeline`` (the pipeline file).
    The result file and ``task.json`` appear together, only after success.
    """
    folder = Path(spec["folder"])
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    started = time.perf_counter()
    for name in WORKER_ONLY_ENVIRONMENT:  # a command's process or a kernel would inherit it
        os.environ.pop(name, None)
    try:
        if spec.get("command"):
            _run_command(spec, tmp)
        else:
            pipeline = pl.load(spec["pipeline"])
            plan = plan_task(pipeline, spec["notebook"], spec["parameters"])
            if not plan.fresh:
                outcome = execute_notebook(
                    plan.notebook, plan.parameters, plan.paramset, plan.components
                )
                if outcome.status != "executed":
                    raise RuntimeError(outcome.message)
            source = pl.run_dir(spec["notebook"], plan.paramset) / spec["output"]
            (tmp / spec["output"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, tmp / spec["output"])
        seconds = time.perf_counter() - started
        record = {k: spec[k] for k in ("sweep", "name", "parameters", "key", "output")}
        (tmp / TASK_FILE).write_text(
            json.dumps({**record, "seconds": round(seconds, 3)}, indent=2) + "\n"
        )
        if folder.exists():
            shutil.rmtree(folder)
        os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"name": spec["name"], "seconds": seconds}


def _run_command(spec: dict[str, Any], tmp: Path) -> None:
    """Run a command task in its own process group, within its timeout; a ``python``
    command runs under :mod:`.observe`, and a project file it read that the sweep's
    ``inputs`` (or its script) do not cover fails the task, naming the file."""
    command = list(spec["command"])
    log = tmp / observe.READS_LOG
    if command[0] == "python":
        command = [sys.executable, "-m", observe.__name__, str(log), "--", *command[1:]]
    command += [*_arguments(spec["parameters"]), "--output", str(tmp / spec["output"])]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    process = subprocess.Popen(  # noqa: S603 - the command is the pipeline's own declaration
        command, cwd=repo_root(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, start_new_session=True,
    )  # fmt: skip
    try:
        _, stderr = process.communicate(timeout=spec["timeout"])
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"timed out after {spec['timeout']} s (the sweep's timeout in pipeline.yml)"
        ) from None
    finally:  # the whole group: nothing the task started outlives it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.returncode != 0:
        last = (stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"exit status {process.returncode}: {last}")
    if not (tmp / spec["output"]).is_file():
        raise RuntimeError(f"did not write its output {spec['output']!r}")
    if log.is_file():
        scripts = [arg for arg in spec["command"] if arg.endswith(".py")]
        covered = reads.coverage(spec.get("inputs", ()), scripts, own=[tmp])
        missing = reads.undeclared(observe.read_log(log), covered)
        log.unlink()
        if missing:
            raise RuntimeError(reads.describe(spec["sweep"], "sweep", missing))
