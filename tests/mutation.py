"""Mutation testing of the modules where a wrong result would pass without a word.

``make mutation`` runs this script. The modules, their targets and the modules left out
(each with its reason) are in tests/mutation_targets.py; the mutants that cannot be killed
because they change no behaviour are in tests/mutation_equivalents.py, each with its
reason. A module's tests are found from the layout (:func:`tests_of`): the test files of
its mirror folder named after it and every test file that imports it, less the tests
marked e2e, slow or browser (they run notebooks or build the book) and the few named in
``SLOW_TESTS``.

For each module (or each part of one, see ``Target.parts``) the script copies
``analysis/`` and ``tests/`` into ``build/mutation/<module>/``, writes a ``[tool.mutmut]``
table that mutates that one file with those tests, runs ``mutmut run`` there and scores
the result. Every run starts from a fresh copy, so a result never comes from an older
version of the code or the tests.

Score = (killed + timed out + crashed + named equivalents that survived) / all mutants.
mutmut's timeout is of wall-clock time, so a mutant that times out is run once more alone
(on a busy machine the tests are merely slow); it counts as timed out only if it does again.
"No tests" and "suspicious" mutants count as not killed. mutmut forks each mutant's run from
the process that ran the tests on the unmutated code, so tests/conftest.py empties the
package's memoised functions at the start of every session (a memo filled by that run
would otherwise hand the mutant the unmutated result). A named equivalent must still
exist, survive and mutate the line recorded for it: otherwise the run fails naming it.

Usage::

    python tests/mutation.py                   # every module
    python tests/mutation.py stats qca         # some modules
    python tests/mutation.py stats:tau2        # one part of a split module
    python tests/mutation.py --list            # modules, parts, tests and targets
    python tests/mutation.py --matrix          # the run units as JSON (for CI)
    python tests/mutation.py --rescore stats   # score the last run again (no mutmut run)
    python tests/mutation.py --gather          # one report of every unit's last result

The report is printed and written to ``build/mutation/report.md`` and ``summary.json``.
Inspect a survivor afterwards with ``cd build/mutation/<module> && mutmut show <name>``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fnmatch
import functools
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import mutation_kept as kept  # noqa: E402
from mutation_equivalents import EQUIVALENT  # noqa: E402
from mutation_kept import function_nodes, unit_functions  # noqa: E402
from mutation_targets import EXCLUDED, SLOW_TESTS, TARGETS, UNMUTATED, Target  # noqa: E402

WORK = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")
PACKAGE = "analysis"
#: Tests that run notebooks, build the book or need the session's real build: minutes each.
MARKERS = "not e2e and not slow and not browser"
#: mutmut's statuses that mean a test failed because of the mutant.
KILLED = ("killed", "timeout", "segfault")
#: Seconds added to mutmut's estimate of a mutant's tests before its timeout (x10) is set.
TIMEOUT_FLOOR = 4.0
#: The harness's own tests: they read the package's source, which mutmut rewrites into
#: trampolines, so they check the harness on the real tree, never a module per mutant.
HARNESS_TESTS = "tests/test_mutation_targets.py"


# --------------------------------------------------------------------------- the layout


def module_name(source: str) -> str:
    """``analysis/core/stats.py`` -> ``analysis.core.stats``."""
    return ".".join(Path(source).with_suffix("").parts).removesuffix(".__init__")


def package_modules(root: Path = ROOT) -> list[str]:
    """Every module file of the package, as a path relative to ``root``."""
    return sorted(
        str(p.relative_to(root))
        for p in (root / PACKAGE).rglob("*.py")
        if p.name != "__init__.py" and "__pycache__" not in p.parts
    )


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The package modules a Python file imports, however it spells the import:
    ``import a.b``, ``from a import b`` (``b`` a module) or ``from a.b import c``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
    return found & modules


@functools.cache
def _imports_by_test(root: Path) -> dict[str, frozenset[str]]:
    """Every test file under ``root/tests`` -> the package modules it imports (parsed once)."""
    modules = {module_name(m) for m in package_modules(root)}
    return {
        str(path.relative_to(root)): frozenset(imported_modules(path, modules))
        for path in sorted((root / "tests").rglob("test_*.py"))
        if "__pycache__" not in path.parts
    }


def tests_of(source: str, root: Path = ROOT) -> list[str]:
    """A module's test files, found from the layout, relative to ``root``.

    The files of its mirror folder named after it (``analysis/core/stats.py`` ->
    ``tests/core/test_stats.py`` and ``tests/core/test_stats_*.py``) and every test file
    anywhere under ``tests/`` that imports the module, less the harness's own tests.
    """
    module = module_name(source)
    relative = Path(source).relative_to(PACKAGE)
    mirror = Path("tests") / relative.parent
    stem = relative.stem
    found = []
    for test, imported in _imports_by_test(root).items():
        path = Path(test)
        named = path.parent == mirror and (
            path.stem == f"test_{stem}" or path.stem.startswith(f"test_{stem}_")
        )
        if (named or module in imported) and test != HARNESS_TESTS:
            found.append(test)
    return found


def nested_memos(source: str, root: Path = ROOT) -> list[str]:
    """Functions memoised with functools (``cache``, ``lru_cache``) anywhere but at the top
    level of a module: tests/conftest.py empties only module-level memos between mutant
    runs, so one inside a class or a function could hand a mutant the unmutated result."""
    tree = ast.parse((root / source).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node in tree.body:
            continue
        for decorator in node.decorator_list:
            called = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
            if name in ("cache", "lru_cache"):
                found.append(
                    f"{source}:{node.lineno}: {node.name} is memoised inside a class "
                    "or function; tests/conftest.py cannot empty it between mutants"
                )
    return found


def deselected(tests: list[str]) -> list[str]:
    """The ``SLOW_TESTS`` that belong to these test files."""
    return sorted(node for node in SLOW_TESTS if node.split("::")[0] in tests)


# --------------------------------------------------------------------------- parts


def functions_of(source: str, root: Path = ROOT) -> list[str]:
    """The functions mutmut mutates in a module: top-level functions and methods
    (``Class.method``), in file order."""
    return list(function_nodes((root / source).read_text(encoding="utf-8")))


def mutant_glob(module: str, function: str) -> str:
    """The mutmut names of one function's mutants (``Class.*`` for every method)."""
    if "." in function:
        cls, method = function.split(".", 1)
        return f"{module}.xǁ{cls}ǁ{method}__mutmut_*"
    return f"{module}.x_{function}__mutmut_*"


