"""The scope of a fixture that a test module's tests share, and why mutation testing needs another.

mutmut links each function to the tests during which it ran, and it counts a module-scoped
fixture's set-up as part of the first test only: every later test of the module would never be
run against a mutant of what the fixture calls, and those mutants would survive unchecked. Under
mutation testing (mutmut sets ``MUTANT_UNDER_TEST`` before pytest collects) such a fixture is
made anew for each test instead.
"""

from __future__ import annotations

import os


def module_unless_mutating(fixture_name: str, config: object) -> str:
    """``"module"``, or ``"function"`` while mutmut collects or runs the tests."""
    return "function" if "MUTANT_UNDER_TEST" in os.environ else "module"
