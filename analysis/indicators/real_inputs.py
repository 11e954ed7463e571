"""The REAL networks chapter's inputs: every file read by its layout, every problem at once.

:func:`read_inputs` reads the yearly geography mappings, the organisation-level table, the
practice-level group table and the QOF practice summaries of the trend years, and checks the
parameters against what the files hold. It does not stop at the first bad file: each reader's
message (one line naming the file, the line or row and the column) and each parameter problem
is collected, and one :class:`InputProblems` lists them all.

``python -m analysis.indicators.real_inputs --parameters JSON`` is the chapter's input check in
``pipeline.yml`` (``validate:``): the engine runs it before the kernel starts; it exits 0, or 2
with one line per problem.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.configschema import ConfigError
from analysis.core import stats
from analysis.core.datasets import DataError
from analysis.indicators import organisation_table as ot
from analysis.indicators import practice_groups as pg
from analysis.indicators import structures as st
from analysis.indicators.qof import QofYears, choose_mapping, file_year, read_qof_years
from analysis.paths import repo_root

DEFAULTS = {
    "membership_source": "data/indicators/real/membership",
    "organisation_table": "data/indicators/real/qof_indicators/pcn_data_matrix.csv.gz",
    "organisation_mapping": "data/indicators/mappings/organisations_pcn_data_matrix.yml",
    "practice_groups": "data/indicators/real/qof_indicators/qof_cvd_groups.csv.gz",
    "practice_groups_mapping": "data/indicators/mappings/practice_groups_qof_cvd.yml",
    "qof_source": "data/indicators/real/qof",
    "membership_year": 2023,
    "trend_years": [2019, 2021],
    "tau2_method": "dl",
}
"""The chapter's default inputs and the parameters the check needs (as in ``pipeline.yml``)."""


class InputProblems(DataError):
    """One or more input problems, one line each."""


@dataclass(frozen=True)
class RealInputs:
    """Every file of the chapter, read."""

    structures: st.StructureYears
    table: ot.OrganisationTable
    groups: pg.PracticeGroups
    qof: QofYears
    table_path: Path
    groups_path: Path


def in_project(path: str | os.PathLike) -> Path:
    """A relative path is relative to the project root (as in ``pipeline.yml``)."""
    path = Path(path)
    return path if path.is_absolute() else repo_root() / path


def folder_files(folder: str | os.PathLike, pattern: str, parameter: str) -> list[Path]:
    """The files of ``folder`` matching ``pattern``; a one-line error naming the parameter."""
    path = Path(folder)
    if not path.is_dir():
        raise DataError(f"parameter {parameter!r}: {path} is not a folder")
    files = sorted(path.glob(pattern))
    if not files:
        raise DataError(f"parameter {parameter!r}: no {pattern} files in {path}")
    return files


def qof_year_files(folder: str | os.PathLike) -> dict[int, Path]:
    """The QOF practice summaries of a folder by year (each matched to its layout)."""
    files = folder_files(folder, "*.csv*", "qof_source")
    return {file_year(p, choose_mapping(p)): p for p in files}


def _attempt(problems: list[str], read):
    try:
        return read()
    except (DataError, ConfigError, ValueError) as err:
        problems.append(str(err).replace("\n", " "))
        return None


def read_inputs(
    *,
    membership_source: str | os.PathLike,
    organisation_table: str | os.PathLike,
    organisation_mapping: str | os.PathLike,
    practice_groups: str | os.PathLike,
    practice_groups_mapping: str | os.PathLike,
    qof_source: str | os.PathLike,
    membership_year: int,
    trend_years: Sequence[int],
    tau2_method: str = "dl",
) -> RealInputs:
    """Read every input and check the parameters against them.

    Raises
    ------
    InputProblems
        Every problem found, one line each: a file that cannot be read or breaks its layout,
        a mapping file that breaks its schema, a parameter the files cannot satisfy.
    """
    problems: list[str] = []
    if tau2_method not in stats.TAU2_METHODS:
        problems.append(f"parameter 'tau2_method': {tau2_method!r}; expected {stats.TAU2_METHODS}")
    files = _attempt(
        problems,
        lambda: folder_files(in_project(membership_source), "*.parquet", "membership_source"),
    )
    structures = _attempt(problems, lambda: st.read_structure_years(files)) if files else None
    table_path, groups_path = in_project(organisation_table), in_project(practice_groups)
    table = _attempt(
        problems,
        lambda: ot.read_organisation_table(table_path, in_project(organisation_mapping)),
    )
    groups = _attempt(
        problems,
        lambda: pg.read_practice_groups(groups_path, in_project(practice_groups_mapping)),
    )
    qof_files = _attempt(problems, lambda: qof_year_files(in_project(qof_source))) or {}
    years = sorted(int(y) for y in structures.files["year"]) if structures else []
    if structures and membership_year not in years:
        problems.append(
            f"parameter 'membership_year': {membership_year} has no mapping file; files: {years}"
        )
    missing = [y for y in trend_years if y not in qof_files or (structures and y not in years)]
    if (qof_files and missing) or len(trend_years) < 2:
        problems.append(
            f"parameter 'trend_years': {list(trend_years)} needs two or more years with both a "
            f"QOF summary ({sorted(qof_files)}) and a mapping file ({years}); missing {missing}"
        )
    qof = None
    if qof_files and not missing and len(trend_years) >= 2:
        qof = _attempt(
            problems, lambda: read_qof_years([qof_files[y] for y in sorted(trend_years)])
        )
    if groups and structures and groups.mapping.year not in years:
        problems.append(
            f"{groups.mapping.path}: year {groups.mapping.year} has no mapping file in "
            f"parameter 'membership_source' ({years}); its practices cannot be placed in PCNs"
        )
    if problems:
        raise InputProblems(f"{len(problems)} input problem(s):\n  " + "\n  ".join(problems))
    return RealInputs(structures, table, groups, qof, table_path, groups_path)


def main(argv: list[str] | None = None) -> int:
    """Check a run's inputs: exit 0, or print every problem (one line each) and exit 2."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", default="networks_real", help="for messages")
    parser.add_argument("--parameters", default="{}", help="the run's parameters as JSON")
    args = parser.parse_args(argv)
    try:
        given: dict[str, Any] = json.loads(args.parameters)
    except json.JSONDecodeError as err:
        print(f"error: --parameters: not JSON ({err})", file=sys.stderr)
        return 2
    wanted = {k: given.get(k, v) for k, v in DEFAULTS.items()}
    try:
        read_inputs(**wanted)
    except InputProblems as err:
        print(str(err), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
