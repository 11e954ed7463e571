"""Sweeps as steps of ``compendium run``: run on Dask beside the notebooks that do not read them.

A notebook that lists a sweep under ``sweeps:`` in ``pipeline.yml`` reads its gathered
results (``sweep:<name>`` in its cache key). :class:`SweepSteps` runs the sweeps that the
selected notebooks read in a thread of their own, each on a ``LocalCluster`` of one-thread
workers, while the runner runs the notebooks that read none on the cores the workers leave:
half the ``jobs`` (at least one) go to the sweep when other notebooks are waiting, all of them
otherwise, and with ``--jobs 1`` the tasks run one after another without a cluster. The cluster's
start-up and the sweep's last tasks so overlap with other work, and no core runs two things
at once. A sweep whose tasks are all done and gathered costs a check and starts no cluster.
A notebook that reads a sweep waits for it, and is skipped, naming the failed task, when it
failed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from analysis.compendium import pipeline as pl
from analysis.compendium import sweep as sw
from analysis.compendium.outcome import Outcome

Report = Callable[[Outcome | tuple[str, str]], None]


def sweeps_of(pipeline: pl.Pipeline, names: list[str]) -> list[str]:
    """The declared sweeps the notebooks ``names`` read, in first-use order."""
    return list(dict.fromkeys(s for name in names for s in pipeline.notebook(name).sweeps))


def run_sweep_step(
    declared: sw.Sweep,
    pipeline: pl.Pipeline,
    *,
    jobs: int,
    report: Report,
    holding: Callable[[int], None] = lambda cores: None,
    cluster: bool = True,
    all_tasks: list[sw.Task] | None = None,
) -> Outcome:
    """Run one sweep's unfinished tasks (if any) on a ``LocalCluster`` of up to ``jobs``
    workers (one after another in this process's children without ``cluster``) and gather.

    Reported as ``sweep:<name>``; ``holding`` is told how many cores the sweep holds (its
    workers, or one when it runs serially) and 0 when it is done.
    """
    label = pl.SWEEP_REF + declared.name
    folder = sw.sweep_dir(declared.name)
    all_tasks = sw.tasks(declared, pipeline) if all_tasks is None else all_tasks
    if sw.is_current(declared, pipeline, all_tasks):
        outcome = Outcome(label, "cached", folder)
        report(outcome)
        return outcome
    report(("start", label))
    started = time.perf_counter()
    todo = sum(not sw.is_done(t) for t in all_tasks)
    workers = max(1, min(jobs, todo)) if cluster else 1
    holding(workers)
    client = sw.make_client(workers=workers) if cluster else None

    def progress(counts: dict) -> None:
        done = counts["done"] + counts["cached"]
        if done or counts["failed"]:  # the first report says nothing new
            failed = f", {counts['failed']} failed" if counts["failed"] else ""
            report(("progress", label, f"{done}/{counts['total']} tasks done{failed}"))

    try:
        result = sw.run_sweep(
            declared, pipeline, client=client, all_tasks=all_tasks, report=progress
        )
    finally:
        sw.close_client(client)
        holding(0)
    seconds = time.perf_counter() - started
    if result.failed:
        task, message = next(iter(result.failed.items()))
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        outcome = Outcome(label, "failed", folder, seconds, f"task {task}: {message}{more}")
    else:
        outcome = Outcome(label, "executed", folder, seconds)
    report(outcome)
    return outcome


class SweepSteps:
    """The sweeps the selected notebooks read, running in a background thread.

    Declarations are checked when this is made, in the caller's thread, so a bad one stops
    the run with its one-line error before anything starts.
    """

    def __init__(self, pipeline: pl.Pipeline, names: list[str], *, jobs: int, report: Report):
        self.outcomes: dict[str, Outcome] = {}
        self._declared = [sw.get_sweep(pipeline, name) for name in sweeps_of(pipeline, names)]
        # The task keys hash the code a task runs, which means parsing it: done here, before
        # the thread starts. CPython 3.11's parser must not run in two threads at once
        # (python/cpython#106905), and a notebook's thread may be parsing then (importing
        # nbformat compiles grammars through ast.literal_eval).
        self._tasks = {d.name: sw.tasks(d, pipeline) for d in self._declared}
        self._cores = 0
        readers = {n for n in names if pipeline.notebook(n).sweeps}
        self._jobs = max(1, jobs // 2) if set(names) - readers else jobs
        self._cluster = jobs > 1
        self._done = threading.Event()
        self._cancelled = threading.Event()
        self._thread: threading.Thread | None = None
        if not self._declared:
            self._done.set()
            return
        self._thread = threading.Thread(
            target=self._run, args=(pipeline, report), name="compendium-sweeps", daemon=True
        )
        self._thread.start()

    def _run(self, pipeline: pl.Pipeline, report: Report) -> None:
        try:
            for declared in self._declared:
                if self._cancelled.is_set():
                    break
                self.outcomes[declared.name] = run_sweep_step(
                    declared,
                    pipeline,
                    jobs=self._jobs,
                    report=report,
                    holding=self._hold,
                    cluster=self._cluster,
                    all_tasks=self._tasks[declared.name],
                )
        except Exception as err:  # noqa: BLE001 - reported as the sweep's failure, by name
            for declared in self._declared:
                if declared.name not in self.outcomes:
                    message = f"{type(err).__name__}: {err}"
                    self.outcomes[declared.name] = Outcome(
                        pl.SWEEP_REF + declared.name, "failed", message=message
                    )
                    report(self.outcomes[declared.name])
        finally:
            self._done.set()

    def _hold(self, cores: int) -> None:
        self._cores = cores

    def cores_in_use(self) -> int:
        """Cores the running sweep holds (its workers); 0 when none runs."""
        return self._cores

    def finished(self, notebook: pl.Notebook) -> bool:
        """True when every sweep ``notebook`` reads has finished (or failed)."""
        return all(name in self.outcomes for name in notebook.sweeps)

    def failure(self, notebook: pl.Notebook) -> str:
        """Why ``notebook`` cannot run (a sweep it reads failed), or an empty string."""
        for name in notebook.sweeps:
            outcome = self.outcomes.get(name)
            if outcome is not None and outcome.status == "failed":
                return f"sweep {name} failed: {outcome.message}"
        return ""

    def wait(self, seconds: float) -> None:
        """Wait until every sweep has finished, or ``seconds``."""
        self._done.wait(seconds)

    def cancel(self) -> None:
        """Start no further sweep (on Ctrl-C; the running one's workers are killed)."""
        self._cancelled.set()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
