"""Benchmarks: the compendium's pipeline against the usual ways of running notebooks.

``python -m analysis.bench`` (``make bench``) measures in one run, side by side:

1. floors: kernel start-up (an empty notebook through papermill) and the pipeline floor, the
   kernel start-ups plus each notebook's own compute divided over the cores (never less than
   the longest chain of dependent notebooks);
2. our pipeline: cold run, no-op rerun, rerun after changing one parameter of one notebook
   (its default in ``pipeline.yml``), serial against ``--jobs`` equal to the cores, and the
   same serial/parallel pair on synthetic independent notebooks of equal length;
3. the same notebooks run the ways users would otherwise: a plain sequential papermill
   loop, ``jupyter nbconvert --execute`` and ``jupyter-book build`` with execution on (cache
   and force modes);
4. the indicator analysis (:mod:`analysis.indicators.synthetic.scaling`, run as a command) on
   synthetic national panels of growing size: time and peak memory, each size in a fresh process;
5. the REAL networks chapter (:mod:`analysis.indicators.networks.real_bench`, run as commands): its
   five-year practice panel, its figures and its peak memory.

The machine is shared and noisy, so every timing is the median of ``--repeat`` runs and the
results are read as ratios. Everything runs in a private copy of the repository (with its own
``analysis`` package on ``PYTHONPATH``, so edits made meanwhile do not leak in) and private
build folders; ``build/runs`` is never touched. The results go to
``build/bench/results.json`` in the shape the book's Performance page reads:
``{"summary": markdown, "tables": {section: [row, ...]}}`` plus the raw measurements.

Every timed command records the machine's load before and during it
(:mod:`analysis.bench.load`); a section in which other work competed is marked
busy, in its table and on the targets it supports, and every median comes with its spread.
A full run (not ``--quick``, default root and output) also writes its results, with date,
machine and commit, to ``book/bench/results.json``: kept in the repository, so the book's
Performance page shows a measured table even on a fresh clone.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.bench.measure import QUICK_SIZES, Settings, measure
from analysis.bench.results import TARGET_TABLES, results
from analysis.commandline import CommandParser
from analysis.files import atomic_path
from analysis.paths import build_dir, path_argument, repo_root


def kept_results() -> Path:
    """The results of the last full ``make bench``, kept in the repository for the book."""
    return repo_root() / "book" / "bench" / "results.json"


def write_results(results: dict[str, Any], path: Path) -> Path:
    """Write the results JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def git_commit(source: Path) -> str:
    """The measured project's commit (``-dirty`` with uncommitted changes), or ``unknown``."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=source, capture_output=True, text=True)
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    return (commit + ("-dirty" if git("status", "--porcelain") else "")) if commit else "unknown"


def run_bench(source: Path, out: Path, settings: Settings, keep: Path | None = None) -> dict:
    """Measure everything in a scratch folder and write ``out``; returns the results."""
    scratch = Path(tempfile.mkdtemp(prefix="compendium-bench-", dir=keep))
    try:
        raw = measure(source, scratch, settings)
        document = results(raw, settings.cores, settings.repeat)
        document["settings"] = settings.__dict__
        document["recorded"] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} ({platform.platform()}, {settings.cores} cores)",
            "python": platform.python_version(),
            "commit": git_commit(source),
        }
        write_results(document, out)
        return document
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = CommandParser("analysis.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, small panels (smoke run)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (3)")
    parser.add_argument(
        "--root", type=path_argument, default=None, help="project to measure (this one)"
    )
    parser.add_argument(
        "--out", type=path_argument, default=None, help="results file (build/bench/results.json)"
    )
    parser.add_argument("--sizes", default=None, help="panel sizes, e.g. 1000,7000,30000")
    parser.add_argument(
        "--only",
        default=None,
        help="sections: floors,pipeline,parallel,peers,scaling,sweep,realchapter,england",
    )
    parser.add_argument("--change", default=None, help="parameter to change: NOTEBOOK:NAME=VALUE")
    parser.add_argument(
        "--keep", type=path_argument, default=None, help="keep scratch folders under this"
    )
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    settings = (
        Settings(repeat=1, sizes=QUICK_SIZES, busy_seconds=0.5, quick=True)
        if args.quick
        else Settings()
    )
    if args.repeat:
        settings.repeat = max(1, args.repeat)
    if args.sizes:
        settings.sizes = tuple(int(s) for s in args.sizes.split(","))
    if args.only:
        settings.sections = tuple(s.strip() for s in args.only.split(","))
    settings.change = args.change
    return settings


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_from(args)
    out = args.out or build_dir() / "bench" / "results.json"
    document = run_bench((args.root or repo_root()).resolve(), out, settings, args.keep)
    if not settings.quick and args.out is None and args.root is None:
        # The last full run is kept in the repository: the book shows it on a fresh clone.
        write_results(document, kept_results())
    print(document["summary"])
    rows = [document["tables"].get(k, []) for k in TARGET_TABLES]
    for row in (r for table in rows for r in table):
        print(f"  {row['result']:7} {row['target']}: {row['measured']}")
    print(f"results: {out}")
    return 1 if document["raw"]["errors"] else 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
