"""Executing notebooks through the pipeline, on the mini project (real papermill, real kernels)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.compendium import execute, runner
from analysis.compendium import pipeline as pl
from analysis.files import sha256_file

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "analysis.compendium.cli"]


def snapshot(folder: Path) -> dict[str, str]:
    """Hash of every file under ``folder``: proves nothing was touched."""
    return {str(p.relative_to(folder)): sha256_file(p) for p in folder.rglob("*") if p.is_file()}


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def statuses(outcomes):
    return {o.name: o.status for o in outcomes}


def test_run_then_noop_then_one_parameter(mini):
    pipeline = pl.load()
    first = runner.run(pipeline)
    assert statuses(first) == {"alpha": "executed", "beta": "executed", "gamma": "executed"}
    total = (mini / "build/runs/beta/default/tables/sum.csv").read_text()
    assert total.splitlines() == ["total", "18.0"]  # (1 + 2 + 3) * n=3 * scale=1.0
    executed = json.loads((mini / "build/runs/alpha/default/alpha.ipynb").read_text())
    assert executed["metadata"]["papermill"]["parameters"]["n"] == 3
    manifest = json.loads((mini / "build/runs/alpha/default/run.json").read_text())
    assert manifest["outputs"]["tables/out.csv"] == sha256_file(
        mini / "build/runs/alpha/default/tables/out.csv"
    )
    before = snapshot(mini / "build/runs")

    started = time.perf_counter()
    second = runner.run(pl.load())
    assert time.perf_counter() - started < 2
    assert set(statuses(second).values()) == {"cached"}
    assert snapshot(mini / "build/runs") == before

    third = runner.run(pl.load(), ["alpha"], {"n": 5})
    assert statuses(third) == {"alpha": "executed"}
    own = third[0].folder
    assert own.name.startswith("p-") and own.parent.name == "alpha"
    assert (own / "tables/out.csv").read_text().splitlines()[1] == "5.0,xa"
    assert snapshot(mini / "build/runs/alpha/default") == {
        k.removeprefix("alpha/default/"): v
        for k, v in before.items()
        if k.startswith("alpha/default/")
    }
    # Changing a default in the pipeline re-executes only that notebook and its dependant.
    text = (mini / "pipeline.yml").read_text().replace("default: 3,", "default: 4,")
    (mini / "pipeline.yml").write_text(text)
    plans = {p.notebook.name: p.reasons for p in execute.status(pl.load())}
    assert plans["alpha"] == ["parameter changed"] and plans["gamma"] == []
    fourth = runner.run(pl.load())
    assert statuses(fourth) == {"alpha": "executed", "beta": "executed", "gamma": "cached"}


def test_failure_keeps_previous_outputs_and_partial_notebook(mini):
    runner.run(pl.load())
    before = snapshot(mini / "build/runs/gamma/default")
    path = mini / "notebooks/gamma.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][3]["source"] = "raise RuntimeError('broken on purpose')"
    path.write_text(json.dumps(nb))
    result = cli("run")
    assert result.returncode == 1
    assert "notebook 'gamma' failed in cell [4]: RuntimeError: broken on purpose" in result.stderr
    partial = mini / "build/runs/gamma/failed-default/gamma.ipynb"
    assert partial.exists() and "broken on purpose" in partial.read_text()
    assert snapshot(mini / "build/runs/gamma/default") == before
    assert "stale" in cli("status").stdout


def test_parallel_and_serial_runs_give_identical_outputs(mini, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(mini / "serial"))
    assert cli("run", "--jobs", "1").returncode == 0
    monkeypatch.setenv("COMPENDIUM_BUILD", str(mini / "parallel"))
    assert cli("run", "--jobs", "2").returncode == 0

    def tables(root):
        return {k: v for k, v in snapshot(root / "runs").items() if k.endswith(".csv")}

    assert tables(mini / "serial") == tables(mini / "parallel")
    assert len(tables(mini / "serial")) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "omega"], "unknown notebook 'omega'; the pipeline declares: alpha, beta, gamma"),
        (["run", "alpha", "-p", "nn=3"], "unknown parameter 'nn' (did you mean 'n'?)"),
        (["run", "alpha", "-p", "n=lots"], "parameter 'n' (int): expected an integer"),
        (["run", "-p", "n=4"], "only when running exactly one notebook"),
    ],
)
def test_bad_requests_fail_before_any_kernel(mini, args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (mini / "build/runs").exists()


def test_missing_input_is_named(mini):
    (mini / "data/input.csv").unlink()
    result = cli("run")
    assert result.returncode == 2
    assert "notebook 'alpha': input data/input.csv not found" in result.stderr
    assert not (mini / "build/runs").exists()


def test_timeout_is_reported(mini):
    text = (
        (mini / "pipeline.yml")
        .read_text()
        .replace(
            "timeout: 60\n    parameters:\n      fail", "timeout: 2\n    parameters:\n      fail"
        )
    )
    (mini / "pipeline.yml").write_text(text)
    result = cli("run", "gamma", "-p", "sleep=30")
    assert result.returncode == 1
    assert "notebook 'gamma': a cell timed out" in result.stderr


def _start_slow_run(mini) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*CLI, "run", "gamma", "-p", "sleep=60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if _kernels(proc.pid):
            time.sleep(1.5)  # let the kernel reach the sleeping cell
            return proc
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("kernel did not start")


def _paramset(mini) -> str:
    gamma = pl.load().notebook("gamma")
    return pl.paramset_name(gamma, pl.resolve_parameters(gamma, {"sleep": 60}))


def _kernels(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_killed_kernel_and_concurrent_run(mini):
    runner.run(pl.load(), ["gamma"])
    before = snapshot(mini / "build/runs/gamma")
    proc = _start_slow_run(mini)
    try:
        second = cli("run", "alpha")
        assert second.returncode == 2
        assert "another run holds" in second.stderr and f"pid {proc.pid}" in second.stderr
        for kernel in _kernels(proc.pid):
            os.kill(kernel, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "notebook 'gamma': the kernel died" in stderr
    assert snapshot(mini / "build/runs/gamma/default") == {
        k.removeprefix("default/"): v for k, v in before.items()
    }
    assert (mini / f"build/runs/gamma/failed-{_paramset(mini)}" / "gamma.ipynb").exists()
    assert cli("run", "alpha").returncode == 0  # the lock was released


def test_ctrl_c_stops_cleanly_and_loses_nothing(mini):
    runner.run(pl.load(), ["gamma"])
    before = snapshot(mini / "build/runs/gamma")
    proc = _start_slow_run(mini)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted: previous outputs are kept unchanged" in stderr
    assert snapshot(mini / "build/runs/gamma/default") == {
        k.removeprefix("default/"): v for k, v in before.items()
    }
    assert not list((mini / "build/runs/gamma").glob(".tmp-*"))
    assert cli("run", "gamma").returncode == 0


def test_notebook_budget_stops_between_cells(mini):
    hook = execute.notebook_budget("gamma", 0.05)
    hook(cell_index=0)  # within budget
    time.sleep(0.1)
    with pytest.raises(
        execute.NotebookTimeout, match=r"'gamma' exceeded its 0.05 s budget before cell 3"
    ):
        hook(cell_index=2)