def function_of(mutant: str) -> str:
    """The function a mutant name belongs to: ``x_f__mutmut_3`` -> ``f``,
    ``xǁCǁm__mutmut_3`` -> ``C.m`` (the module part, if any, is dropped)."""
    local = mutant.rpartition(".")[2].split("__mutmut_")[0]
    if local.startswith("xǁ"):
        return local.removeprefix("xǁ").replace("ǁ", ".")
    return local.removeprefix("x_")


def units(name: str, root: Path = ROOT) -> list[tuple[str, tuple[str, ...]]]:
    """The runs of one module: ``[(part, mutant globs)]``; one unnamed part when unsplit,
    else its named parts and ``rest`` (see :func:`mutation_kept.unit_functions`)."""
    target = TARGETS[name]
    module = module_name(target.source)
    if not target.parts:
        return [("", (f"{module}.*",))]
    return [
        (part, tuple(mutant_glob(module, f) for f in functions))
        for part, functions in unit_functions(name, functions_of(target.source, root))
    ]


#: Decorators mutmut mutates through; it leaves every other decorated function unmutated.
MUTATED_DECORATORS = ("staticmethod", "classmethod")


def unmutated_functions(source: str, root: Path = ROOT) -> dict[str, int]:
    """The functions of a module mutmut leaves alone (decorated other than by
    ``MUTATED_DECORATORS``) -> the statements in their body, the docstring not counted."""
    tree = ast.parse((root / source).read_text(encoding="utf-8"))
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.decorator_list:
            continue
        if [ast.unparse(d) for d in node.decorator_list] in ([d] for d in MUTATED_DECORATORS):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        found[node.name] = len(body)
    return found


