from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import miniproject  # noqa: E402


@pytest.fixture
def mini(tmp_path, monkeypatch):
    """A fresh mini project; COMPENDIUM_ROOT and COMPENDIUM_BUILD point at it."""
    root = miniproject.create(tmp_path / "project")
    monkeypatch.setenv("COMPENDIUM_ROOT", str(root))
    monkeypatch.setenv("COMPENDIUM_BUILD", str(root / "build"))
    return root


@pytest.fixture(scope="session")
def real_build(tmp_path_factory):
    """The real pipeline executed and the book built once per test session, in a private folder.

    Returns the build folder. Tests that need executed notebooks or the built book share it.
    """
    import os
    import subprocess

    build = tmp_path_factory.mktemp("real-build")
    env = {**os.environ, "COMPENDIUM_BUILD": str(build)}
    env.pop("COMPENDIUM_ROOT", None)
    for command in (["run"], ["book"]):
        result = subprocess.run(
            [sys.executable, "-m", "analysis.compendium.cli", *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        assert result.returncode == 0, f"compendium {command[0]} failed:\n{result.stderr[-4000:]}"
    return build
