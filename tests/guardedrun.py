"""Runs of the real pipeline with the network guard on, from one snapshot of the repository.

A copy of the repository's files (its ``analysis`` package first on ``PYTHONPATH``, so the
CLI and every kernel import the copy) keeps edits made to the working tree while the tests
run from changing the code between two runs. Shared by tests/test_determinism.py (two clean
runs, ``a`` and ``b``), tests/test_isolation.py (run ``a`` and its book: no process tried the
network) and tests/test_bad_inputs.py (run ``a`` as the previous outputs a bad input must not
touch). Each run is made at most once per test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from analysis.compendium.benchtools import copy_project
from analysis.paths import repo_root, sources_dir

NETGUARD = Path(__file__).parent / "netguard"
CLI = [sys.executable, "-m", "analysis.compendium.cli"]


@dataclass
class Step:
    """One CLI command of a guarded run."""

    returncode: int
    stderr: str
    seconds: float


@dataclass
class GuardedBuild:
    """A snapshot's build folder, the guard's log and what each command returned."""

    root: Path
    build: Path
    log: Path
    steps: dict[str, Step] = field(default_factory=dict)

    def guard_log(self) -> str:
        return self.log.read_text(encoding="utf-8") if self.log.exists() else ""

    def check(self, command: str = "run") -> None:
        step = self.steps[command]
        assert step.returncode == 0, f"compendium {command} failed:\n{step.stderr[-4000:]}"


_STATE: dict[str, object] = {}


def guarded_env(root: Path, build: Path, log: Path) -> dict[str, str]:
    """Root and package of ``root``, a private build folder, the guard on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPENDIUM_")}
    paths = [str(NETGUARD), str(root), env.get("PYTHONPATH", "")]
    env.update(
        COMPENDIUM_ROOT=str(root),
        COMPENDIUM_BUILD=str(build),
        PYTHONPATH=os.pathsep.join(p for p in paths if p),
        NETGUARD_LOG=str(log),
    )
    if sources_dir().is_dir():
        env["COMPENDIUM_SOURCES"] = str(sources_dir())
    return env


def snapshot(tmp_path_factory) -> Path:
    """The repository's files copied once per session."""
    if "snapshot" not in _STATE:
        _STATE["snapshot"] = copy_project(repo_root(), tmp_path_factory.mktemp("snapshot") / "repo")
    return _STATE["snapshot"]


def _step(command: str, env: dict[str, str]) -> Step:
    started = time.perf_counter()
    # The working directory comes first on sys.path: the snapshot root, never the checkout.
    result = subprocess.run(
        [*CLI, command], capture_output=True, text=True, env=env, timeout=1200,
        cwd=env["COMPENDIUM_ROOT"],
    )  # fmt: skip
    return Step(result.returncode, result.stderr, time.perf_counter() - started)


def guarded_build(tmp_path_factory, label: str = "a", book: bool = False) -> GuardedBuild:
    """A clean run of the snapshot (and, with ``book``, its book) under the guard, once."""
    key = f"build-{label}"
    if key not in _STATE:
        root = snapshot(tmp_path_factory)
        folder = tmp_path_factory.mktemp(f"guarded-{label}")
        state = GuardedBuild(root, folder / "build", folder / "netguard.log")
        state.steps["run"] = _step("run", guarded_env(root, state.build, state.log))
        _STATE[key] = state
    state = _STATE[key]
    if book and "book" not in state.steps and state.steps["run"].returncode == 0:
        state.steps["book"] = _step("book", guarded_env(state.root, state.build, state.log))
    return state
