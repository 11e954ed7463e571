"""A membership file from the parent codes of QOF practice summaries (a PCN, a CCG...).

The QOF practice achievement summaries name each practice's primary care network from 2019-20
(:mod:`analysis.indicators.sources.qof` reads every published layout). :func:`membership_spells`
turns one or more of them into the spells of the indicator contract
(:data:`~analysis.indicators.sources.contract.MEMBERSHIP_SCHEMA`, with the practice's list size):
each year's organisation from that year's file; the last file's organisation is held for the years
after it (``left`` blank), so a later indicator file (a Fingertips export of 2022-23, say) is
grouped by the most recent published membership.

:func:`qof_panel` makes the whole panel folder of the quality-indicator chapter from the same
files: each practice's share of its available points (``QOF_TOTAL``, a continuous value: QOF
points are not counts of independent events) with each year's membership.

``python -m analysis.indicators.sources.qofmembership QOF.csv.gz [...] --group pcn --out
membership.csv`` writes the membership file; with ``--panel`` ``--out`` is the panel folder.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.commandline import CommandParser
from analysis.core.datasets import DataError, write_csv
from analysis.indicators.sources.qof import read_qof_years
from analysis.paths import path_argument


def membership_spells(
    practices: pd.DataFrame, *, group: str = "pcn", exclude: Sequence[str] = ("U",)
) -> pd.DataFrame:
    """Spells ``practice_code, organisation_id, joined, left, list_size`` from the ``group``
    column of :func:`~analysis.indicators.sources.qof.read_qof_years` practices.

    A practice's spell in a year runs to the next year (``left = year + 1``) except in the last
    year, whose spells stay open. Practices with a blank code or one in ``exclude`` are in no
    organisation.

    Raises
    ------
    DataError
        No file has the ``group`` column.
    """
    if group not in practices.columns or practices[group].isna().all():
        raise DataError(f"parameter 'group': no file has a {group!r} column of parent codes")
    codes = practices[group].fillna("").str.strip()
    rows = practices[codes.ne("") & ~codes.isin(list(exclude))]
    last = int(practices["year"].max())
    out = pd.DataFrame(
        {
            "practice_code": rows["practice_code"],
            "organisation_id": codes[rows.index],
            "joined": rows["year"].astype("Int64"),
            "left": pd.array(
                [pd.NA if y == last else int(y) + 1 for y in rows["year"]], dtype="Int64"
            ),
            "list_size": pd.array(rows["list_size"].round(), dtype="Int64"),
        }
    )
    return out.sort_values(["practice_code", "joined"], ignore_index=True)


QOF_TOTAL = {
    "indicator_id": "QOF_TOTAL",
    "name": "QOF points achieved as a share of the points available",
    "domain": "qof",
    "distribution": "continuous",
    "higher_is_better": "true",
}


def qof_panel(practices: pd.DataFrame, spells: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The panel tables of QOF practice summaries: ``observations`` (``QOF_TOTAL`` as a value;
    practices without points available left out), ``membership`` and
    ``indicator_catalogue``."""
    usable = practices[practices["points_available"].gt(0)]
    observations = pd.DataFrame(
        {
            "practice_code": usable["practice_code"],
            "year": usable["year"],
            "indicator_id": QOF_TOTAL["indicator_id"],
            "value": usable["points_achieved"] / usable["points_available"],
        }
    ).sort_values(["practice_code", "year"], ignore_index=True)
    return {
        "observations": observations,
        "membership": spells,
        "indicator_catalogue": pd.DataFrame([QOF_TOTAL]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        "analysis.indicators.sources.qofmembership", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "files", nargs="+", type=path_argument, help="QOF practice summaries, one a year"
    )
    parser.add_argument("--group", default="pcn", help="parent-code column (pcn, ccg...)")
    parser.add_argument("--exclude", default="U", help="comma-separated codes meaning none")
    parser.add_argument("--out", type=path_argument, required=True)
    parser.add_argument("--panel", action="store_true", help="--out is a panel folder")
    args = parser.parse_args(argv)
    practices = read_qof_years(args.files).practices
    spells = membership_spells(practices, group=args.group, exclude=args.exclude.split(","))
    if args.panel:
        for name, frame in qof_panel(practices, spells).items():
            print(f"wrote {write_csv(frame, args.out / f'{name}.csv')}")
        return 0
    print(
        f"wrote {write_csv(spells, args.out)}: {spells['practice_code'].nunique():,} practices "
        f"in {spells['organisation_id'].nunique():,} organisations ({args.group})"
    )
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
