"""Every notebook of the real pipeline, executed twice, writes byte-identical tables and
figures (tests/sameoutputs.py: no pixel tolerance).

The second execution of a notebook is made once per session, and made where it is cheapest:
the notebooks in ``RERUN_HERE`` are executed again here, in a copy of the session's guarded
run ``a`` (tests/guardedrun.py) from which their runs were removed, on the cached results of
the others; each notebook in ``ELSEWHERE`` is executed with its default parameters by the test
named, which compares what it wrote with run ``a``. A notebook in neither fails the suite.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import guardedrun
import pytest
from sameoutputs import assert_same_outputs

from analysis.compendium import pipeline as pl
from analysis.paths import repo_root

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PIPELINE = pl.load()
RERUN_HERE = ("quality_indicators", "surveys", "networks_real", "reproduction", "simulation")
ELSEWHERE = {
    "case_studies": "tests/casestudy/test_casestudy_e2e.py::"
    "test_default_run_writes_every_output_and_reports_the_typology_rule",
    "primary_care_networks": "tests/indicators/test_networks_notebook.py::"
    "test_a_year_without_a_file_fails_in_one_line_and_the_default_run_writes_everything",
}


@pytest.fixture(scope="module")
def states(tmp_path_factory) -> tuple[guardedrun.GuardedBuild, guardedrun.GuardedBuild]:
    first = guardedrun.guarded_build(tmp_path_factory, "a")
    first.check()
    second = guardedrun.guarded_rerun(tmp_path_factory, "b", first, RERUN_HERE)
    second.check()
    return first, second


@pytest.fixture(scope="module")
def runs(states) -> tuple[Path, Path]:
    return states[0].build, states[1].build


def _manifest(build: Path, name: str) -> dict:
    return json.loads((build / "runs" / name / "default" / "run.json").read_text())


@pytest.fixture(scope="module")
def pairs(runs) -> list[tuple[str, Path, Path]]:
    first, second = runs
    return [
        (name, first / "runs" / name / "default", second / "runs" / name / "default")
        for name in RERUN_HERE
    ]


def test_every_notebook_is_executed_twice_somewhere():
    assert set(RERUN_HERE) | set(ELSEWHERE) == set(PIPELINE.order())
    assert not set(RERUN_HERE) & set(ELSEWHERE)
    for name, test in ELSEWHERE.items():
        path, function = test.split("::")
        tree = ast.parse((repo_root() / path).read_text(encoding="utf-8"))
        (found,) = [n for n in ast.walk(tree) if getattr(n, "name", None) == function]
        calls = {getattr(c.func, "id", None) for c in ast.walk(found) if isinstance(c, ast.Call)}
        assert "assert_same_outputs" in calls, f"{test} does not compare {name} with run a"


def test_the_rerun_executed_exactly_its_notebooks(states):
    said = states[1].steps["run"].stderr
    executed = {n for n in PIPELINE.order() if f"executed  {n}" in said}
    assert executed == set(RERUN_HERE)


def test_the_two_runs_had_the_same_cache_keys(runs):
    """Same code, parameters and inputs: any difference below is non-determinism."""
    first, second = runs
    for name in PIPELINE.order():
        assert _manifest(first, name)["cache_key"] == _manifest(second, name)["cache_key"]


def test_both_runs_declare_the_same_outputs(pairs):
    for name, a, b in pairs:
        outputs = PIPELINE.notebook(name).outputs
        assert _manifest(a.parent.parent.parent, name)["outputs"].keys() == set(outputs)
        for output in outputs:
            assert (a / output).is_file() and (b / output).is_file(), f"{name}: {output}"


@pytest.mark.parametrize("name", RERUN_HERE)
def test_tables_and_figures_are_byte_identical(pairs, name):
    ((_, a, b),) = [pair for pair in pairs if pair[0] == name]
    assert_same_outputs(a, b)


def test_run_manifests_record_identical_output_hashes(pairs):
    for name, a, b in pairs:
        first = _manifest(a.parent.parent.parent, name)["outputs"]
        second = _manifest(b.parent.parent.parent, name)["outputs"]
        assert first == second, f"{name}: output hashes differ"
