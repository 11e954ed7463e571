"""The REAL networks chapter's inputs: every file read by its layout, every problem at once.

:func:`check_inputs` reads the yearly geography mappings
(:mod:`~analysis.indicators.sources.structures`), the organisation-level and practice-level wide
tables (:mod:`~analysis.indicators.sources.widetable`) and the QOF practice summaries of the trend
years (:mod:`~analysis.indicators.sources.qof`), and checks the parameters against what the files
hold. It does not stop at the first bad file: every reader's problems (each naming the file,
the line or row and the column) and every parameter problem go to one
:class:`~analysis.indicators.sources.contract.Findings`. It is the chapter's input check in
``pipeline.yml`` (``validate:``, through :mod:`analysis.indicators.validation`, which runs it
before the kernel starts); :func:`read_inputs` is the same check in the notebook.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.core.datasets import DataError
from analysis.indicators.sources import structures as st
from analysis.indicators.sources import widetable as wt
from analysis.indicators.sources.contract import Findings
from analysis.indicators.sources.qof import QofYears, choose_mapping, file_year, read_qof_years
from analysis.parameters import resolve_path

TAU2_METHODS = ("winsorised", "winsorised_rescaled", "dl", "reml")
"""Estimators of the between-PCN variance the chapter offers (``tau2_method``)."""
DEFAULTS = {
    "membership_source": "data/indicators/real/membership",
    "organisation_table": "data/indicators/real/qof_indicators/pcn_data_matrix.csv.gz",
    "organisation_mapping": "data/indicators/mappings/wide_pcn_data_matrix.yml",
    "practice_groups": "data/indicators/real/qof_indicators/qof_cvd_groups.csv.gz",
    "practice_groups_mapping": "data/indicators/mappings/wide_qof_cvd_groups.yml",
    "qof_source": "data/indicators/real/qof",
    "membership_year": 2023,
    "trend_years": [2019, 2021],
    "tau2_method": "dl",
}
"""The chapter's default inputs and the parameters the check needs (as in ``pipeline.yml``)."""
PATHS = tuple(k for k in DEFAULTS if k.endswith(("source", "table", "groups", "mapping")))


@dataclass(frozen=True)
class RealInputs:
    """Every file of the chapter, read."""

    structures: st.StructureYears
    table: wt.WideTable
    groups: wt.WideTable
    qof: QofYears
    table_path: Path
    groups_path: Path


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


def _table(path: Path, mapping: Path, level: str, findings: Findings) -> wt.WideTable | None:
    table = findings.attempt(wt.read_wide_table, path, mapping)
    if table is not None and table.level != level:
        findings.errors.append(f"{mapping}: level {table.level!r}; the chapter needs {level!r}")
        return None
    return table


def check_inputs(parameters: Mapping[str, Any]) -> tuple[RealInputs | None, Findings]:
    """Read every input and check the parameters against them (missing ones take
    :data:`DEFAULTS`): the inputs (``None`` when a problem prevents reading them all) and
    every problem found, one line each: a file that cannot be read or breaks its layout, a
    mapping file that breaks its schema, a parameter the files cannot satisfy."""
    given = {k: parameters.get(k, v) for k, v in DEFAULTS.items()}
    findings = Findings()
    if given["tau2_method"] not in TAU2_METHODS:
        findings.errors.append(
            f"parameter 'tau2_method': {given['tau2_method']!r}; expected one of {TAU2_METHODS}"
        )
    path = {k: resolve_path(str(given[k])) for k in PATHS}
    files = findings.attempt(
        folder_files, path["membership_source"], "*.parquet", "membership_source"
    )
    structures = findings.attempt(st.read_structure_years, files) if files else None
    table = _table(path["organisation_table"], path["organisation_mapping"], "organisation",
                   findings)  # fmt: skip
    groups = _table(path["practice_groups"], path["practice_groups_mapping"], "practice", findings)
    qof_files = findings.attempt(qof_year_files, path["qof_source"]) or {}
    years = sorted(int(y) for y in structures.files["year"]) if structures else []
    membership_year, trend_years = int(given["membership_year"]), list(given["trend_years"])
    if structures and membership_year not in years:
        findings.errors.append(
            f"parameter 'membership_year': {membership_year} has no mapping file; files: {years}"
        )
    missing = [y for y in trend_years if y not in qof_files or (structures and y not in years)]
    if (qof_files and missing) or len(trend_years) < 2:
        findings.errors.append(
            f"parameter 'trend_years': {trend_years} needs two or more years with both a "
            f"QOF summary ({sorted(qof_files)}) and a mapping file ({years}); missing {missing}"
        )
    qof = None
    if qof_files and not missing and len(trend_years) >= 2:
        qof = findings.attempt(read_qof_years, [qof_files[y] for y in sorted(trend_years)])
    if groups and structures and groups.year not in years:
        findings.errors.append(
            f"{groups.mapping['path']}: year {groups.year} has no mapping file in parameter "
            f"'membership_source' ({years}); its practices cannot be placed in PCNs"
        )
    for wide in (table, groups):
        for row in wide.set_aside.itertuples() if wide is not None else ():
            findings.notices.append(f"{wide.source}: {row.what}: set aside, {row.reason}")
    if findings.errors or None in (structures, table, groups, qof):
        return None, findings
    chosen = (structures, table, groups, qof)
    return RealInputs(*chosen, path["organisation_table"], path["practice_groups"]), findings


def read_inputs(**parameters: Any) -> RealInputs:
    """:func:`check_inputs`, raising one :class:`~analysis.core.datasets.DataError` that
    lists every problem (one line each)."""
    inputs, findings = check_inputs(parameters)
    findings.raise_errors("notebook 'networks_real', its REAL files")
    assert inputs is not None  # no problem was found, so every input was read
    return inputs


def check(parameters: Mapping[str, Any]) -> tuple[Findings, str]:
    """The chapter's input check for :mod:`analysis.indicators.validation`: findings, and
    what the inputs are."""
    return check_inputs(parameters)[1], "its REAL files"
