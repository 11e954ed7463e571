"""Runs of the real pipeline with the network guard on, from one snapshot of the repository.

A copy of the repository's files (its ``analysis`` package first on ``PYTHONPATH``, so the
CLI and every kernel import the copy) keeps edits made to the working tree while the tests
run from changing the code between two runs. Shared by tests/test_determinism.py (two clean
runs, ``a`` and ``b``), tests/test_isolation.py (run ``a`` and its book: no process tried the
network) and tests/test_bad_inputs.py (run ``a`` as the previous outputs a bad input must not
touch); run ``a`` and its book are also ``real_build`` of conftest.py, read by the end-to-end
and browser tests. Each run is made at most once per test session.

With pytest-xdist the workers share the snapshot and the builds: they live in a folder common
to the session's workers (the parent of each worker's base temporary folder) and are made
under a file lock by whichever worker asks first; the others wait and read what it recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from analysis.bench.tools import copy_project
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


def shared_dir(tmp_path_factory) -> Path:
    """A folder shared by every xdist worker of the session (or this process's, without)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "shared-builds"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the block."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def snapshot(tmp_path_factory) -> Path:
    """The repository's files copied once per session (once for all xdist workers)."""
    shared = shared_dir(tmp_path_factory)
    repo, done = shared / "snapshot" / "repo", shared / "snapshot.done"
    with locked(shared / "snapshot.lock"):
        if not done.exists():
            copy_project(repo_root(), repo)
            done.touch()
    return repo


def _step(command: str, env: dict[str, str]) -> Step:
    started = time.perf_counter()
    # The working directory comes first on sys.path: the snapshot root, never the checkout.
    result = subprocess.run(
        [*CLI, command], capture_output=True, text=True, env=env, timeout=1200,
        cwd=env["COMPENDIUM_ROOT"],
    )  # fmt: skip
    return Step(result.returncode, result.stderr, time.perf_counter() - started)


def _load(path: Path, state: GuardedBuild) -> GuardedBuild:
    if path.exists():
        steps = json.loads(path.read_text(encoding="utf-8"))
        state.steps = {command: Step(**step) for command, step in steps.items()}
    return state


def _save(path: Path, state: GuardedBuild) -> None:
    steps = {command: asdict(step) for command, step in state.steps.items()}
    path.write_text(json.dumps(steps), encoding="utf-8")


@contextlib.contextmanager
def _recorded(tmp_path_factory, label: str) -> Iterator[GuardedBuild]:
    """Run ``label`` of the session: held under its lock while the block adds its steps
    (each command at most once per session), then recorded for the other workers."""
    root = snapshot(tmp_path_factory)
    folder = shared_dir(tmp_path_factory) / f"guarded-{label}"
    folder.mkdir(exist_ok=True)
    record = folder / "steps.json"
    with locked(folder.with_suffix(".lock")):
        state = _load(record, GuardedBuild(root, folder / "build", folder / "netguard.log"))
        yield state
        _save(record, state)


def guarded_build(tmp_path_factory, label: str = "a", book: bool = False) -> GuardedBuild:
    """A clean run of the snapshot (and, with ``book``, its book) under the guard, once."""
    with _recorded(tmp_path_factory, label) as state:
        if "run" not in state.steps:
            state.steps["run"] = _step("run", guarded_env(state.root, state.build, state.log))
        if book and "book" not in state.steps and state.steps["run"].returncode == 0:
            state.steps["book"] = _step("book", guarded_env(state.root, state.build, state.log))
    return state


def guarded_rerun(
    tmp_path_factory, label: str, source: GuardedBuild, rerun: tuple[str, ...]
) -> GuardedBuild:
    """``source``'s runs, sweeps and cache copied, the runs of ``rerun`` removed, then the
    pipeline run again under the guard (once per session): those notebooks execute afresh
    on the other notebooks' cached results and the cached sweeps."""
    with _recorded(tmp_path_factory, label) as state:
        if "run" not in state.steps:
            shutil.rmtree(state.build, ignore_errors=True)
            state.build.mkdir()
            for part in ("runs", "sweeps", "cache"):
                if (source.build / part).is_dir():
                    shutil.copytree(source.build / part, state.build / part, symlinks=True)
            for name in rerun:
                shutil.rmtree(state.build / "runs" / name)
            state.steps["run"] = _step("run", guarded_env(state.root, state.build, state.log))
    return state
