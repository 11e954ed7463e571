"""The package's architecture as an executable contract.

The rules live in ``pyproject.toml`` (``[tool.importlinter]``): strands use ``core``, ``core``
uses only ``paths``/``files``/``errors``, strands are independent of each other, the engine
(``analysis.compendium``) imports no strand and none of core's science, and nothing but the
engine imports the engine. ``lint-imports`` checks them; a broken rule names both modules.
Also checked: no import circle between the package's modules (the graph is drawn from the
source, function-level imports included), no module grows past the size of one concept, and
every subpackage says what it is for.
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
SUB_ROOMS = (
    "compendium/book",
    *(f"indicators/{room}" for room in ("sources", "methods", "synthetic", "networks", "report")),
)  # tested beside their room's tests
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
        (
            "core/stats.py",
            "from analysis.indicators.sources import panel",
            "analysis.indicators.sources.panel",
        ),
        ("indicators/sources/panel.py", "from analysis.survey import published", "analysis.survey"),
        ("compendium/runner.py", "from analysis.core import stats", "analysis.core.stats"),
        ("casestudy/qca.py", "from analysis.compendium import pipeline", "analysis.compendium"),
        ("compendium/cli.py", "from analysis.bench import tools", "analysis.bench.tools"),
        (
            "indicators/sources/panel.py",
            "from analysis.indicators.methods import selection",
            "analysis.indicators.methods.selection",
        ),
        (
            "indicators/networks/real_levels.py",
            "from analysis.indicators.report import figures",
            "analysis.indicators.report.figures",
        ),
        (
            "compendium/book/collect.py",
            "from analysis.compendium.book import assemble",
            "analysis.compendium.book.assemble",
        ),
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


# --------------------------------------------------------------------------- import circles


def module_imports(package: Path) -> dict[str, set[str]]:
    """Every module of ``package`` (a folder named after its import name) and the modules of
    the package it imports anywhere in its source, function bodies included.

    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module, else ``a.b``;
    relative imports are resolved; a package is its ``__init__``.
    """
    root = package.parent
    modules: dict[str, tuple[Path, bool]] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        base = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [known(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    prefix = base
                    for _ in range(node.level - 1):
                        prefix = prefix.rpartition(".")[0]
                    source = ".".join(p for p in (prefix, source) if p)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                    else known(source)
                    for alias in node.names
                ]  # fmt: skip
            else:
                continue
            graph[name].update(t for t in targets if t and t != name)
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def one_cycle(graph: dict[str, set[str]], members: list[str]) -> list[str]:
    """A path through ``members`` back to its start, for the failure message."""
    inside = set(members)
    path = [members[0]]
    while True:
        step = min(t for t in graph[path[-1]] if t in inside)
        if step in path:
            return [*path[path.index(step) :], step]
        path.append(step)


def test_the_circle_finder_finds_a_planted_circle(tmp_path):
    package = tmp_path / "pkg"
    for name, text in {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "def f():\n    from . import c\n",  # a function-level, relative import
        "c.py": "import pkg.a\n",
        "d.py": "from pkg.a import f\n",  # imports a name of a module: not a circle
    }.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    graph = module_imports(package)
    assert graph["pkg.b"] == {"pkg.c"} and graph["pkg.d"] == {"pkg.a"}
    assert import_circles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    assert one_cycle(graph, ["pkg.a", "pkg.b", "pkg.c"]) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]


def test_no_import_circle_between_the_package_modules():
    graph = module_imports(PACKAGE)
    circles = import_circles(graph)
    shown = "\n".join(" -> ".join(one_cycle(graph, c)) for c in circles)
    assert not circles, f"import circles (break each so its steps import one way):\n{shown}"


def test_every_room_says_what_it_is_for():
    for room in (*ROOMS, *SUB_ROOMS):
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
