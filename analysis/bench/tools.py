"""Benchmark plumbing: private project copies, timed subprocesses, pipeline facts.

Used by :mod:`analysis.bench.steps` and :mod:`analysis.bench.measure`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import safeyaml
from analysis.bench.load import LOG
from analysis.paths import sources_dir

COPY_IGNORE = (
    "build",
    ".venv",
    ".git",
    "__pycache__",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.egg-info",
    "_build",
)
STATUS_LINE = re.compile(r"^(executed|cached|failed|skipped)\s+(\S+)", re.M)


class BenchError(RuntimeError):
    """A benchmark step failed; the message says which command and why."""


# --------------------------------------------------------------------------- project copies


def project_files(source: Path) -> list[Path]:
    """The project's files: tracked and untracked-but-not-ignored (git), else a filtered walk."""
    if (source / ".git").exists():
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=source,
            capture_output=True,
            check=True,
        ).stdout.decode()
        return sorted(source / p for p in listed.split("\0") if p and (source / p).is_file())
    ignore = shutil.ignore_patterns(*COPY_IGNORE)
    files = []
    for folder, dirs, names in os.walk(source):
        skipped = ignore(folder, dirs + names)
        dirs[:] = [d for d in dirs if d not in skipped]
        files += [Path(folder) / n for n in names if n not in skipped]
    return sorted(files)


def copy_project(source: Path, dest: Path) -> Path:
    """Copy the project's files (no build/, .venv/ or .git/) to ``dest``; returns ``dest``."""
    source, dest = Path(source).resolve(), Path(dest)
    for file in project_files(source):
        target = dest / file.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    return dest


def project_env(root: Path, build: Path, isolate: bool = True) -> dict[str, str]:
    """Environment for a run of the project at ``root`` into ``build``.

    With ``isolate`` the copy's own ``analysis`` package comes first on ``PYTHONPATH`` (the
    CLI and every kernel import it), so concurrent edits to the original do not leak in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPENDIUM_")}
    env["COMPENDIUM_ROOT"], env["COMPENDIUM_BUILD"] = str(root), str(build)
    if sources_dir().is_dir():
        env["COMPENDIUM_SOURCES"] = str(sources_dir())
    if isolate and (root / "analysis").is_dir():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return env


# --------------------------------------------------------------------------- timing


@dataclass
class Timed:
    """One timed command."""

    seconds: float
    returncode: int
    stdout: str = ""
    stderr: str = ""

    def statuses(self) -> dict[str, str]:
        """``{notebook: executed|cached|failed|skipped}`` from ``compendium run`` output."""
        return {name: status for status, name in STATUS_LINE.findall(self.stderr)}


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> Timed:
    """Run ``command``; raise :class:`BenchError` with its output if it fails.

    The working directory defaults to the project's root: ``python -m``/``-c`` put the
    working directory first on ``sys.path``, so running from elsewhere could import another
    copy of ``analysis`` than the project's.
    """
    cwd = cwd or Path(env.get("COMPENDIUM_ROOT") or tempfile.gettempdir())
    label = " ".join(Path(part).name if "/" in part else part for part in command[:5])
    with LOG.measure(label):  # the machine's load before and during the command
        started = time.perf_counter()
        result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-2000:]
        raise BenchError(f"{' '.join(command[:4])} ... exited {result.returncode}:\n{tail}")
    return Timed(seconds, result.returncode, result.stdout, result.stderr)


def cli(*args: str) -> list[str]:
    """The ``compendium`` command line, run with this interpreter."""
    return [sys.executable, "-m", "analysis.compendium.cli", *args]


def tool(name: str) -> str:
    """A console script installed beside this interpreter (``jupyter``, ``jupyter-book``)."""
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else name


# --------------------------------------------------------------------------- pipeline facts


def load_pipeline(root: Path) -> dict[str, Any]:
    """The raw ``pipeline.yml`` of a project copy."""
    return safeyaml.load_yaml(root / "pipeline.yml")


def upstream_of(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Each notebook's upstream notebooks (from ``<notebook>:<output>`` inputs) and the
    sweeps it reads, as ``sweep:<name>``."""
    return {
        name: sorted(
            {ref.split(":", 1)[0] for ref in nb.get("inputs") or [] if ":" in ref}
            | {f"sweep:{s}" for s in nb.get("sweeps") or []}
        )
        for name, nb in raw["notebooks"].items()
    }


def dependants(upstream: dict[str, list[str]], name: str) -> set[str]:
    """``name`` and every notebook downstream of it."""
    found, frontier = {name}, [name]
    while frontier:
        current = frontier.pop()
        for other, ups in upstream.items():
            if current in ups and other not in found:
                found.add(other)
                frontier.append(other)
    return found


def notebook_compute(executed: Path) -> float:
    """Seconds spent in an executed notebook's cells (papermill's per-cell durations)."""
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    durations = [(c.get("metadata", {}).get("papermill", {}) or {}).get("duration") for c in cells]
    return float(sum(d for d in durations if d))


def compute_by_notebook(build: Path, names: list[str]) -> dict[str, float]:
    """Own compute of every notebook of a completed default run."""
    return {n: notebook_compute(build / "runs" / n / "default" / f"{n}.ipynb") for n in names}


def sweep_task_seconds(build: Path) -> dict[str, float]:
    """Seconds of every finished sweep task in ``build`` (its process, start to end), keyed
    ``sweep:<sweep>/<task>``: work of a run that no notebook's cells record."""
    out = {}
    for record in sorted((build / "sweeps").glob("*/tasks/*/task.json")):
        task = json.loads(record.read_text(encoding="utf-8"))
        out[f"sweep:{task['sweep']}/{task['name']}"] = float(task["seconds"])
    return out
