"""Parameter sweeps on Dask (analysis.compendium.sweep), on the mini project.

Real ``dask.distributed`` LocalClusters and real subprocesses; SLURM is checked through the
job script ``dask-jobqueue`` would submit, without a SLURM installation.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.compendium import pipeline as pl
from analysis.compendium import sweep as sw
from analysis.configschema import ConfigError
from analysis.files import sha256_file

pytestmark = pytest.mark.e2e

TASK_SCRIPT = """\
import argparse, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--value", type=int)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--output")
args = parser.parse_args()
log = pathlib.Path(__file__).with_name("attempts.log")
with log.open("a") as handle:
    handle.write(f"{args.value}\\n")
time.sleep(args.sleep)
if args.value == 3:
    raise SystemExit("value 3 is refused")
pathlib.Path(args.output).write_text(f"square\\n{args.value ** 2}\\n")
"""

SWEEPS = """
sweeps:
  squares:
    title: Squares
    command: [python, {script}]
    grid: {{value: [1, 2, 4, 5]}}
    fixed: {{sleep: {sleep}}}
    output: square.csv
  refused:
    command: [python, {script}]
    grid: {{value: [1, 3, 4]}}
    output: square.csv
  simulation:
    command: [python, -m, analysis.indicators.synthetic.simulation]
    grid: {{batch: [0, 1, 2]}}
    fixed: {{replications: 2, scenario: [rare_outcome]}}
    output: replications.csv
  alphas:
    notebook: alpha
    grid: {{n: [2, 4]}}
    output: tables/out.csv
