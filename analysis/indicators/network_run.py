"""The primary-care-network chapter's run: parameters checked, REAL QOF files read, tables made.

:func:`check_parameters` fails with one line naming the parameter before anything is
computed; :func:`run_networks` reads the QOF practice summaries of the selected years
(:mod:`analysis.indicators.qof`), groups practices (:mod:`analysis.indicators.membership`)
and runs the analyses of :mod:`analysis.indicators.networks`. Every table it returns is
labelled ``REAL`` with the publisher and the Open Government Licence attribution.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.core.datasets import DataError
from analysis.indicators import networks
from analysis.indicators.membership import derive
from analysis.indicators.qof import choose_mapping, file_year, read_qof_years

GROUPINGS = ("pcn", "ccg")
PUBLISHER = "NHS Digital, Quality and Outcomes Framework practice achievement summaries"
ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0"


@dataclass
class NetworkRun:
    """Tables of one run (every one labelled REAL) and the headline numbers."""

    tables: dict[str, pd.DataFrame]
    headline: dict[str, float | int | str]
    timings: dict[str, float] = field(default_factory=dict)


def label_real(frame: pd.DataFrame, source: str = PUBLISHER) -> pd.DataFrame:
    """``frame`` with first columns ``data_tier`` (``REAL``) and ``source`` (with attribution)."""
    out = frame.copy()
    out.insert(0, "source", f"{source}; {ATTRIBUTION}")
    out.insert(0, "data_tier", "REAL")
    return out


def qof_files(data_source: str | os.PathLike) -> dict[int, Path]:
    """The QOF files of a folder by financial year (each matched to a layout mapping)."""
    folder = Path(data_source)
    if not folder.is_dir():
        raise DataError(f"parameter 'data_source': {folder} is not a folder of QOF files")
    paths = sorted([*folder.glob("*.csv"), *folder.glob("*.csv.gz")])
    if not paths:
        raise DataError(f"parameter 'data_source': no .csv or .csv.gz files in {folder}")
    out: dict[int, Path] = {}
    for path in paths:
        year = file_year(path, choose_mapping(path))
        if year in out:
            raise DataError(f"{folder}: two files for {year}: {out[year].name}, {path.name}")
        out[year] = path
    return dict(sorted(out.items()))


def check_parameters(
    files: dict[int, Path],
    *,
    first_year: int,
    last_year: int,
    grouping: str,
    membership_year: int,
    comparator: str,
    sensitivity_years: Sequence[int],
) -> list[int]:
    """The years to read; a ValueError naming the parameter for anything the data lacks."""
    available = sorted(files)
    for name, year in (("first_year", first_year), ("last_year", last_year)):
        if year not in available:
            raise ValueError(f"parameter {name!r}: {year} has no file; the data has {available}")
    if first_year > last_year:
        raise ValueError(f"parameter 'first_year': {first_year} is after last_year {last_year}")
    if grouping not in GROUPINGS:
        raise ValueError(f"parameter 'grouping': {grouping!r}; expected one of {GROUPINGS}")
    if comparator not in networks.COMPARATORS:
        raise ValueError(
            f"parameter 'comparator': {comparator!r}; expected one of {networks.COMPARATORS}"
        )
    years = [y for y in available if first_year <= y <= last_year]
    for name, values in (
        ("membership_year", [membership_year]),
        ("sensitivity_years", sensitivity_years),
    ):
        bad = [y for y in values if y != 0 and y not in available]
        if bad:
            raise ValueError(f"parameter {name!r}: {bad} has no file; the data has {available}")
    return sorted({*years, *(y for y in [membership_year, *sensitivity_years] if y)})


def run_networks(
    data_source: str | os.PathLike,
    *,
    first_year: int = 2017,
    last_year: int = 2021,
    grouping: str = "pcn",
    membership_year: int = 2021,
    exclude: Sequence[str] = ("U",),
    comparator: str = "practice_mean",
    sensitivity_years: Sequence[int] = (2019, 2021, 0),
) -> NetworkRun:
    """Read the QOF files and run every analysis of the chapter.

    Parameters
    ----------
    data_source
        Folder of QOF practice summaries (one per year; layouts matched to mappings).
    first_year, last_year
        Financial years (2017 = 2017-18) analysed; change is measured between them.
    grouping
        Parent-code column grouping practices: ``pcn`` or ``ccg``.
    membership_year
        Year whose codes group practices in every year (fixed membership); 0: each year's own.
    exclude
        Codes that mean "in no organisation" (``U``: practice not allocated to a PCN).
    comparator
        England as the mean of practices' percentages or as pooled points.
    sensitivity_years
        Membership years compared in the sensitivity analysis (0: each year's own).

    Returns
    -------
    NetworkRun
    """
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    files = qof_files(data_source)
    needed = check_parameters(
        files,
        first_year=first_year,
        last_year=last_year,
        grouping=grouping,
        membership_year=membership_year,
        comparator=comparator,
        sensitivity_years=sensitivity_years,
    )
    qof = read_qof_years([files[y] for y in needed])
    timings["read QOF files"] = time.perf_counter() - mark
    mark = time.perf_counter()
    membership = derive(
        qof.practices, group=grouping, exclude=exclude, membership_year=membership_year or None
    )
    data = networks.practice_outcomes(qof.practices, membership)
    data = data[data["year"].between(first_year, last_year)].reset_index(drop=True)
    national = networks.national_comparator(data, comparator)
    partition = networks.variance_partition(data)
    funnel = networks.organisation_funnel(data, national, last_year)
    summary = networks.funnel_summary(funnel)
    sizes = networks.size_associations(data, first_year, last_year)
    timings["analysis"] = time.perf_counter() - mark
    mark = time.perf_counter()
    check = networks.mixedlm_check(data, last_year)
    timings["MixedLM cross-check"] = time.perf_counter() - mark
    mark = time.perf_counter()
    sensitivity = networks.membership_sensitivity(
        qof.practices[qof.practices["year"].between(first_year, last_year)],
        group=grouping,
        exclude=exclude,
        membership_years=[y or None for y in sensitivity_years],
        first_year=first_year,
        last_year=last_year,
    )
    timings["membership sensitivity"] = time.perf_counter() - mark
    anomalies = qof.practices.loc[
        qof.practices["points_achieved"] > qof.practices["points_available"],
        ["practice_code", "year", "points_achieved", "points_available", "layout", "line"],
    ].assign(note="points achieved above points available, as published; kept")
    counts = membership.counts[membership.counts["year"].between(first_year, last_year)]
    tables = {
        "files": qof.files,
        "membership": counts.assign(rule=membership.rule),
        "england": national,
        "variance_partition": partition,
        "mixedlm_check": check,
        "pcn_funnel": funnel,
        "funnel_summary": summary,
        "size_associations": sizes,
        "membership_sensitivity": sensitivity,
        "anomalies": anomalies,
    }
    last = partition.set_index("year").loc[last_year]
    change = sizes[sizes["outcome"].str.startswith("change")].set_index("size_measure")
    headline = {
        "organisations": int(funnel["organisation_id"].nunique()),
        "practices_last_year": int(last["n_practices"]),
        "practices_in_file_last_year": int(national.set_index("year").at[last_year, "n_practices"]),
        "icc_last_year": float(last["icc"]),
        "between_sd_last_year": float(last["between_sd"]),
        "within_sd_last_year": float(last["within_sd"]),
        "england_last_year": float(national.set_index("year").at[last_year, "value"]),
        "outside_998": int(funnel["position"].isin(["below 99.8%", "above 99.8%"]).sum()),
        "expected_outside_998": 0.002 * len(funnel),
        "change_per_doubling_practices": float(change.at["log2_practices", "coefficient"])
        if "log2_practices" in change.index
        else float("nan"),
    }
    return NetworkRun({k: label_real(v) for k, v in tables.items()}, headline, timings)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.indicators.network_run``: time loading the REAL files and the
    chapter's compute (the figures ``make bench`` would report; never asserted in tests)."""
    import argparse

    from analysis.indicators import fingertips
    from analysis.indicators.panel import indicators_dir
    from analysis.indicators.qof import stored_files

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    real = indicators_dir() / "real"
    mapping = fingertips.read_mapping(
        indicators_dir() / "mappings" / "fingertips_qof_prevalence.yml"
    )
    catalogue = fingertips.read_catalogue()
    for _ in range(args.repeats):
        mark = time.perf_counter()
        read_qof_years(stored_files())
        qof_seconds = time.perf_counter() - mark
        for export in sorted((real / "fingertips").glob("*.csv.gz")):
            fingertips.read_fingertips(export, mapping, catalogue)
        load_seconds = time.perf_counter() - mark
        mark = time.perf_counter()
        run = run_networks(real / "qof")
        compute = time.perf_counter() - mark
        print(
            f"load: 4 QOF years {qof_seconds:.2f} s, + 2 Fingertips exports {load_seconds:.2f} s; "
            f"chapter compute {compute:.2f} s ("
            + ", ".join(f"{k} {v:.2f}" for k, v in run.timings.items())
            + ")"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