def problems_in_registry(root: Path = ROOT) -> list[str]:
    """What is wrong with the registry for the package as it is now (empty: nothing).

    Every module is a target or excluded with a reason (not both); every listed module
    exists; every target finds tests; every part names functions that exist; every slow
    test and every named equivalent belongs to something that exists.
    """
    problems = []
    modules = package_modules(root)
    for source in modules:
        listed = [source in {t.source for t in TARGETS.values()}, source in EXCLUDED]
        if not any(listed):
            problems.append(f"{source}: neither a mutation target nor excluded with a reason")
        elif all(listed):
            problems.append(f"{source}: both a mutation target and excluded")
    for source, reason in EXCLUDED.items():
        if source not in modules:
            problems.append(f"{source}: excluded but no longer in the package")
        if len(reason.split()) < 8:
            problems.append(f"{source}: the reason for excluding it says too little")
    for name, target in TARGETS.items():
        if target.source not in modules:
            problems.append(f"{name}: {target.source} is not in the package")
            continue
        if not tests_of(target.source, root):
            problems.append(f"{name}: no test file is named after or imports {target.source}")
        problems += nested_memos(target.source, root)
        functions = functions_of(target.source, root)
        for part, members in target.parts:
            for member in members:
                if not any(fnmatch.fnmatch(f, member) for f in functions):
                    problems.append(f"{name}: part {part!r} names {member!r}, not a function")
    for target in TARGETS.values():
        if target.source not in modules:
            continue
        for function, statements in unmutated_functions(target.source, root).items():
            key = f"{target.source}::{function}"
            if statements > 1 and key not in UNMUTATED:
                problems.append(
                    f"{key}: decorated, so mutmut leaves its {statements} statements unmutated; "
                    "move them into a plain function or give the reason in UNMUTATED"
                )
    for key in UNMUTATED:
        source, _, function = key.partition("::")
        if source not in modules or function not in unmutated_functions(source, root):
            problems.append(f"UNMUTATED: {key} is no longer a decorated function of a target")
    for node in SLOW_TESTS:
        file, _, test = node.partition("::")
        path = root / file
        if not path.is_file() or f"def {test.split('[')[0]}(" not in path.read_text("utf-8"):
            problems.append(f"SLOW_TESTS: {node} no longer exists")
    by_module = {module_name(t.source): t.source for t in TARGETS.values()}
    for mutant, (_line, why) in EQUIVALENT.items():
        module, _, local = mutant.rpartition(".")
        if module not in by_module:
            problems.append(f"EQUIVALENT: {mutant}: {module} is not a mutation target")
            continue
        function = function_of(local)
        if by_module[module] in modules and function not in functions_of(by_module[module], root):
            problems.append(f"EQUIVALENT: {mutant}: {function} no longer exists")
        if len(why.split()) < 5:
            problems.append(f"EQUIVALENT: {mutant}: the reason says too little")
    return problems


# --------------------------------------------------------------------------- one run


