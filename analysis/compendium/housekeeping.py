"""What the build folder holds beyond the default runs, and removing what is no longer wanted.

``compendium status`` lists, under each notebook, every parameter set it has run (with its
size, age and whether it is still fresh) and every ``failed-*`` folder a failed run left;
``compendium clean`` removes chosen parameter sets, failed folders and the temporary folders
an interrupted command left, while holding the build lock (so never under a running command).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from analysis.compendium import atomic
from analysis.compendium import pipeline as pl
from analysis.paths import DEFAULT_PARAMSET, build_dir

FAILED_PREFIX = "failed-"


@dataclass(frozen=True)
class RunFolder:
    """One folder under ``build/runs/<notebook>/``: a parameter set or a failed run."""

    notebook: str
    name: str
    path: Path
    bytes: int
    age_seconds: float
    state: str  # fresh, stale (why), failed

    @property
    def failed(self) -> bool:
        return self.name.startswith(FAILED_PREFIX)


def _size_and_age(folder: Path) -> tuple[int, float]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    newest = max((p.stat().st_mtime for p in files), default=folder.stat().st_mtime)
    return size, max(0.0, time.time() - newest)


def _state(notebook: pl.Notebook, folder: Path) -> str:
    from analysis.compendium.execute import plan_notebook, read_manifest

    manifest = read_manifest(folder)
    if manifest is None:
        return "incomplete (no run.json)"
    try:
        plan = plan_notebook(notebook, manifest.get("parameters") or {})
    except pl.PipelineError as err:
        return f"stale (its parameters are no longer valid: {err})"
    if plan.paramset != folder.name:
        return "stale (made under other parameter declarations)"
    return "fresh" if plan.fresh else "stale (" + "; ".join(plan.reasons) + ")"


def run_folders(pipeline: pl.Pipeline, names: list[str] | None = None) -> list[RunFolder]:
    """Every non-default parameter set and failed folder of the notebooks ``names`` (all by
    default), newest first within each notebook."""
    found = []
    for name in names or pipeline.order():
        notebook = pipeline.notebook(name)
        parent = pl.run_dir(name).parent
        if not parent.is_dir():
            continue
        folders = []
        for folder in parent.iterdir():
            if (
                not folder.is_dir()
                or folder.name.startswith(".")
                or folder.name == DEFAULT_PARAMSET
            ):
                continue
            size, age = _size_and_age(folder)
            failed = folder.name.startswith(FAILED_PREFIX)
            state = "failed" if failed else _state(notebook, folder)
            folders.append(RunFolder(name, folder.name, folder, size, age, state))
        found += sorted(folders, key=lambda f: f.age_seconds)
    return found


def describe_size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size} B"


def describe_age(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def parameters_of(folder: Path) -> str:
    """The parameter values a set's run recorded, as compact JSON (empty if unknown)."""
    try:
        values = json.loads((folder / "run.json").read_text(encoding="utf-8"))["parameters"]
    except (OSError, ValueError, KeyError):
        return ""
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def clean(
    pipeline: pl.Pipeline,
    names: list[str] | None = None,
    *,
    sets: list[str] = (),
    all_sets: bool = False,
    failed: bool = False,
) -> list[str]:
    """Remove the chosen folders and every leftover temporary folder, under the build lock.

    Parameters
    ----------
    names
        Notebooks whose folders are considered (all by default).
    sets
        Parameter-set names to remove (``p-<hash>``); ``default`` is never removed here.
    all_sets
        Remove every non-default parameter set.
    failed
        Remove every ``failed-*`` folder.

    Returns
    -------
    list of str
        One line per removal.
    """
    unknown = [s for s in sets if s == DEFAULT_PARAMSET or not s.startswith("p-")]
    if unknown:
        raise pl.PipelineError(
            f"--set {unknown[0]!r}: expected a parameter set p-<hash> as `compendium status` "
            "lists it (the default results are replaced only by a new run)"
        )
    done: list[str] = []
    with atomic.build_lock("compendium clean"):
        done += atomic.recover(build_dir())  # temporary folders of interrupted commands
        removed = set()
        for folder in run_folders(pipeline, names):
            chosen = (failed and folder.failed) or (
                not folder.failed and (all_sets or folder.name in sets)
            )
            if chosen:
                shutil.rmtree(folder.path)
                removed.add(folder.name)
                done.append(f"removed {folder.path} ({describe_size(folder.bytes)})")
        missing = set(sets) - removed
        if missing:
            done.append(f"no parameter set {', '.join(sorted(missing))} to remove")
    return done