"""


def _project(mini: Path, sleep: float = 0.0) -> pl.Pipeline:
    script = mini / "task.py"
    script.write_text(TASK_SCRIPT)
    with (mini / "pipeline.yml").open("a") as handle:
        handle.write(SWEEPS.format(script=script, sleep=sleep))
    return pl.load()


@pytest.fixture
def client():
    local = sw.make_client(workers=2)
    yield local
    sw.close_client(local)


def test_declarations_and_task_keys(mini):
    pipeline = _project(mini)
    sweeps = sw.load_sweeps(pipeline)
    assert set(sweeps) == {"squares", "refused", "simulation", "alphas"}
    tasks = sw.tasks(sweeps["squares"], pipeline)
    assert [t.name for t in tasks] == ["value=1", "value=2", "value=4", "value=5"]
    assert tasks[0].parameters == {"sleep": 0.0, "value": 1}
    assert len({t.key for t in tasks}) == 4 and len({t.folder for t in tasks}) == 4
    # the key follows the code a command runs
    (mini / "task.py").write_text(TASK_SCRIPT + "\n# changed\n")
    assert sw.tasks(sweeps["squares"], pipeline)[0].key != tasks[0].key


def test_bad_declaration_names_file_and_line(mini):
    with (mini / "pipeline.yml").open("a") as handle:
        handle.write(
            "sweeps:\n  broken:\n    notebook: alpha\n    grid: {nope: [1]}\n"
            "    output: tables/out.csv\n"
        )
    with pytest.raises(
        sw.SweepError, match=r"pipeline.yml:\d+: sweep 'broken': 'alpha' has no parameter"
    ):
        sw.load_sweeps(pl.load())


def test_cli_bad_sweep_is_one_line(mini):
    _project(mini)
    done = subprocess.run(
        [sys.executable, "-m", "analysis.compendium.cli", "sweep", "nosuch", "--serial"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown sweep 'nosuch'" in done.stderr and "Traceback" not in done.stderr


def test_local_cluster_byte_identical_to_serial(mini, client, monkeypatch):
    from analysis.indicators.synthetic.simulation import simulate
    from analysis.indicators.synthetic.simulation_report import combine

    pipeline = _project(mini)
    sweep = sw.get_sweep(pipeline, "simulation")
    serial = sw.run_sweep(sweep, pipeline)
    assert serial.failed == {} and len(serial.executed) == 3
    serial_bytes = serial.results.read_bytes()
    monkeypatch.setenv("COMPENDIUM_BUILD", str(mini / "build-dask"))
    parallel = sw.run_sweep(sweep, pipeline, client=client)
    assert parallel.failed == {} and len(parallel.executed) == 3
    assert parallel.results != serial.results
    assert parallel.results.read_bytes() == serial_bytes
    # and their batches add up to one in-process run of the same six replications
    gathered = pd.read_csv(parallel.results, keep_default_na=False, na_values=[""])
    direct = simulate(6, scenarios=["rare_outcome"])
    pd.testing.assert_frame_equal(
        combine(gathered.drop(columns="batch")), direct, check_dtype=False, rtol=1e-9
    )


ENVIRONMENT_SCRIPT = """\
import argparse, os, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--value")
parser.add_argument("--output")
args = parser.parse_args()
seen = [os.environ.get(k, "unset") for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")]
pathlib.Path(args.output).write_text("trim,threads\\n" + ",".join(seen) + "\\n")
"""


def test_a_task_on_a_worker_runs_without_the_workers_memory_trimming(mini, client):
    # Inherited from the nanny, the trim threshold made numpy-heavy tasks spend as long in
    # the kernel as in Python; the one-thread numerical settings are kept.
    script = mini / "environment.py"
    script.write_text(ENVIRONMENT_SCRIPT)
    with (mini / "pipeline.yml").open("a") as handle:
        handle.write(
            f"sweeps:\n  environment:\n    command: [python, {script}]\n"
            "    grid: {value: [1]}\n    output: seen.csv\n"
        )
    pipeline = pl.load()
    done = sw.run_sweep(sw.get_sweep(pipeline, "environment"), pipeline, client=client)
    assert done.failed == {}
    seen = pd.read_csv(done.results, dtype=str).iloc[0]
    assert seen["threads"] == "1"  # set by the nanny for its worker: the task ran on one
    assert seen["trim"] == "unset"


def test_starting_a_local_cluster_leaves_this_process_environment_alone(monkeypatch):
    # Kernels the runner starts after a sweep began must inherit what those before it did.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)
    before = dict(os.environ)
    local = sw.make_client(workers=1)
    try:
        assert dict(os.environ) == before
    finally:
        sw.close_client(local)


def test_failing_task_is_retried_once_then_reported(mini, client):
    pipeline = _project(mini)
    progress = []
    result = sw.run_sweep(
        sw.get_sweep(pipeline, "refused"), pipeline, client=client, report=progress.append
    )
    assert sorted(result.executed) == ["value=1", "value=4"]
    assert list(result.failed) == ["value=3"]
    assert "value 3 is refused" in result.failed["value=3"]
    attempts = (mini / "attempts.log").read_text().split()
    assert attempts.count("3") == 2 and attempts.count("1") == 1
    assert progress[-1]["failed"] == 1 and progress[-1]["done"] == 2 and progress[-1]["total"] == 3
    assert result.results is None  # nothing gathered from an incomplete sweep
    # the next run retries only the failed task
    again = sw.run_sweep(sw.get_sweep(pipeline, "refused"), pipeline)
    assert sorted(again.cached) == ["value=1", "value=4"] and list(again.failed) == ["value=3"]


def test_killed_sweep_resumes_without_recomputing(mini):
    pipeline = _project(mini, sleep=1.5)
    folder = sw.sweep_dir("squares") / "tasks"
    process = subprocess.Popen(
        [sys.executable, "-m", "analysis.compendium.cli", "sweep", "squares", "--serial"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(folder.glob("*/task.json"))) < 2:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.parent.name: p.read_text() for p in folder.glob("*/task.json")}
    assert 2 <= len(finished) < 4
    result = sw.run_sweep(sw.get_sweep(pipeline, "squares"), pipeline)
    assert len(result.cached) == len(finished)
    assert len(result.executed) == 4 - len(finished)
    attempts = (mini / "attempts.log").read_text().split()
    for name in result.cached:
        assert attempts.count(name.split("=")[1]) == 1  # never run again
    for slug, text in finished.items():
        assert (folder / slug / "task.json").read_text() == text
    table = pd.read_csv(result.results)
    assert table["square"].tolist() == [1, 4, 16, 25]


def test_notebook_sweep_uses_the_notebook_cache(mini):
    pipeline = _project(mini)
    sweep = sw.get_sweep(pipeline, "alphas")
    first = sw.run_sweep(sweep, pipeline)
    assert first.failed == {} and len(first.executed) == 2
    table = pd.read_csv(first.results)
    assert table.groupby("n")["value"].sum().to_dict() == {2: 12.0, 4: 24.0}
    for task in sw.tasks(sweep, pipeline):
        recorded = json.loads((task.folder / "task.json").read_text())
        assert recorded["key"] == task.key
    second = sw.run_sweep(sweep, pipeline)
    assert second.executed == [] and len(second.cached) == 2


def test_slurm_job_script(tmp_path):
    config = tmp_path / "slurm.yml"
    config.write_text(
        "account: gp-scale\nqueue: short\ncores: 4\nmemory: 8GB\nwalltime: '01:30:00'\n"
        "job_extra_directives: ['--qos=normal']\n"
    )
    cluster = sw.slurm_cluster(config, jobs=0)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -A gp-scale" in script
    assert "#SBATCH -p short" in script
    assert "#SBATCH -t 01:30:00" in script
    assert "#SBATCH --qos=normal" in script
    assert "--nworkers 4" in script and "--nthreads 1" in script
    assert sys.executable in script


def test_slurm_config_missing_setting(tmp_path):
    config = tmp_path / "slurm.yml"
    config.write_text("account: gp-scale\ncores: 4\n")
    with pytest.raises(ConfigError, match=r"slurm.yml:1: \(top level\): 'queue' is required"):
        sw.slurm_cluster(config)


# --------------------------------------------------------------------------- sweeps in the pipeline

CONSUMER = """\
  delta:
    title: Delta
    source: notebooks/delta.ipynb
    sweeps: [{sweep}]
    outputs: [tables/total.csv]
"""
CONSUMER_BODY = """\
from analysis.paths import sweep_results
squares = pd.read_csv(sweep_results("{sweep}"))
total = pd.DataFrame({{"total": [squares["square"].sum()]}})
total.to_csv(out / "tables" / "total.csv", index=False)
"""


def _consumer(mini: Path, sweep: str = "squares") -> pl.Pipeline:
    """The mini project with a notebook ``delta`` that reads the gathered results of ``sweep``."""
    import miniproject
    import nbformat

    text = (mini / "pipeline.yml").read_text()
    (mini / "pipeline.yml").write_text(
        text.replace("\nsweeps:", CONSUMER.format(sweep=sweep) + "sweeps:", 1)
    )
    notebook = miniproject.make_notebook(
        'output_dir = ""', CONSUMER_BODY.format(sweep=sweep), "delta"
    )
    nbformat.write(notebook, mini / "notebooks" / "delta.ipynb")
    return pl.load()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.compendium.cli", "run", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_compendium_run_runs_a_notebooks_sweep_first_then_caches_both(mini):
    _project(mini)
    pipeline = _consumer(mini)
    assert pipeline.notebook("delta").cache_inputs == ("sweep:squares",)
    first = _run("delta", "--jobs", "2")
    assert first.returncode == 0, first.stderr
    assert "executed  sweep:squares" in first.stderr and "executed  delta" in first.stderr
    total = pd.read_csv(pl.run_dir("delta") / "tables" / "total.csv")["total"].item()
    assert total == 1 + 4 + 16 + 25
    record = json.loads((pl.run_dir("delta") / "run.json").read_text())
    assert record["cache"]["inputs"]["sweep:squares"] == sha256_file(
        sw.sweep_dir("squares") / "results.csv"
    )
    # nothing changed: both cached, no task runs again
    second = _run("delta")
    assert second.returncode == 0, second.stderr
    assert "cached    sweep:squares" in second.stderr and "cached    delta" in second.stderr
    assert sorted((mini / "attempts.log").read_text().split()) == ["1", "2", "4", "5"]
    status = subprocess.run(
        [sys.executable, "-m", "analysis.compendium.cli", "status"], capture_output=True, text=True
    )
    assert "sweep:squares            fresh" in status.stdout.splitlines()
    # a new grid value: only the new task runs, and the notebook reads the new results
    text = (mini / "pipeline.yml").read_text()
    (mini / "pipeline.yml").write_text(
        text.replace("{value: [1, 2, 4, 5]}", "{value: [1, 2, 4, 5, 6]}")
    )
    third = _run("delta")
    assert third.returncode == 0, third.stderr
    assert "executed  sweep:squares" in third.stderr and "executed  delta" in third.stderr
    assert sorted((mini / "attempts.log").read_text().split()) == ["1", "2", "4", "5", "6"]
    assert pd.read_csv(pl.run_dir("delta") / "tables" / "total.csv")["total"].item() == total + 36
    # results edited by hand: the sweep gathers them again, the notebook sees the true ones
    results = sw.sweep_dir("squares") / "results.csv"
    results.write_text("value,sleep,square\n1,0.0,1000\n")
    assert not sw.is_current(sw.get_sweep(pl.load(), "squares"), pl.load())
    fourth = _run("delta")
    assert fourth.returncode == 0, fourth.stderr
    assert pd.read_csv(pl.run_dir("delta") / "tables" / "total.csv")["total"].item() == total + 36


def test_a_failed_sweep_skips_its_notebook_with_the_task_named(mini):
    _project(mini)
    _consumer(mini, sweep="refused")
    done = _run("--jobs", "1")
    assert done.returncode == 1
    assert "failed    sweep:refused" in done.stderr
    assert "skipped   delta" in done.stderr
    assert "delta: sweep refused failed: task value=3:" in done.stderr
    assert "value 3 is refused" in done.stderr and "Traceback" not in done.stderr
    # the other notebooks ran
    assert "executed  alpha" in done.stderr and "executed  gamma" in done.stderr
    assert not (pl.run_dir("delta") / "run.json").exists()


def test_a_notebook_naming_an_undeclared_sweep_is_refused_at_its_line(mini):
    _project(mini)
    text = (mini / "pipeline.yml").read_text()
    (mini / "pipeline.yml").write_text(
        text.replace("\nsweeps:", CONSUMER.format(sweep="nosuch") + "sweeps:", 1)
    )
    with pytest.raises(
        pl.PipelineError,
        match=r"pipeline.yml:\d+: notebook 'delta': sweep 'nosuch' "
        r"is not declared under 'sweeps' \(declared: squares, refused",
    ):
        pl.load()
    (mini / "pipeline.yml").write_text(
        text.replace("\nsweeps:", CONSUMER.format(sweep="1x") + "sweeps:", 1)
    )
    with pytest.raises(pl.PipelineError, match="sweeps must be a list of sweep names"):
        pl.load()


def test_a_sweep_holds_half_the_cores_while_other_notebooks_wait(mini):
    from analysis.compendium.sweepsteps import SweepSteps, run_sweep_step

    _project(mini)
    pipeline = _consumer(mini)
    held: list[int] = []
    declared = sw.get_sweep(pipeline, "squares")
    outcome = run_sweep_step(
        declared, pipeline, jobs=3, report=lambda e: None, holding=held.append, cluster=False
    )
    assert outcome.status == "executed" and held == [1, 0]  # one after another: one core
    # cached: nothing held, nothing started
    again = run_sweep_step(declared, pipeline, jobs=3, report=lambda e: None, holding=held.append)
    assert again.status == "cached" and held == [1, 0]
    # with other notebooks waiting the sweep gets half the jobs; alone it gets them all
    steps = SweepSteps(pipeline, ["alpha", "delta"], jobs=4, report=lambda e: None)
    steps.join()
    assert steps._jobs == 2 and steps.cores_in_use() == 0
    assert (
        steps.finished(pipeline.notebook("delta"))
        and steps.failure(pipeline.notebook("delta")) == ""
    )
    alone = SweepSteps(pipeline, ["delta"], jobs=4, report=lambda e: None)
    alone.join()
    assert alone._jobs == 4
    # a notebook reading no sweep never waits
    none = SweepSteps(pipeline, ["alpha"], jobs=2, report=lambda e: None)
    assert none.finished(pipeline.notebook("alpha")) and none.cores_in_use() == 0


def test_the_sweep_thread_never_parses_code(mini, monkeypatch):
    # CPython 3.11's parser fails when two threads parse at once (python/cpython#106905):
    # the task keys (which hash the code a task runs) are computed before the thread starts.
    import ast
    import threading

    from analysis.compendium.sweepsteps import SweepSteps

    _project(mini)
    pipeline = _consumer(mini, sweep="simulation")  # a `python -m` command: its code is hashed
    threads = []
    parse = ast.parse

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", recorded)
    steps = SweepSteps(pipeline, ["delta"], jobs=1, report=lambda e: None)
    steps.join()
    assert steps.outcomes["simulation"].status == "executed"
    assert threads and "compendium-sweeps" not in threads  # parsed, but only by the caller
