"""The REAL primary-care-network chapter: its pipeline entry, its notebook, and bad parameters."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from sameoutputs import assert_same_outputs

from analysis.compendium import pipeline
from analysis.core.sentences import check_sentences
from analysis.core.stats import TAU2_METHODS
from analysis.paths import repo_root

NAME = "primary_care_networks"


@pytest.fixture(scope="module")
def entry():
    return pipeline.load().notebook(NAME)


def test_pipeline_entry_declares_every_real_input_and_the_parameters(entry):
    assert entry.defaults["data_source"] == "data/indicators/real/qof"
    assert pipeline.load().order().index(NAME) < pipeline.load().order().index("reproduction")
    data = [p for p in entry.inputs if p.startswith("data/indicators/real/qof/")]
    assert sorted(data) == sorted(
        f"data/indicators/real/qof/{p.name}"
        for p in (repo_root() / "data/indicators/real/qof").iterdir()
    )
    assert list(entry.parameters["grouping"].choices) == ["pcn", "ccg"]
    assert list(entry.parameters["comparator"].choices) == ["practice_mean", "pooled_points"]
    # dl_within needs the practices of each unit; this chapter's units are whole PCNs
    ungrouped = [m for m in TAU2_METHODS if m != "dl_within"]
    assert list(entry.parameters["tau2_method"].choices) == ungrouped
    assert "tables/sentences.csv" in entry.outputs


def test_notebook_is_thin_and_says_real_not_reproduction():
    nb = nbformat.read(repo_root() / "notebooks" / f"{NAME}.ipynb", as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert max(len(s.splitlines()) for s in code) <= 30
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "**REAL data.**" in text and "Open Government Licence v3.0" in text
    assert "**It is not a\nreproduction**" in text
    captions = [
        c.metadata["mystnb"]["figure"]["caption"] for c in nb.cells if "mystnb" in c.metadata
    ]
    assert captions and all(c.startswith("Real:") and "Open Government" in c for c in captions)
    assert 'REAL = "Real (NHS Digital QOF, OGL v3): "' in "\n".join(code)
    assert code[-1].count("caption=") == 0 and all(
        "caption=REAL +" in line for s in code for line in s.splitlines() if "caption=" in line
    )


def _cli(*args, build):
    env = {**os.environ, "COMPENDIUM_BUILD": str(build)}
    env.pop("COMPENDIUM_ROOT", None)
    return subprocess.run(
        [sys.executable, "-m", "analysis.compendium.cli", "run", NAME, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_a_static_bad_choice_fails_before_any_kernel_starts(tmp_path):
    result = _cli("-p", "grouping=stp", build=tmp_path)
    assert result.returncode != 0
    assert "parameter 'grouping'" in result.stderr and "'stp' is not one of" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.e2e
def test_a_year_without_a_file_fails_in_one_line_and_the_default_run_writes_everything(
    tmp_path, real_build
):
    bad = _cli("-p", "first_year=2020", build=tmp_path)
    assert bad.returncode != 0
    assert "parameter 'first_year': 2020 has no file" in bad.stderr
    assert "Traceback" not in bad.stderr
    good = _cli(build=tmp_path)
    assert good.returncode == 0, good.stderr[-2000:]
    run = tmp_path / "runs" / NAME / "default"
    for output in pipeline.load().notebook(NAME).outputs:
        assert (run / output).exists(), output
    funnel = pd.read_csv(run / "tables" / "pcn_funnel.csv")
    assert (funnel["data_tier"] == "REAL").all()
    assert len(funnel) == 1261
    # executed twice with the same defaults: the session's pipeline run wrote the same bytes
    assert_same_outputs(real_build / "runs" / NAME / "default", run)


def test_the_pipeline_run_states_its_results_from_its_own_tables(real_build):
    """The session's pipeline build: every number of every sentence is its table's cell."""
    tables_dir = real_build / "runs" / NAME / "default" / "tables"
    tables = {path.stem: pd.read_csv(path) for path in tables_dir.glob("*.csv")}
    sentences = tables.pop("sentences")
    assert len(sentences["key"].unique()) >= 6
    assert check_sentences(sentences, tables) == []
