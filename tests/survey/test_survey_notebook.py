"""The surveys notebook runs from any folder and writes every declared output (slow: e2e)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.compendium import pipeline as pl
from analysis.paths import BUILD_ENV, repo_root

papermill = pytest.importorskip("papermill")


@pytest.mark.e2e
def test_surveys_notebook_runs_and_reproduces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # A notebook writes only under a build folder's manual/ or runs/: this test's own.
    monkeypatch.setenv(BUILD_ENV, str(tmp_path / "build"))
    notebook = pl.load().notebooks["surveys"]
    out = tmp_path / "build" / "manual" / "surveys" / "run"
    papermill.execute_notebook(
        str(repo_root() / notebook.source),
        str(tmp_path / "surveys.ipynb"),
        parameters={"output_dir": str(out), "survey": "staff", "grouping": "role"},
        kernel_name="python3",
        progress_bar=False,
    )
    for output in notebook.outputs:
        assert (out / output).exists(), output
    checks = pd.read_csv(out / "tables" / "reproduction.csv")
    must = checks[checks["must_match"]]
    assert len(must) > 0 and (must["status"] == "match").all()
    assert set(pd.read_csv(out / "tables" / "subgroups.csv")["tier"]) == {"synthetic"}
