"""A test's set-up counts in the time mutmut records for it.

mutmut runs a mutant's tests fastest first, by the time each test's body took when it gathered
its statistics (``MUTANT_UNDER_TEST`` is ``"stats"`` then). A fixture's set-up is not in that
time, and under mutation testing the chapter fixtures are made anew for every test
(tests/sharedscope.py): a test that only reads a table of a chapter its fixture ran in seconds
looked instant, went first, and every mutant paid for a chapter before a test of a tenth of a
second could kill it. Counting the set-up puts the cheap tests first, and gives mutmut's
timeouts an estimate that includes what a test really costs.
"""

from __future__ import annotations

import os

import pytest

_SETUP = pytest.StashKey[float]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    """While mutmut gathers statistics, add a test's set-up time to its call time."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return
    if call.when == "setup":
        item.stash[_SETUP] = call.duration
    elif call.when == "call":
        call.duration += item.stash.get(_SETUP, 0.0)
