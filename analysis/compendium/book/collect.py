"""Collect: what the book is made from, read and checked before anything is written.

The first step of the book build (collect -> derive pages -> assemble -> build -> record):
each chapter's default run, refused unless every file matches the sha256 its ``run.json``
recorded (:func:`verify_run`); the reproduction report's tables (:func:`report_tables`),
refused when its last run failed or is stale (:func:`check_report_run`); the executed
notebooks' figures by data tier. Nothing here writes, and nothing here imports the later
steps.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.compendium import pipeline as pl
from analysis.errors import CompendiumError
from analysis.paths import build_dir

FIGURE_TIERS = ("published", "synthetic", "user", "real", "coded")
#: The reproduction report's tables the landing page reads (written by its notebook).
REPORT_TABLES = {
    "kinds": "tables/kind_counts.csv",
    "verdicts": "tables/verdicts.csv",
    "findings": "tables/source_findings.csv",
    "summary": "tables/reproduction_summary.csv",
    "sentences": "tables/sentences.csv",
}
# Notebooks are handled as their JSON (dicts): nbformat's import (through jsonschema) costs
# about a second, more than the rest of an incremental book build in this process.
Notebook = dict[str, Any]


class BookError(CompendiumError, RuntimeError):
    """The book cannot be built; the message says what is missing or broken."""


def book_source_dir() -> Path:
    return build_dir() / "book-src"


def book_html_dir() -> Path:
    return build_dir() / "book" / "html"


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_notebook(path: Path) -> Notebook:
    """A stored notebook's JSON; a file that is not a version-4 notebook is refused."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BookError(f"{path}: not a readable notebook ({err})") from None
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise BookError(f"{path}: not a version-4 Jupyter notebook")
    return nb


def verify_run(name: str) -> Path:
    """The default run of ``name``, refused unless every file matches its ``run.json``."""
    from analysis.compendium import cache

    folder = pl.run_dir(name)
    executed = folder / f"{name}.ipynb"
    manifest = read_json(folder / "run.json")
    if manifest is None or not executed.is_file():
        raise BookError(
            f"notebook {name!r} has no executed run at {executed}; run `compendium run` first"
        )
    problems = cache.integrity_problems({**manifest, "_folder": str(folder)})
    if problems:
        raise BookError(
            f"notebook {name!r}: its run no longer matches the sha256 in {folder / 'run.json'}: "
            + "; ".join(problems[:5])
            + f"; run `compendium run {name} --force` to redo it"
        )
    return executed


def report_notebook(pipeline: pl.Pipeline) -> str | None:
    """The notebook that writes the reproduction report's tables, if the pipeline has one."""
    for name in pipeline.order():
        if REPORT_TABLES["kinds"] in pipeline.notebook(name).outputs:
            return name
    return None


def report_tables(pipeline: pl.Pipeline) -> dict[str, pd.DataFrame]:
    """The report's tables from its default run folder; empty when there is no report run."""
    name = report_notebook(pipeline)
    if name is None:
        return {}
    folder = pl.run_dir(name)
    tables = {}
    for key, rel in REPORT_TABLES.items():
        path = folder / rel
        if path.is_file():
            tables[key] = pd.read_csv(path, keep_default_na=False)
    return tables


def figure_tiers(pipeline: pl.Pipeline) -> Counter:
    """Figures in the executed notebooks, counted by the data tier their caption starts with."""
    counts: Counter = Counter()
    for name in pipeline.order():
        path = pl.run_dir(name) / f"{name}.ipynb"
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for cell in cells:
            caption = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption")
            if caption and cell.get("outputs"):
                counts[caption.split(":", 1)[0].split()[0].lower()] += 1
    return counts


def _failure_message(executed: Path) -> str:
    """The error a failed run's partly executed notebook ends with."""
    try:
        nb = json.loads(executed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"see {executed}"
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"{output.get('ename')}: {output.get('evalue')}"
    return f"see {executed}"


def check_report_run(pipeline: pl.Pipeline) -> None:
    """Refuse to build unless the reproduction report's last run succeeded and is fresh.

    The report's notebook asserts its must-match rows itself; the engine only checks that
    its last run did not fail (no ``failed-default`` folder) and that the reproduction
    tables it gathered are the chapters' current ones (the input digests its run recorded
    equal the files now), so the book never shows checks the report did not judge.
    """
    from analysis.compendium.cache import file_digest
    from analysis.compendium.execute import MANIFEST

    name = report_notebook(pipeline)
    if name is None:
        return
    folder = pl.run_dir(name)
    failed = folder.parent / f"failed-{folder.name}"
    if failed.is_dir():
        why = _failure_message(failed / f"{name}.ipynb")
        raise BookError(f"the book is not built: the {name!r} run failed: {why}")
    run = read_json(folder / MANIFEST)
    if run is None:
        raise BookError(
            f"the book is not built: {name!r} has no successful run at {folder}; "
            "run `compendium run` first"
        )
    changed = []
    for ref, digest in run.get("cache", {}).get("inputs", {}).items():
        if ":" not in ref:
            continue
        upstream, output = ref.split(":", 1)
        path = pl.run_dir(upstream) / output
        if not path.is_file() or file_digest(path) != digest:
            changed.append(ref)
    if changed:
        raise BookError(
            f"the book is not built: the {name!r} run is stale: {', '.join(changed)} changed "
            f"since it ran; run `compendium run {name}`"
        )
