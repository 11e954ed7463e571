"""Keeping notebooks reviewable: stored without outputs, execution counts or run metadata."""

from __future__ import annotations

from pathlib import Path

import nbformat

from analysis.errors import CompendiumError
from analysis.paths import repo_root

KEPT_METADATA = ("kernelspec", "language_info")


def stripped(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with outputs, execution counts and run metadata removed."""
    nb = nbformat.from_dict(nb)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEPT_METADATA}
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def is_stripped(path: str | Path) -> bool:
    """True when the stored notebook carries no outputs or run metadata."""
    nb = nbformat.read(repo_root() / path, as_version=4)
    return nb == stripped(nb)


def strip_notebook(path: str | Path) -> bool:
    """Strip a notebook in place; returns True if it changed."""
    path = repo_root() / path
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise CompendiumError(f"{path}: not a readable notebook ({err})") from None
    clean = stripped(nb)
    if clean == nb:
        return False
    nbformat.write(clean, path)
    return True
