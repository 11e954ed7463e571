from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import miniproject  # noqa: E402
from mutationtiming import pytest_runtest_makereport  # noqa: E402, F401


@pytest.fixture
def mini(tmp_path, monkeypatch):
    """A fresh mini project; COMPENDIUM_ROOT and COMPENDIUM_BUILD point at it."""
    root = miniproject.create(tmp_path / "project")
    monkeypatch.setenv("COMPENDIUM_ROOT", str(root))
    monkeypatch.setenv("COMPENDIUM_BUILD", str(root / "build"))
    return root


@pytest.fixture(scope="session")
def real_state(tmp_path_factory):
    """The real pipeline executed and its book built once per test session (all xdist
    workers share it): guarded run ``a`` of tests/guardedrun.py, from a snapshot of the
    repository, with the network guard on, into a private build folder."""
    import guardedrun

    state = guardedrun.guarded_build(tmp_path_factory, "a", book=True)
    state.check("run")
    state.check("book")
    return state


@pytest.fixture(scope="session")
def real_build(real_state):
    """The build folder of the session's real run and book. Tests only read it."""
    return real_state.build


SLOW_FIXTURES = {"real_state", "real_build", "real_template"}

_MEMO = type(functools.cache(len))


def pytest_sessionstart(session):
    """Start every session with the package's memoised functions empty, as a new process has
    them. mutmut (tests/mutation.py) runs each mutant's tests in a process forked from one
    that already ran them on the unmutated code: a memo filled then (the cache module's
    import closure) would hand the mutant the unmutated result, and the mutant would survive
    without ever running."""
    for name, module in list(sys.modules.items()):
        if name == "analysis" or name.startswith("analysis."):
            for value in list(vars(module).values()):
                if isinstance(value, _MEMO):
                    value.cache_clear()


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every test that needs a real pipeline build (minutes on two cores)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
