"""The package's architecture as an executable contract.

The rules live in ``pyproject.toml`` (``[tool.importlinter]``): strands use ``core``, ``core``
uses only ``paths``/``files``/``errors``, strands are independent of each other, the engine
(``analysis.compendium``) imports no strand and none of core's science, and nothing but the
engine imports the engine. ``lint-imports`` checks them; a broken rule names both modules.
Also checked: no module grows past the size of one concept, and every subpackage says what
it is for.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.paths import repo_root

ROOT = repo_root()
PACKAGE = ROOT / "analysis"
ROOMS = ("compendium", "bench", "core", "indicators", "survey", "casestudy")
MAX_LINES = 550  # "about 500": one concept per module


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": str(Path(sys.executable).parent)},
    )


def test_import_contracts_are_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "named"),
    [
        ("core/stats.py", "from analysis.indicators import panel", "analysis.indicators.panel"),
        ("indicators/panel.py", "from analysis.survey import published", "analysis.survey"),
        ("compendium/runner.py", "from analysis.core import stats", "analysis.core.stats"),
        ("casestudy/qca.py", "from analysis.compendium import pipeline", "analysis.compendium"),
    ],
)
def test_a_wrong_import_breaks_the_contract_naming_both_modules(
    tmp_path, module, bad_import, named
):
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", copy / "pyproject.toml")
    shutil.copytree(PACKAGE, copy / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "analysis" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{bad_import}  # noqa\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    importer = "analysis." + module.removesuffix(".py").replace("/", ".")
    assert "BROKEN" in result.stdout
    assert importer in result.stdout and named in result.stdout, result.stdout


def test_every_room_says_what_it_is_for():
    for room in ROOMS:
        init = PACKAGE / room / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()) >= 3, f"{init}: say what the room holds"


def test_no_module_holds_more_than_one_concept_by_size():
    sizes = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
        for p in PACKAGE.rglob("*.py")
    }
    too_big = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not too_big, f"split these modules (over {MAX_LINES} lines): {too_big}"


def test_tests_mirror_the_layout():
    for room in ROOMS:
        assert (ROOT / "tests" / room).is_dir(), f"tests/{room}/ is missing"
