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
