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
