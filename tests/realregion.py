"""One region's share of the stored REAL files, written as a user would bring them: the same
layouts and formats, only the rows of the practices (and their PCNs) of that region.

The chapter on it runs in about 3 s against about 8 s on all of England, and it meets what a
region's data has and England's does not: an indicator every practice achieves in full, and
(made here) an indicator column with no value.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pandas as pd

from analysis.indicators.networks.real_inputs import DEFAULTS
from analysis.paths import repo_root


def _keep_rows(source: Path, target: Path, column: str, keep, blank: str | None = None) -> int:
    """Copy ``source`` (gzip CSV) to ``target`` with the lines whose ``column`` passes
    ``keep``, byte for byte, or with the column ``blank`` made ``NA`` (this table's blank);
    the number of data lines kept."""
    target.parent.mkdir(parents=True, exist_ok=True)
    kept = 0
    with gzip.open(source, "rt", newline="") as lines, gzip.open(target, "wt", newline="") as out:
        header = lines.readline()
        out.write(header)
        names = next(csv.reader([header]))
        at = names.index(column)
        for line in lines:
            fields = next(csv.reader([line]))
            if not keep(fields[at]):
                continue
            if blank is None:
                out.write(line)
            else:
                fields[names.index(blank)] = "NA"
                csv.writer(out, lineterminator="\n").writerow(fields)
            kept += 1
    return kept


BLANK_INDICATOR = "QOF_PREV_STIA"
"""The one column of the PCN table left blank in every row, as a user's extract may have one:
the chapter sets it aside."""


def write_region(folder: Path, prefix: str = "A8") -> tuple[dict[str, Path | str], dict]:
    """The practices whose code starts with ``prefix`` (``A8``: the North East's), and the
    PCNs they belong to in any year, in ``folder``: run_real_chapter's path arguments (the
    stored mapping files), and the rows kept of each file by name. The PCN table's column
    :data:`BLANK_INDICATOR` is blank throughout."""
    root = repo_root()
    rows: dict[str, int] = {}
    membership = folder / "membership"
    membership.mkdir(parents=True)
    pcns: set[str] = set()
    for path in sorted((root / DEFAULTS["membership_source"]).glob("*.parquet")):
        frame = pd.read_parquet(path)
        frame = frame[frame["PRACTICE_CODE"].str.startswith(prefix)]
        frame.to_parquet(membership / path.name, index=False)
        rows[path.name] = len(frame)
        pcns |= set(frame["PCN_ODS_CODE"])
    paths: dict[str, Path | str] = {
        "membership_source": membership,
        "organisation_mapping": DEFAULTS["organisation_mapping"],
        "practice_groups_mapping": DEFAULTS["practice_groups_mapping"],
        "qof_source": folder / "qof",
    }
    for key, column, keep, blank in (
        ("organisation_table", "PCN_CODE", pcns.__contains__, BLANK_INDICATOR),
        ("practice_groups", "Practice.Code", lambda code: code.startswith(prefix), None),
    ):
        source = root / DEFAULTS[key]
        paths[key] = folder / key / source.name
        rows[source.name] = _keep_rows(source, paths[key], column, keep, blank)
    for source in sorted((root / DEFAULTS["qof_source"]).glob("*.csv.gz")):
        target = folder / "qof" / source.name
        rows[source.name] = _keep_rows(
            source, target, "Practice code", lambda code: code.startswith(prefix)
        )
    return paths, rows
