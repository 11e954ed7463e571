"""Benchmark of the Dask sweep engine: throughput on 1 and 2 workers, overhead.

``python -m analysis.bench.sweeps`` runs a declared command sweep (default
``simulation``) in a private build folder three ways: serially in this process's
subprocesses, on a ``LocalCluster`` of one worker and of two (one thread each), and reports
tasks per minute, the two-worker speed-up, and the Dask overhead per task (the time per
no-op task on a two-worker cluster). The machine is shared, so the results are ratios;
each figure is the median of ``--repeat`` runs. Writes JSON to stdout (and ``--output``).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from analysis.commandline import CommandParser
from analysis.compendium import pipeline as pl
from analysis.compendium import sweep as sw
from analysis.paths import BUILD_ENV, path_argument


def _noop(value: int) -> int:
    return value


def _timed_sweep(sweep: sw.Sweep, pipeline: pl.Pipeline, workers: int | None) -> float:
    with tempfile.TemporaryDirectory(prefix="sweepbench-") as build:
        os.environ[BUILD_ENV] = build
        client = None if workers is None else sw.make_client(workers=workers)
        try:
            if client is not None:
                client.wait_for_workers(workers)
            started = time.perf_counter()
            result = sw.run_sweep(sweep, pipeline, client=client)
            seconds = time.perf_counter() - started
        finally:
            sw.close_client(client)
    if result.failed:
        raise sw.SweepError(f"benchmark sweep failed: {result.failed}")
    return seconds


def dask_overhead(tasks: int = 200) -> float:
    """Seconds per no-op task submitted to, run on and gathered from two local workers."""
    client = sw.make_client(workers=2)
    try:
        client.wait_for_workers(2)
        started = time.perf_counter()
        futures = [client.submit(_noop, k, pure=False) for k in range(tasks)]
        client.gather(futures)
        return (time.perf_counter() - started) / tasks
    finally:
        sw.close_client(client)


def measure(
    name: str = "simulation",
    repeat: int = 1,
    fixed: dict[str, Any] | None = None,
    overhead_tasks: int = 200,
) -> dict[str, Any]:
    """Seconds of the sweep serially, on 1 and on 2 workers (each repeat in that order),
    with medians, the two-worker speed-up per pair and the Dask overhead per task.

    ``fixed`` overrides the sweep's fixed parameters (e.g. fewer replications per task).
    """
    from dataclasses import replace

    pipeline = pl.load()
    sweep = sw.get_sweep(pipeline, name)
    if fixed:
        sweep = replace(sweep, fixed={**sweep.fixed, **fixed})
    n_tasks = len(sw.tasks(sweep, pipeline))
    configurations = (("serial", None), ("workers_1", 1), ("workers_2", 2))
    runs: dict[str, list[float]] = {label: [] for label, _ in configurations}
    saved = os.environ.get(BUILD_ENV)
    try:
        for _ in range(repeat):
            for label, workers in configurations:
                runs[label].append(_timed_sweep(sweep, pipeline, workers))
    finally:
        if saved is None:
            os.environ.pop(BUILD_ENV, None)
        else:
            os.environ[BUILD_ENV] = saved
    times = {label: statistics.median(values) for label, values in runs.items()}
    pairs = [one / two for one, two in zip(runs["workers_1"], runs["workers_2"], strict=True)]
    return {
        "sweep": name,
        "fixed": sweep.fixed,
        "tasks": n_tasks,
        "runs": runs,
        "seconds": times,
        "tasks_per_minute": {k: 60 * n_tasks / v for k, v in times.items()},
        "speedup_pairs": pairs,
        "speedup_2_workers": statistics.median(pairs),
        "dask_overhead_seconds_per_task": dask_overhead(overhead_tasks),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser("analysis.bench.sweeps")
    parser.add_argument("--sweep", default="simulation", help="declared command sweep")
    parser.add_argument("--repeat", type=int, default=1, help="runs per configuration")
    parser.add_argument("--output", type=path_argument, help="also write the JSON here")
    parser.add_argument(
        "--fixed", action="append", default=[], metavar="NAME=VALUE", help="override a fixed value"
    )
    parser.add_argument(
        "--overhead-tasks", type=int, default=200, help="no-op tasks timed for the overhead"
    )
    args = parser.parse_args(argv)
    fixed = dict(pl.parse_assignment(item) for item in args.fixed)
    results = measure(args.sweep, args.repeat, fixed, args.overhead_tasks)
    text = json.dumps(results, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
