"""Project hygiene: lint, and the pip and conda package lists agree."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from analysis.paths import repo_root

ROOT = repo_root()


def _normalise(requirement: str) -> tuple[str, str]:
    # pip extras (dask[distributed]) have no conda spelling: conda-forge's dask includes them
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement)
    name, spec = match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")
    return name, ",".join(sorted(spec.split(","))) if spec else ""


def test_conda_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip = dict(map(_normalise, project["dependencies"] + project["optional-dependencies"]["test"]))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(
        _normalise(d)
        for d in env["dependencies"]
        if isinstance(d, str) and not d.startswith(("python", "pip"))
    )
    assert conda == pip


def test_ruff_lint_and_format():
    ruff = [sys.executable, "-m", "ruff"]
    check = subprocess.run([*ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run([*ruff, "format", "--check", str(ROOT)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_readme_names_the_notebooks_that_need_the_pipelines_results():
    """A hand run (`pytest --nbmake notebooks/`) of a notebook that reads another notebook's
    outputs or a sweep's results fails on a fresh clone: the README names exactly those."""
    from analysis.compendium import pipeline as pl

    pipeline = pl.load()
    needing = {
        name
        for name in pipeline.order()
        if pipeline.notebook(name).sweeps or any(":" in i for i in pipeline.notebook(name).inputs)
    }
    readme = " ".join((ROOT / "README.md").read_text().split())
    sentence = re.search(r"need the pipeline's results first: (.*?)\. Run `make all`", readme)
    assert sentence, "README: no sentence naming the notebooks that need the pipeline's results"
    named = set(re.findall(r"`(\w+)` \(", sentence.group(1)))
    assert named == needing