def _project_files() -> list[str]:
    """The project's files as a clone has them (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        raise SystemExit(f"git ls-files failed in {ROOT}: {listed.stderr.strip()}")
    return sorted(f for f in listed.stdout.split("\0") if f and (ROOT / f).is_file())


def _mutmut_table(target: Target, tests: list[str], tops: list[str]) -> str:
    selection = tests + [arg for node in deselected(tests) for arg in ("--deselect", node)]
    lines = [
        "",
        "[tool.mutmut]",
        f'source_paths = ["{PACKAGE}"]',
        f"only_mutate = {json.dumps([target.source])}",
        # The tests run inside mutants/ and find the project beside them (data/,
        # pipeline.yml, notebooks/...), as they find it beside tests/ in a clone.
        f"also_copy = {json.dumps(tops)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(selection)}",
        # -n 0: mutmut records which tests reach each mutant in its own process, which the
        # suite's `-n auto` (pyproject addopts) would move into xdist workers it cannot see.
        "pytest_add_cli_args = "
        + json.dumps(["-p", "no:cacheprovider", "--hypothesis-seed=0", "-n", "0", "-m", MARKERS]),
        "use_git_change_detection = false",
        # A mutant that loops forever is stopped after 10x its tests' usual wall-clock
        # time, not mutmut's 15x; less makes a busy machine's slow tests time out.
        "timeout_multiplier = 10.0",
        # mutmut's usual time counts a test's body; tests/mutationtiming.py adds its set-up
        # (the chapter fixtures' seconds). TIMEOUT_FLOOR seconds are added to every estimate
        # for what neither counts (pytest's start, collection, teardown).
        f"timeout_constant = {TIMEOUT_FLOOR}",
        "",
    ]
    return "\n".join(lines)


def prepare(name: str, target: Target, tests: list[str]) -> Path:
    """A fresh scratch copy of the project for one module, with its mutmut config."""
    folder = WORK / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for file in _project_files():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / file, folder / file)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if "mutmut" in tomllib.loads(pyproject).get("tool", {}):
        raise SystemExit("pyproject.toml: remove [tool.mutmut]; tests/mutation.py writes it")
    tops = sorted({p.name for p in folder.iterdir()} - {PACKAGE, "tests", "pyproject.toml"})
    table = _mutmut_table(target, tests, tops)
    (folder / "pyproject.toml").write_text(pyproject + table, encoding="utf-8")
    return folder


def statuses(folder: Path, target: Target) -> dict[str, str]:
    """Mutant name -> mutmut's status, read from the results it stores beside the mutants."""
    from mutmut.stats import status_by_exit_code

    meta = folder / "mutants" / (target.source + ".meta")
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {key: status_by_exit_code[code] for key, code in codes.items()}


@contextlib.contextmanager
def _inside(folder: Path):
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def mutated_lines(folder: Path, target: Target, mutants: list[str]) -> dict[str, str]:
    """The lines each mutant changes (``+`` lines of its diff), read as ``mutmut show``."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    shown = {}
    with _inside(folder):
        for mutant in mutants:
            diff = get_diff_for_mutant(mutant, path=target.source)
            shown[mutant] = "\n".join(
                line[1:].strip()
                for line in diff.splitlines()
                if line.startswith("+") and not line.startswith("+++")
            )
    return shown


def score(name: str, part: str, globs: tuple[str, ...], folder: Path) -> dict:
    """Counts, named equivalents and score of one run unit, from mutmut's stored results."""
    target = TARGETS[name]
    found = {
        m: s
        for m, s in statuses(folder, target).items()
        if any(fnmatch.fnmatch(m, g) for g in globs)
    }
    counts: dict[str, int] = {}
    for status in found.values():
        counts[status] = counts.get(status, 0) + 1
    named = [m for m in EQUIVALENT if any(fnmatch.fnmatch(m, g) for g in globs)]
    lines = mutated_lines(folder, target, [m for m in named if m in found])
    equivalent, failures = [], []
    for mutant in named:
        line = EQUIVALENT[mutant][0]
        if mutant not in found:
            failures.append(f"named equivalent {mutant} no longer exists")
        elif line not in lines[mutant]:
            failures.append(
                f"named equivalent {mutant} now mutates {lines[mutant]!r}, not {line!r}"
            )
        elif found[mutant] != "survived":
            failures.append(f"named equivalent {mutant} is {found[mutant]}: remove its entry")
        else:
            equivalent.append(mutant)
    killed = sum(counts.get(s, 0) for s in KILLED)
    total = len(found)
    share = (killed + len(equivalent)) / total if total else 1.0
    left = sorted(m for m, s in found.items() if s not in KILLED and m not in equivalent)
    return {
        "module": name,
        "part": part,
        "source": target.source,
        "mutants": total,
        "killed": counts.get("killed", 0),
        "timeout": counts.get("timeout", 0),
        "crashed": counts.get("segfault", 0),
        "survived": counts.get("survived", 0),
        "no_tests": counts.get("no tests", 0),
        "other": {s: n for s, n in counts.items() if s not in (*KILLED, "survived", "no tests")},
        "equivalent": equivalent,
        "score": share,
        "target": target.target,
        "failures": failures,
        "not_killed": {m: found[m] for m in left},
        "not_killed_lines": mutated_lines(folder, target, left),
    }


