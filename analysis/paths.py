"""Where things live: the repository root, its data and the build folder.

Notebooks call these so they behave the same from JupyterLab, plain ``papermill``
or the pipeline, whatever the working directory.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

ROOT_ENV = "COMPENDIUM_ROOT"
BUILD_ENV = "COMPENDIUM_BUILD"
SOURCES_ENV = "COMPENDIUM_SOURCES"


def repo_root() -> Path:
    """The repository root: ``$COMPENDIUM_ROOT`` or the folder holding ``pipeline.yml``."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The inputs folder, ``<root>/data``."""
    return repo_root() / "data"


def build_dir() -> Path:
    """The one ignored folder for all generated files: ``$COMPENDIUM_BUILD`` or ``<root>/build``."""
    if os.environ.get(BUILD_ENV):
        return Path(os.environ[BUILD_ENV]).resolve()
    return repo_root() / "build"


DEFAULT_PARAMSET = "default"


def run_dir(notebook: str, paramset: str = DEFAULT_PARAMSET) -> Path:
    """Where a notebook's run for one parameter set lives: ``<build>/runs/<notebook>/<set>``."""
    return build_dir() / "runs" / notebook / paramset


# Content-addressed copies of validated tables (analysis.core.fastcache), each keyed by the
# bytes of the file it was made from: reading one is reading that file.
CACHE_SUBDIR = "cache"

SWEEP_RESULTS = "results.csv"
SWEEP_RECORD = "gathered.json"


def sweep_dir(name: str) -> Path:
    """Where a declared sweep keeps its tasks and gathered results: ``<build>/sweeps/<name>``."""
    return build_dir() / "sweeps" / name


def sweep_results(name: str) -> Path:
    """A sweep's gathered results, one row per task output row: ``<sweep dir>/results.csv``."""
    return sweep_dir(name) / SWEEP_RESULTS


def sweep_record(name: str) -> Path:
    """What a sweep's results were gathered from: its grid, fixed values, task keys, sha256."""
    return sweep_dir(name) / SWEEP_RECORD


def sources_dir() -> Path:
    """Source documents (not redistributed): ``$COMPENDIUM_SOURCES`` or ``../shared/sources``."""
    if os.environ.get(SOURCES_ENV):
        return Path(os.environ[SOURCES_ENV]).resolve()
    return repo_root().parent / "shared" / "sources"


def manual_output_dir(notebook: str, paramset: str | None = None) -> Path:
    """Output folder for a notebook run by hand (JupyterLab or plain papermill).

    Kept apart from the pipeline's run folders so a hand run never overwrites them; with
    ``paramset`` (as :func:`analysis.parameters.check_parameters` gives it), one folder per
    parameter set, so one hand run never overwrites another set's results either.
    """
    folder = build_dir() / "manual" / notebook
    return folder / paramset if paramset else folder


def output_dir_problem(output_dir: str | os.PathLike, notebook: str) -> str | None:
    """Why ``output_dir`` may not be written (None when it may): a notebook writes only under
    ``<build>/runs`` (where the pipeline runs it) or ``<build>/manual`` (a hand run)."""
    path = Path(os.path.realpath(output_dir))
    allowed = [Path(os.path.realpath(build_dir() / sub)) for sub in ("runs", "manual")]
    if any(path == folder or folder in path.parents for folder in allowed):
        return None
    return (
        f"notebook {notebook!r}: output_dir {str(output_dir)!r} is {path}, outside the build "
        f"folder's runs/ and manual/; run by hand, leave output_dir empty and the results go "
        f"to {manual_output_dir(notebook)}/<parameter set>"
    )


def resolve_output_dir(output_dir: str | os.PathLike | None, notebook: str) -> Path:
    """The folder a notebook writes to: the one the pipeline injected, else the manual one.

    Raises
    ------
    ValueError
        When ``output_dir`` lies outside the build folder's ``runs/`` and ``manual/``.
    """
    path = Path(output_dir) if output_dir else manual_output_dir(notebook)
    problem = output_dir_problem(path, notebook)
    if problem:
        raise ValueError(problem)
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_argument(text: str) -> Path:
    """A command-line path (an argparse ``type``): an empty argument is refused, since ``Path``
    reads it as the working folder and a command would write its files there unasked."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; expected a file or folder name")
    return Path(text)
