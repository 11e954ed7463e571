"""Mutation testing of the modules where a wrong result would pass without a word.

``make mutation`` runs this script. For each module below it copies ``analysis/`` and
``tests/`` into ``build/mutation/<module>/``, writes a ``[tool.mutmut]`` table that mutates
that one file and selects that module's own tests, runs ``mutmut run`` there (one worker:
the machine is shared) and prints the share of mutants killed. Every run starts from a
fresh copy so a result never comes from an older version of the code or the tests.

Score = (killed + timed out + equivalent mutants named in ``EQUIVALENT``) / all mutants.
Mutants no test reaches ("no tests") and "suspicious" ones count as not killed. An
equivalent mutant is only counted when its mutated line still matches the one recorded
here, so an entry goes stale (and stops counting) when the code around it changes.

Usage::

    python tests/mutation.py                  # every module
    python tests/mutation.py stats qca        # some of them
    python tests/mutation.py --list           # the modules, their tests and targets

Inspect a survivor afterwards with ``cd build/mutation/<module> && mutmut show <name>``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Target:
    """One module to mutate, the tests that are its own, and the share to kill."""

    source: str
    tests: tuple[str, ...]
    target: float
    deselect: tuple[str, ...] = ()
    # The tests edit files inside the package copy (and restore them): two workers at once
    # would see each other's edits and "kill" mutants that are not wrong.
    serial: bool = False


MODULES = {
    "cache": Target(
        "analysis/compendium/cache.py",
        ("tests/compendium/test_pipeline.py", "tests/compendium/test_cache_mutants.py"),
        0.85,
        serial=True,
    ),
    "pipeline": Target(
        "analysis/compendium/pipeline.py",
        ("tests/compendium/test_pipeline.py", "tests/compendium/test_pipeline_edges.py"),
        0.85,
        serial=True,
    ),
    "stats": Target(
        "analysis/core/stats.py",
        (
            "tests/core/test_stats.py",
            "tests/core/test_properties.py",
            "tests/indicators/test_stats_indicators.py",
            "tests/core/test_stats_edges.py",
        ),
        0.90,
    ),
    "suppression": Target(
        "analysis/core/suppression.py",
        ("tests/core/test_suppression.py", "tests/core/test_suppression_rules.py"),
        0.90,
        # 60 Hypothesis tables with two attacks each: ~7 s a mutant, too slow to run per
        # mutant here. Leaving it out can only lower the score (a stricter measure).
        deselect=("tests/core/test_suppression.py::test_no_small_cell_is_ever_recoverable",),
    ),
    "qca": Target(
        "analysis/casestudy/qca.py",
        ("tests/casestudy/test_qca.py", "tests/casestudy/test_qca_truth_table.py"),
        0.90,
    ),
}

# Surviving mutants that no test can kill because they do not change behaviour:
# mutant name -> (text of the mutated line, why it is equivalent).
_QCA = "analysis.casestudy.qca.x_"
_FLOAT_CAST = (
    "the float cast is redundant: 0/1, boolean or fuzzy numeric scores give the same "
    "minimum, sum and true division without it"
)
_N_FIRST = "rows are also sorted by n descending, which already puts observed (n > 0) rows first"
_NAN_TIE = "consistency is missing only for n = 0 rows, which all get the same fill value"
_UNIQUE_LAST_KEY = "the last sort key, the expression, is unique, so the order is total"
_KIND_IGNORED = "pandas ignores the sort kind when sorting on several columns"
_ZIP_STRICT = "both sequences are built with one entry per condition, so strict never fires"
_SUP = "analysis.core.suppression.x_"
_HIGHS = "HiGHS is scipy's default linprog method, and scipy lower-cases the method name"
_STATS = "analysis.core.stats.x_"
_NUMERIC_CAST = (
    "the float cast is redundant for numeric input here: no power or integer division "
    "follows, and missing values are not accepted by this function either way"
)
_SORT_KIND = "tied p-values get the same adjusted value whatever the sort order"
_WILSON_LOWER = (
    "for count > 0 the lower bound centre - half lies in (0, 1) (centre <= 1, half >= 0); "
    "no rounding below 0 was found searching n up to 1e17 with counts 1 and 2"
)
_STATSMODELS_FLOAT = "statsmodels' confint_poisson already returns float arrays"
_CACHE = "analysis.compendium.cache.x_"
_LOCALE = (
    "equivalent on a UTF-8 locale (this machine and CI run C.UTF-8); it would matter under a "
    "non-UTF-8 locale, which a test cannot set inside the running process"
)
_PIPE = "analysis.compendium.pipeline.x"
EQUIVALENT: dict[str, tuple[str, str]] = {
    f"{_PIPE}ǁPipelineǁupstream__mutmut_8": (
        'ref.split(":", 2)[0]',
        "the part before the first colon is the same whatever the split limit",
    ),
    f"{_PIPE}__parse_parameter__mutmut_57": (
        "default=None,",
        "this first Parameter is only used to check the default; the one returned gets the "
        "checked default",
    ),
    f"{_PIPE}_load__mutmut_9": ('read_text(encoding="UTF-8")', "codec names are case-insensitive"),
    f"{_PIPE}_resolve_path__mutmut_3": (
        "if (path.is_absolute()) and False else",
        "joining an absolute path onto the root gives the absolute path itself",
    ),
    f"{_PIPE}_parse_assignment__mutmut_17": (
        "value = None",
        "a value YAML cannot read becomes None here, and the next line turns None into the "
        "raw text anyway",
    ),
    f"{_CACHE}_code_cells__mutmut_3": ("read_text(encoding=None)", _LOCALE),
    f"{_CACHE}module_closure__mutmut_12": ("read_text(encoding=None)", _LOCALE),
    f"{_CACHE}_code_cells__mutmut_6": (
        'read_text(encoding="UTF-8")',
        "codec names are case-insensitive",
    ),
    f"{_CACHE}_code_cells__mutmut_11": (
        'if (isinstance(c["source"], list)) or True else',
        '"".join of a string gives the same string',
    ),
    f"{_CACHE}module_closure__mutmut_14": (
        'read_text(encoding="UTF-8")',
        "codec names are case-insensitive",
    ),
    **{
        f"{_STATS}{func}__mutmut_{n}": (line, _NUMERIC_CAST)
        for func, n, line in (
            ("wilson_interval", 4, "count = np.asarray(count, dtype=None)"),
            ("wilson_interval", 6, "count = np.asarray(count, )"),
            ("null_standard_error", 5, "target = np.asarray(target, dtype=None)"),
            ("null_standard_error", 7, "target = np.asarray(target, )"),
            ("null_standard_error", 10, "n = np.asarray(n, dtype=None)"),
            ("null_standard_error", 12, "n = np.asarray(n, )"),
            ("funnel_limits", 26, "target = np.asarray(target, dtype=None)"),
            ("funnel_limits", 28, "target = np.asarray(target, )"),
        )
    },
    **{
        f"{_STATS}benjamini_hochberg__mutmut_{n}": (line, _SORT_KIND)
        for n, line in ((20, "kind=None"), (22, "np.argsort(values, )"), (24, 'kind="MERGESORT"'))
    },
    f"{_STATS}benjamini_hochberg__mutmut_48": (
        "np.minimum(ranked, 2.0)",
        "after the running minimum every value is at most the largest p-value, so a cap "
        "at 1 or 2 never binds for p-values in [0, 1]",
    ),
    **{
        f"{_STATS}garwood_interval__mutmut_{n}": (line, _STATSMODELS_FLOAT)
        for n, line in (
            (50, "np.asarray(lower, dtype=None)"),
            (52, "np.asarray(lower, )"),
            (55, "np.asarray(upper, dtype=None)"),
            (57, "np.asarray(upper, )"),
        )
    },
    **{
        f"{_STATS}wilson_interval__mutmut_{n}": (line, _WILSON_LOWER)
        for n, line in (
            (74, "np.clip(centre - half, None, 1.0)"),
            (75, "np.clip(centre - half, 0.0, None)"),
            (81, "np.clip(centre - half, 0.0, 2.0)"),
        )
    },
    f"{_STATS}wilson_interval__mutmut_92": (
        "np.clip(centre + half, None, 1.0)",
        "centre and half are both non-negative, so the upper bound is never below 0",
    ),
    f"{_STATS}garwood_interval__mutmut_48": (
        "np.nan_to_num(np.asarray(lower, dtype=float), )",
        "nan_to_num's default replacement for NaN is already 0.0",
    ),
    f"{_STATS}garwood_interval__mutmut_53": (
        "nan=1.0",
        "the installed statsmodels returns a lower bound of 0 (not NaN) for a count of 0, "
        "so the NaN guard never fires (it protects against older statsmodels)",
    ),
    f"{_SUP}cell_bounds__mutmut_32": ("b_eq=b_eq, )", _HIGHS),
    f"{_SUP}_upper_bound_below__mutmut_25": ("b_eq=b_eq, )", _HIGHS),
    f"{_SUP}_upper_bound_below__mutmut_27": ('method="HIGHS"', _HIGHS),
    f"{_SUP}cell_bounds__mutmut_35": ('method="HIGHS"', _HIGHS),
    f"{_SUP}_equations__mutmut_12": (
        "coef[index[cell]] = sign",
        "a cell appears once in each row or column equation, so += and = agree",
    ),
    f"{_SUP}_equations__mutmut_20": (
        "if (a_eq) or True else (None, None)",
        "there are no equations only when no cell is withheld, and then no LP is solved",
    ),
    **{
        f"{_QCA}{func}__mutmut_{n}": (line, _FLOAT_CAST)
        for func in ("consistency", "coverage")
        for n, line in (
            (3, "np.asarray(x, dtype=None)"),
            (5, "np.asarray(x, )"),
            (7, "np.asarray(y, dtype=None)"),
            (9, "np.asarray(y, )"),
        )
    },
    f"{_QCA}consistency__mutmut_23": ('float("NAN")', 'float("NAN") is the same NaN'),
    f"{_QCA}coverage__mutmut_23": ('float("NAN")', 'float("NAN") is the same NaN'),
    f"{_QCA}truth_table__mutmut_17": (
        "y = data[outcome].to_numpy(dtype=None)",
        "y is only compared with 1 and passed to consistency/coverage, which cast it",
    ),
    f"{_QCA}truth_table__mutmut_38": (
        "else sorted(observed, )",
        "the rows are re-sorted afterwards with the unique expression as last key",
    ),
    f"{_QCA}truth_table__mutmut_39": (
        "else sorted(observed, reverse=False)",
        "the rows are re-sorted afterwards with the unique expression as last key",
    ),
    f"{_QCA}truth_table__mutmut_43": (
        "to_numpy(dtype=None) == np.array(config)",
        "0/1 stored as int, float or bool compare equal to the 0/1 configuration",
    ),
    f"{_QCA}truth_table__mutmut_48": (
        "x = member.astype(None)",
        "numpy's astype(None) is float64, the same as astype(float)",
    ),
    **{
        f"{_QCA}truth_table__mutmut_{n}": (line, _ZIP_STRICT)
        for n, line in (
            (58, "zip(conditions, config, strict=None)"),
            (61, "zip(conditions, config, )"),
            (62, "zip(conditions, config, strict=False)"),
        )
    },
    f"{_QCA}truth_table__mutmut_104": (
        "if (not np.isnan(cons)) or True else False",
        "for a remainder cons is NaN and 0 < NaN < 1 is already False",
    ),
    **{
        f"{_QCA}truth_table__mutmut_{n}": (line, why)
        for n, line, why in (
            (125, "_obs=None", _N_FIRST),
            (131, '_obs=table["n"] >= 0', _N_FIRST),
            (132, '_obs=table["n"] > 1', _N_FIRST),
            (133, "fillna(None)", _NAN_TIE),
            (136, "fillna(+1)", _NAN_TIE),
            (137, "fillna(-2)", _NAN_TIE),
            (141, "kind=None", _UNIQUE_LAST_KEY),
            (144, "ascending=[False, False, False, True], )", _UNIQUE_LAST_KEY),
            (157, 'kind="XXmergesortXX"', _KIND_IGNORED),
            (158, 'kind="MERGESORT"', _KIND_IGNORED),
        )
    },
    f"{_QCA}condition_table__mutmut_9": (
        "y = data[outcome].to_numpy(dtype=None)",
        "y only reaches consistency/coverage, which cast it to float",
    ),
    f"{_QCA}condition_table__mutmut_12": (
        "present = data[name].to_numpy(dtype=None)",
        "1.0 - present and consistency/coverage give floats for int, float or bool columns",
    ),
}

KILLED = {"killed", "timeout"}
STATUS = {
    0: "survived",
    1: "killed",
    3: "killed",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    None: "not checked",
}


def _mutmut_table(target: Target) -> str:
    tests = [t for t in target.tests if (ROOT / t).is_file()]
    tests += [arg for test in target.deselect for arg in ("--deselect", test)]
    lines = [
        "",
        "[tool.mutmut]",
        'source_paths = ["analysis"]',
        f"only_mutate = {json.dumps([target.source])}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        # -n 0: mutmut records which tests reach each mutant in its own process, which the
        # suite's `-n auto` (pyproject addopts) would move into xdist workers it cannot see.
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "--hypothesis-seed=0", "-n", "0"]',
        "use_git_change_detection = false",
        # A mutant that loops forever is stopped after 4x its tests' usual time, not 15x.
        "timeout_multiplier = 4.0",
        "",
    ]
    return "\n".join(lines)


def prepare(name: str, target: Target) -> Path:
    """A fresh scratch project for one module: the package, the tests and the config."""
    folder = WORK / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    for part in ("analysis", "tests"):
        shutil.copytree(ROOT / part, folder / part, ignore=ignore)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    if "mutmut" in tomllib.loads(pyproject).get("tool", {}):
        raise SystemExit("pyproject.toml: remove [tool.mutmut]; tests/mutation.py writes it")
    (folder / "pyproject.toml").write_text(pyproject + _mutmut_table(target), encoding="utf-8")
    return folder


def statuses(folder: Path, target: Target) -> dict[str, str]:
    """Mutant name -> status, read from the results mutmut stores next to the mutant file."""
    meta = folder / "mutants" / (target.source + ".meta")
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {key: STATUS.get(code, "suspicious") for key, code in codes.items()}


def _mutated_line(folder: Path, mutant: str) -> str:
    shown = subprocess.run(
        [str(MUTMUT), "show", mutant], cwd=folder, capture_output=True, text=True, check=False
    ).stdout
    return "\n".join(line for line in shown.splitlines() if line.startswith("+ "))


def score(name: str, folder: Path, target: Target) -> dict:
    found = statuses(folder, target)
    counts: dict[str, int] = {}
    for status in found.values():
        counts[status] = counts.get(status, 0) + 1
    equivalent, stale = [], []
    for mutant, (line, _why) in EQUIVALENT.items():
        if found.get(mutant) != "survived":
            continue
        (equivalent if line in _mutated_line(folder, mutant) else stale).append(mutant)
    killed = sum(n for status, n in counts.items() if status in KILLED)
    total = len(found)
    share = (killed + len(equivalent)) / total if total else 0.0
    return {
        "module": name,
        "source": target.source,
        "tests": [t for t in target.tests if (ROOT / t).is_file()],
        "left_out": list(target.deselect),
        "mutants": total,
        "counts": counts,
        "equivalent": equivalent,
        "stale_equivalent": stale,
        "score": share,
        "target": target.target,
        "survivors": sorted(m for m, s in found.items() if s not in KILLED and m not in equivalent),
    }


def run(name: str, target: Target, children: int) -> dict:
    folder = prepare(name, target)
    env = {
        **os.environ,
        "COMPENDIUM_ROOT": str(ROOT),
        "COMPENDIUM_BUILD": str(folder / "build"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started = time.monotonic()
    result = subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(1 if target.serial else children)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    (folder / "mutmut-run.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0 or not (folder / "mutants" / (target.source + ".meta")).exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
        raise SystemExit(f"{name}: mutmut run failed (see {folder / 'mutmut-run.log'}): {tail}")
    summary = score(name, folder, target)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary


def report(summary: dict) -> str:
    counts = summary["counts"]
    met = summary["score"] >= summary["target"]
    verdict = (
        "target met"
        if met
        else f"target missed by {100 * (summary['target'] - summary['score']):.1f} points"
    )
    lines = [
        f"{summary['module']:<12} {summary['source']:<34} "
        f"{100 * summary['score']:5.1f}% of {summary['mutants']} killed "
        f"(target {100 * summary['target']:.0f}%: {verdict}; {summary['seconds']} s)",
        "             "
        + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
        + f"; equivalent (named) {len(summary['equivalent'])}",
    ]
    for mutant in summary["equivalent"]:
        lines.append(f"             equivalent: {mutant}: {EQUIVALENT[mutant][1]}")
    for mutant in summary["stale_equivalent"]:
        lines.append(f"             STALE equivalent entry (line changed): {mutant}")
    for mutant in summary["survivors"]:
        lines.append(f"             not killed: {mutant}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--list", action="store_true", help="show modules, tests and targets")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutant workers")
    parser.add_argument(
        "--rescore", action="store_true", help="score the last run again without running mutmut"
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, target in MODULES.items():
            print(f"{name}: {target.source} >= {100 * target.target:.0f}% with {target.tests}")
            for test in target.deselect:
                print(f"    left out: {test}")
        return 0
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        print(f"unknown module(s) {unknown}; expected some of: {', '.join(MODULES)}")
        return 2
    if not MUTMUT.exists():
        print(f"mutmut is not installed next to {sys.executable}; `pip install -e '.[test]'`")
        return 2
    summaries = []
    for name in args.modules or list(MODULES):
        if args.rescore:
            summary = score(name, WORK / name, MODULES[name]) | {"seconds": 0.0}
        else:
            summary = run(name, MODULES[name], args.max_children)
        print(report(summary), flush=True)
        summaries.append(summary)
    (WORK / "summary.json").write_text(json.dumps(summaries, indent=2), encoding="utf-8")
    missed = [s["module"] for s in summaries if s["score"] < s["target"]]
    print("all targets met" if not missed else f"targets missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