def run_unit(name: str, part: str, globs: tuple[str, ...], folder: Path, children: int) -> dict:
    """``mutmut run`` of one unit in an already prepared folder, then its score."""
    target = TARGETS[name]
    env = {
        **os.environ,
        "COMPENDIUM_ROOT": str(folder / "mutants"),
        "COMPENDIUM_BUILD": str(folder / "build"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(1 if target.serial else children), *globs],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    log = folder / f"mutmut-run{'-' + part if part else ''}.log"
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0 or not (folder / "mutants" / (target.source + ".meta")).exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise SystemExit(f"{name}: mutmut run failed (see {log}): {tail}")
    # mutmut's timeout is of wall-clock time, so a busy machine times out mutants whose
    # tests are only slow: each is run again alone, and counts as timed out only if it
    # times out again (and as whatever it is otherwise).
    slow = sorted(
        m
        for m, s in statuses(folder, target).items()
        if s == "timeout" and any(fnmatch.fnmatch(m, g) for g in globs)
    )
    if slow:
        again = subprocess.run(
            [str(MUTMUT), "run", "--max-children", "1", *slow],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        with log.open("a", encoding="utf-8") as out:
            out.write(f"\n# timed out mutants run again alone: {slow}\n")
            out.write(again.stdout + again.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = score(name, part, globs, folder)
    summary["timeouts_rerun"] = len(slow)
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["cpu_seconds"] = round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 1)
    summary["budget"] = target.budget
    if summary["cpu_seconds"] > target.budget:
        summary["failures"].append(
            f"took {summary['cpu_seconds']} CPU s, over its budget of {target.budget}: "
            "split it by function (Target.parts in tests/mutation_targets.py)"
        )
    return summary


def run_module(name: str, only: str | None, children: int) -> list[dict]:
    """Every unit of one module (or the one part asked for), in one fresh copy."""
    target = TARGETS[name]
    tests = tests_of(target.source)
    commit = _commit()  # the code copied now is what is mutated, whatever the tree does later
    folder = prepare(name, target, tests)
    summaries = []
    for part, globs in units(name):
        if only is not None and part != only:
            continue
        summary = run_unit(name, part, globs, folder, children)
        summary["tests"] = tests
        summary["left_out"] = deselected(tests)
        summary["commit"] = commit
        code = (folder / target.source).read_text(encoding="utf-8")
        summary["fingerprint"] = kept.fingerprint(name, part, code)
        print(report(summary), flush=True)
        kept.keep(WORK, _label(summary), summary)
        summaries.append(summary)
    return summaries


# --------------------------------------------------------------------------- report


def _label(summary: dict) -> str:
    return summary["module"] + (f":{summary['part']}" if summary["part"] else "")


def report(summary: dict) -> str:
    met = summary["score"] >= summary["target"] and not summary["failures"]
    lines = [
        f"{_label(summary):<22} {summary['source']:<40} {100 * summary['score']:5.1f}% of "
        f"{summary['mutants']} (target {100 * summary['target']:.0f}%: "
        f"{'met' if met else 'NOT MET'}; {summary['seconds']} s, "
        f"{summary['cpu_seconds']} CPU s)",
        f"{'':22} killed {summary['killed']}, timeout {summary['timeout']}, crashed "
        f"{summary['crashed']}, survived {summary['survived']}, no tests "
        f"{summary['no_tests']}, named equivalents {len(summary['equivalent'])}"
        + "".join(f", {s} {n}" for s, n in summary["other"].items()),
    ]
    lines += [f"{'':22} FAILED: {failure}" for failure in summary["failures"]]
    lines += [
        f"{'':22} {status}: {mutant}: {summary['not_killed_lines'].get(mutant, '')}"
        for mutant, status in summary["not_killed"].items()
    ]
    return "\n".join(lines)


def markdown(summaries: list[dict], commit: str) -> str:
    """The report as a Markdown table (uploaded by the CI job)."""
    head = (
        "| module | mutants | killed | survived | no tests | timeouts | named equivalents "
        "| score | target | time (s) | CPU (s) | commit |\n" + "|---" * 12 + "|"
    )
    rows = [
        f"| {_label(s)} | {s['mutants']} | {s['killed']} | {s['survived']} | {s['no_tests']} "
        f"| {s['timeout']} | {len(s['equivalent'])} | {100 * s['score']:.1f}% "
        f"| {100 * s['target']:.0f}% | {s['seconds']} | {s['cpu_seconds']} "
        f"| {s.get('commit', commit)} |"
        for s in summaries
    ]
    body = [f"# Mutation testing at {commit}", "", head, *rows, ""]
    for s in summaries:
        if s["failures"] or s["not_killed"]:
            body += [f"## {_label(s)}", ""]
            body += [f"- FAILED: {f}" for f in s["failures"]]
            body += [
                f"- {status}: `{m}`: `{s['not_killed_lines'].get(m, '')}`"
                for m, status in s["not_killed"].items()
            ]
            body.append("")
    return "\n".join(body)


def _commit() -> str:
    """The commit checked out, with ``+edits`` when the tree differs from it."""
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    edited = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return (result.stdout.strip() or "an unknown commit") + ("+edits" if edited.stdout else "")


# --------------------------------------------------------------------------- command


def _listing() -> str:
    lines = []
    for name, target in TARGETS.items():
        tests = tests_of(target.source)
        lines.append(f"{name}: {target.source} >= {100 * target.target:.0f}% ({target.decides})")
        lines += [
            f"    part {part}: {len(globs)} function(s)" for part, globs in units(name) if part
        ]
        lines += [f"    test: {test}" for test in tests]
        lines += [f"    left out: {node}" for node in deselected(tests)]
    return "\n".join(lines)


def _selected(args: list[str]) -> list[tuple[str, str | None]]:
    chosen = []
    for arg in args or list(TARGETS):
        name, _, part = arg.partition(":")
        if name not in TARGETS:
            raise SystemExit(f"unknown module {name!r}; expected one of: {', '.join(TARGETS)}")
        if part and part not in [p for p, _ in units(name)]:
            raise SystemExit(f"{name} has no part {part!r}: {[p for p, _ in units(name)]}")
        chosen.append((name, part or None))
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE[:PART]", help=", ".join(TARGETS))
    parser.add_argument("--list", action="store_true", help="modules, parts, tests, targets")
    parser.add_argument("--matrix", action="store_true", help="run units as JSON, for CI")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutant workers")
    parser.add_argument(
        "--rescore", action="store_true", help="score the last run again without mutmut"
    )
    parser.add_argument(
        "--gather",
        action="store_true",
        help="one report of every unit's last kept result (run nothing); a unit never run fails",
    )
    args = parser.parse_args(argv)
    problems = problems_in_registry()
    if problems:
        heading = "tests/mutation_targets.py or mutation_equivalents.py:\n  "
        print(heading + "\n  ".join(problems), file=sys.stderr)
    if args.list:
        print(_listing())
        return 2 if problems else 0
    chosen = _selected(args.modules)
    if args.matrix:
        runs = [
            f"{name}:{unit}" if unit else name
            for name, part in chosen
            for unit, _ in units(name)
            if part is None or unit == part
        ]
        print(json.dumps([{"unit": r, "slug": r.replace(":", "-")} for r in runs]))
        return 2 if problems else 0
    if not args.gather and not MUTMUT.exists():
        print(f"mutmut is not installed next to {sys.executable}: pip install -e '.[mutation]'")
        return 2
    summaries, never_run = [], []
    if args.gather:
        summaries, never_run = kept.gathered(WORK, ROOT, chosen)
        for summary in summaries:
            print(report(summary), flush=True)
        chosen = []
    for name, part in chosen:
        if not args.rescore:
            summaries += run_module(name, part, args.max_children)
            continue
        for unit, globs in units(name):
            if part is None or unit == part:
                summary = score(name, unit, globs, WORK / name)
                summary |= {"seconds": 0.0, "cpu_seconds": 0.0, "budget": TARGETS[name].budget}
                print(report(summary), flush=True)
                summaries.append(summary)
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "summary.json").write_text(json.dumps(summaries, indent=2), encoding="utf-8")
    (WORK / "report.md").write_text(markdown(summaries, _commit()), encoding="utf-8")
    missed = [_label(s) for s in summaries if s["score"] < s["target"] or s["failures"]]
    missed += [f"{label} (never run)" for label in never_run]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")
    if problems:
        print("the registry has problems (listed first): the run fails")
    return 1 if missed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
