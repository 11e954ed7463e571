"""Stored notebooks are stripped, and their parameters cell agrees with pipeline.yml."""

from __future__ import annotations

import ast

import nbformat
import pytest

from analysis.compendium import pipeline as pl
from analysis.compendium.notebooks import is_stripped, strip_notebook
from analysis.paths import repo_root

PIPELINE = pl.load()
NOTEBOOKS = list(PIPELINE.notebooks.values())


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.name)
def test_notebook_is_stored_without_outputs(notebook):
    assert is_stripped(notebook.source), f"{notebook.source} has outputs: run `make strip`"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.name)
def test_parameters_cell_matches_pipeline(notebook):
    nb = nbformat.read(repo_root() / notebook.source, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{notebook.source}: expected one cell tagged 'parameters'"
    declared = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), (
            f"{notebook.source}: parameters cell holds only assignments"
        )
        declared[node.targets[0].id] = ast.literal_eval(node.value)
    assert declared.pop("output_dir") == ""
    assert declared == notebook.defaults


def test_strip_removes_outputs(mini):
    path = mini / "notebooks" / "alpha.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="hello")]
    nb.cells[3].execution_count = 4
    nbformat.write(nb, path)
    assert not is_stripped("notebooks/alpha.ipynb")
    assert strip_notebook("notebooks/alpha.ipynb") is True
    assert is_stripped("notebooks/alpha.ipynb")
    assert strip_notebook("notebooks/alpha.ipynb") is False


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.name)
def test_notebook_checks_its_own_parameters_first(notebook):
    """A hand run (JupyterLab, plain papermill) with a wrongly typed value stops at once."""
    nb = nbformat.read(repo_root() / notebook.source, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert f'check_parameters("{notebook.name}", globals())' in code[1].source
