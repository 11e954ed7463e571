"""A notebook's input check (``validate:`` in pipeline.yml) runs before its kernel starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.compendium import execute
from analysis.compendium import pipeline as pl
from analysis.compendium.inputcheck import input_problems
from analysis.files import sha256_file

CLI = [sys.executable, "-m", "analysis.compendium.cli"]
# A stand-in for a strand's checker: every problem of the run at once, or nothing.
CHECKER = """\
import json, sys
parameters = json.loads(sys.argv[sys.argv.index("--parameters") + 1])
if parameters["fail"]:
    sys.stderr.write(
        "error: data: 2 problem(s) found before the analysis:\\n"
        "  data/input.csv: line 3, column value: expected a number\\n"
        "  parameter sleep: expected at most 1\\n"
    )
    sys.exit(2)
"""


def _with_check(mini: Path) -> None:
    (mini / "check.py").write_text(CHECKER)
    text = (mini / "pipeline.yml").read_text()
    old = "    source: notebooks/gamma.ipynb\n"
    (mini / "pipeline.yml").write_text(
        text.replace(old, old + "    validate: [python, check.py]\n")
    )


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in folder.rglob("*") if p.is_file()}


def test_the_check_is_declared_and_parsed(mini):
    _with_check(mini)
    gamma = pl.load().notebook("gamma")
    assert gamma.validate == ("python", "check.py")
    assert pl.load().notebook("alpha").validate == ()
    text = (mini / "pipeline.yml").read_text().replace("validate: [python,", "validate: [5,")
    (mini / "pipeline.yml").write_text(text)
    with pytest.raises(
        pl.PipelineError, match=r"pipeline.yml:\d+: notebook 'gamma': validate must"
    ):
        pl.load()


def test_every_problem_the_check_lists_is_reported_and_no_kernel_starts(mini):
    _with_check(mini)
    gamma = pl.load().notebook("gamma")
    assert input_problems(gamma, {"fail": False, "sleep": 0.0}) == ""
    message = input_problems(gamma, {"fail": True, "sleep": 0.0})
    assert message.startswith("notebook 'gamma': not started: its input check (python check.py)")
    assert "line 3, column value" in message and "parameter sleep" in message
    good = subprocess.run([*CLI, "run", "gamma"], capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    before = _files(mini / "build" / "runs")
    bad = subprocess.run(
        [*CLI, "run", "gamma", "-p", "fail=true"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr + bad.stdout
    out = bad.stdout + bad.stderr
    assert "line 3, column value: expected a number" in out and "parameter sleep" in out
    # Nothing started (no partly executed notebook kept) and nothing already produced changed.
    assert not list((mini / "build" / "runs" / "gamma").glob("failed-*"))
    assert _files(mini / "build" / "runs") == before
    outcome = execute.execute_notebook(gamma, {"fail": True, "sleep": 0.0}, "p-x", {})
    assert outcome.status == "failed" and outcome.folder is None


def test_every_bad_parameter_value_is_named_in_one_error(mini):
    alpha = pl.load().notebook("alpha")
    with pytest.raises(pl.PipelineError) as err:
        pl.resolve_parameters(alpha, {"n": 0, "mode": "c", "nn": 1})
    lines = str(err.value).splitlines()
    assert lines[0] == "3 parameter problem(s):"
    assert "parameter 'n' (int): 0 is below the minimum 1" in lines[1]
    assert "parameter 'mode' (str): 'c' is not one of ['a', 'b']" in lines[2]
    assert "unknown parameter 'nn'" in lines[3]
