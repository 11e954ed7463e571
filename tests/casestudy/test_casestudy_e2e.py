"""The case-study notebook executed with plain papermill from outside the repository."""

from __future__ import annotations

import pandas as pd
import papermill
import pytest
from sameoutputs import assert_same_outputs

from analysis.compendium import pipeline as pl
from analysis.paths import BUILD_ENV, repo_root

pytestmark = pytest.mark.e2e
ENTRY = pl.load().notebook("case_studies")


@pytest.fixture(autouse=True)
def build_here(tmp_path, monkeypatch):
    """The kernel's build folder is this test's, so its output folder is allowed."""
    monkeypatch.setenv(BUILD_ENV, str(tmp_path / "build"))


def execute(tmp_path, **parameters):
    # A notebook writes only under a build folder's manual/ or runs/: this test's own.
    out = tmp_path / "build" / "manual" / "case_studies" / "run"
    papermill.execute_notebook(
        str(repo_root() / ENTRY.source),
        str(tmp_path / "executed.ipynb"),
        parameters={**parameters, "output_dir": str(out)},
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
    )
    return out


def test_default_run_writes_every_output_and_reports_the_typology_rule(tmp_path, real_build):
    out = execute(tmp_path)
    for output in ENTRY.outputs:
        assert (out / output).stat().st_size > 0, output
    reproduction = pd.read_csv(out / "tables" / "reproduction.csv")
    assert len(reproduction) == 69
    assert set(reproduction["kind"]) == {"consistency", "coded_rule", "transcribed"}
    assert not reproduction["must_match"].any()  # no check of the report stops the run
    failed = reproduction.loc[reproduction["status"] == "mismatch", "check_id"].tolist()
    assert failed == ["cs_typology_embedded", "cs_typology_small"]
    assert set(reproduction.loc[reproduction["status"] == "mismatch", "kind"]) == {"coded_rule"}
    typology = pd.read_csv(out / "tables" / "typology.csv").set_index("site")
    assert typology["style"].to_dict() == {
        "Expanding": "authoritative",
        "Embedded": "neglectful",
        "Struggling": "neglectful",
        "Small": "undetermined",  # control 0.5 exactly at the cut, as in the QCA
    }
    cases = pd.read_csv(out / "tables" / "qca_summary.csv").iloc[0]
    assert (cases["sites"], cases["cases_in"], cases["cases_out"]) == (4, 2, 2)
    assert typology.loc["Embedded", "published"] == "indulgent"
    solutions = pd.read_csv(out / "tables" / "qca_solutions.csv")
    parsimonious = solutions[solutions["solution"] == "parsimonious"]
    assert set(parsimonious["expression"]) == {"ccg_relationship", "leadership_management"}
    excluded = pd.read_csv(out / "tables" / "qca_excluded.csv")
    assert set(excluded["case"]) == {"Expanding", "Small"}
    # executed twice with the same defaults: the session's pipeline run wrote the same bytes
    assert_same_outputs(real_build / "runs" / "case_studies" / "default", out)


def test_parameters_change_the_result_and_a_mismatch_is_reported(tmp_path):
    out = execute(
        tmp_path,
        sites=["Small", "Embedded"],
        themes=["money", "system_proactivity"],
        scoring_map="convex",
        qca_outcome="financial_stability",
        qca_conditions=["money", "history"],
    )
    matrix = pd.read_csv(out / "tables" / "framework_matrix.csv")
    assert list(matrix["theme"]) == ["money", "system_proactivity"]
    assert list(matrix.columns[-2:]) == ["Small", "Embedded"]
    reproduction = pd.read_csv(out / "tables" / "reproduction.csv").set_index("check_id")
    assert reproduction.loc["cs_typology_embedded", "status"] == "mismatch"
    # The typology scores Table 5 and the Directing row on their own scale: Small's control
    # (0.5) is at the default cut, placed in neither level, as the QCA treats a crossover.
    assert reproduction.loc["cs_typology_small", "reproduced"] == "undetermined"
    assert reproduction.loc["cs_typology_small", "kind"] == "coded_rule"
    truth = pd.read_csv(out / "tables" / "qca_truth_table.csv")
    assert set(truth.columns[:2]) == {"money", "history"}
    assert truth["n"].sum() == 2
