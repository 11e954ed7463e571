"""Reads against the cache key: a run that read a project file its key does not cover fails.

:mod:`.observe` records every file a kernel or a sweep task opened. A *project file* is one
under the checkout or the build folder; of those, a run may read only

- its declared inputs (a file, anything under a folder, the files a pattern matches), the
  files and folders its ``path`` parameters name, and the results of the sweeps it reads;
- the ``analysis`` package it imports (its code is in the key);
- ``pipeline.yml`` (a notebook checks its own parameters there, whose values are in the key);
- its own run folder;
- ``<build>/cache``, copies of validated tables keyed by the bytes of the file each was made
  from (that file's own read is checked).

Files of the Python installation (a ``.venv`` inside the checkout included) and anything
outside the project are not the key's business. A file read but not covered is named, so the
fix is one line in ``pipeline.yml``.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.compendium import pipeline as pl
from analysis.paths import CACHE_SUBDIR, build_dir, repo_root, sweep_record


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(path))


def _under(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


@dataclass
class Coverage:
    """What a run may read: files, folders and patterns (``(folder, name pattern)``)."""

    files: set[Path] = field(default_factory=set)
    folders: set[Path] = field(default_factory=set)
    patterns: set[tuple[Path, str]] = field(default_factory=set)

    def add(self, path: Path, pattern: str | None = None) -> None:
        real = _real(path)
        if pattern is not None:
            self.patterns.add((real, pattern))
        elif real.is_dir():
            self.folders.add(real)
        else:
            self.files.add(real)

    def covers(self, path: Path) -> bool:
        return (
            path in self.files
            or _under(path, self.folders)
            or any(path.parent == f and fnmatch.fnmatchcase(path.name, p) for f, p in self.patterns)
        )


def coverage(
    inputs: Iterable[str], paths: Iterable[str | os.PathLike] = (), own: Iterable[Path] = ()
) -> Coverage:
    """The coverage of declared ``inputs`` (references as in ``pipeline.yml``), of files or
    folders ``paths`` (path parameters) and of the run's ``own`` folders, plus what every
    run may read: the package, the pipeline file."""
    from analysis.compendium.cache import package_folder
    from analysis.parameters import PIPELINE_ENV

    covered = Coverage()
    for ref in inputs:
        if pl.is_pattern(ref):
            covered.add(pl.input_path(ref), Path(ref).name)
        else:
            covered.add(pl.input_path(ref))
        if ref.startswith(pl.SWEEP_REF):  # the results and the record of what made them
            covered.add(sweep_record(ref[len(pl.SWEEP_REF) :]))
    for path in paths:
        covered.add(pl.resolve_path(str(path)))
    for folder in own:
        covered.folders.add(_real(folder))
    covered.folders.add(_real(package_folder()))
    covered.folders.add(_real(build_dir() / CACHE_SUBDIR))
    covered.files.add(_real(os.environ.get(PIPELINE_ENV) or repo_root() / pl.PIPELINE_FILE))
    return covered


def _installation() -> set[Path]:
    return {_real(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}}


def undeclared(read: Iterable[str], covered: Coverage) -> list[Path]:
    """The project files in ``read`` (absolute paths) that ``covered`` does not cover."""
    project = {_real(repo_root()), _real(build_dir())}
    installation = _installation()
    found = []
    for line in read:
        path = _real(line)
        if _under(path, project) and not _under(path, installation) and not covered.covers(path):
            found.append(path)
    return sorted(set(found))


def project_relative(path: Path) -> str:
    """``path`` relative to the checkout or the build folder when under one, else absolute."""
    for base in (_real(build_dir()), _real(repo_root())):
        if path.is_relative_to(base):
            prefix = "" if base == _real(repo_root()) else "<build>/"
            return prefix + str(path.relative_to(base))
    return str(path)


def recorded_reads(read: Iterable[str]) -> list[str]:
    """The data files among ``read`` (project files but the package's), relative, sorted:
    what a manifest records."""
    from analysis.compendium.cache import package_folder

    project = {_real(repo_root()), _real(build_dir())}
    skipped = {*_installation(), _real(package_folder())}
    kept = {
        project_relative(path)
        for path in map(_real, read)
        if _under(path, project) and not _under(path, skipped)
    }
    return sorted(kept)


def describe(name: str, what: str, files: list[Path]) -> str:
    """One line naming the first file ``name`` read that its key does not cover."""
    more = f" (and {len(files) - 1} more)" if len(files) > 1 else ""
    return (
        f"{what} {name!r} read {project_relative(files[0])}{more}, which is not among its "
        "declared inputs in pipeline.yml, so a change to it would not make the results stale; "
        "add it to the inputs (a file, a folder, or a pattern such as data/x/*.yml)"
    )
