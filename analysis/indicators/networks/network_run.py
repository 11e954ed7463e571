"""The primary-care-network chapter's run: parameters checked, REAL QOF files read, tables made.

:func:`check_parameters` fails listing every parameter the data cannot satisfy (one line each)
before anything is computed, and :func:`check` is the same check with the files read, run by
:mod:`analysis.indicators.validation` before the notebook's kernel starts;
:func:`run_networks` reads the QOF practice summaries of the selected years
(:mod:`analysis.indicators.sources.qof`), groups practices
(:mod:`analysis.indicators.sources.membership`) and runs the analyses of
:mod:`analysis.indicators.networks.achievement`. Every table it returns is labelled ``REAL`` with
the publisher and the Open Government Licence attribution.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.commandline import CommandParser
from analysis.core.datasets import DataError
from analysis.core.sentences import Sentences
from analysis.core.stats import TAU2_METHODS
from analysis.indicators.networks import achievement as networks
from analysis.indicators.networks import network_funnel
from analysis.indicators.networks.network_findings import network_findings
from analysis.indicators.sources.contract import Findings
from analysis.indicators.sources.membership import derive
from analysis.indicators.sources.panel import indicators_dir
from analysis.indicators.sources.qof import choose_mapping, file_year, read_qof_years
from analysis.parameters import resolve_path

GROUPINGS = ("pcn", "ccg")
PUBLISHER = "NHS Digital, Quality and Outcomes Framework practice achievement summaries"
ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0"


@dataclass
class NetworkRun:
    """Tables of one run (every one labelled REAL), the headline numbers and the findings
    in words (built from the tables; written as ``tables/sentences.csv``)."""

    tables: dict[str, pd.DataFrame]
    headline: dict[str, float | int | str]
    findings: Sentences
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


def parameter_problems(
    files: dict[int, Path],
    *,
    first_year: int,
    last_year: int,
    grouping: str,
    membership_year: int,
    comparator: str,
    sensitivity_years: Sequence[int],
    tau2_method: str = "dl",
    permutations: int = 500,
    fdr: float = 0.05,
) -> tuple[list[int], list[str]]:
    """The years to read, and every problem of the parameters against the data (one line
    each, naming the parameter)."""
    available = sorted(files)
    problems = []
    for name, year in (("first_year", first_year), ("last_year", last_year)):
        if year not in available:
            problems.append(f"parameter {name!r}: {year} has no file; the data has {available}")
    if first_year > last_year:
        problems.append(f"parameter 'first_year': {first_year} is after last_year {last_year}")
    if grouping not in GROUPINGS:
        problems.append(f"parameter 'grouping': {grouping!r}; expected one of {GROUPINGS}")
    if comparator not in networks.COMPARATORS:
        problems.append(
            f"parameter 'comparator': {comparator!r}; expected one of {networks.COMPARATORS}"
        )
    if tau2_method not in TAU2_METHODS:
        problems.append(f"parameter 'tau2_method': {tau2_method!r}; expected one of {TAU2_METHODS}")
    if int(permutations) != permutations or permutations < 1:
        problems.append(f"parameter 'permutations': {permutations}; expected a whole number >= 1")
    if not 0 < fdr < 1:
        problems.append(f"parameter 'fdr': {fdr}; expected a number between 0 and 1")
    years = [y for y in available if first_year <= y <= last_year]
    for name, values in (
        ("membership_year", [membership_year]),
        ("sensitivity_years", sensitivity_years),
    ):
        bad = [y for y in values if y != 0 and y not in available]
        if bad:
            problems.append(f"parameter {name!r}: {bad} has no file; the data has {available}")
    wanted = {*years, *(y for y in [membership_year, *sensitivity_years] if y)}
    return sorted(y for y in wanted if y in files), problems


def check_parameters(files: dict[int, Path], **parameters: Any) -> list[int]:
    """The years to read (:func:`parameter_problems`); a ValueError listing every problem."""
    years, problems = parameter_problems(files, **parameters)
    if problems:
        raise ValueError("\n".join(problems))
    return years


def check(parameters: Mapping[str, Any]) -> tuple[Findings, str]:
    """The chapter's input check for :mod:`analysis.indicators.validation` (run before the
    kernel starts): the QOF files of ``data_source`` read by their layout mappings and the
    parameters checked against them, every problem collected; and what the inputs are."""
    given = {**RUN_DEFAULTS, **parameters}
    source = resolve_path(str(given.get("data_source", indicators_dir() / "real" / "qof")))
    findings = Findings()
    files = findings.attempt(qof_files, source)
    if files is not None:
        chosen = {k: given[k] for k in CHECKED}
        years, problems = parameter_problems(files, **chosen)
        findings.errors.extend(problems)
        if years:
            findings.attempt(read_qof_years, [files[y] for y in years])
    return findings, f"data source {source}"


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
    tau2_method: str = "dl",
    permutations: int = 500,
    seed: int = 2019,
    fdr: float = 0.05,
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
    tau2_method
        Estimator of the between-network variance added to the funnel's limits
        (:data:`analysis.core.stats.TAU2_METHODS`; ``dl``: DerSimonian-Laird).
    permutations, seed
        Shuffles of practices across networks that give the expected counts of the funnel,
        and their seed.
    fdr
        False discovery rate at which the size tests' Benjamini-Hochberg q-values are counted.

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
        tau2_method=tau2_method,
        permutations=permutations,
        fdr=fdr,
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
    funnel = network_funnel.organisation_funnel(
        networks.organisation_table(data), national, last_year, tau2_method=tau2_method
    )
    sizes = networks.size_associations(data, first_year, last_year)
    timings["analysis"] = time.perf_counter() - mark
    mark = time.perf_counter()
    members = data[(data["year"] == last_year) & data["organisation_id"].notna()]
    shuffles = network_funnel.permutation_reference(
        members["pct"].to_numpy(),
        members["organisation_id"].to_numpy(),
        funnel,
        permutations=permutations,
        seed=seed,
    )
    summary = network_funnel.funnel_summary(funnel, shuffles)
    reference = network_funnel.funnel_reference(data, national, funnel, shuffles, last_year)
    timings["permutation reference"] = time.perf_counter() - mark
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
    codes = qof.practices[grouping].fillna("").astype(str).str.strip().ne("")
    in_file = codes.groupby(qof.practices["year"]).any().rename("codes_in_file")
    counts = counts.merge(in_file, left_on="year", right_index=True, how="left")
    tables = {
        "files": qof.files,
        "membership": counts.assign(rule=membership.rule),
        "england": national,
        "variance_partition": partition,
        "mixedlm_check": check,
        "pcn_funnel": funnel,
        "funnel_summary": summary,
        "funnel_reference": reference,
        "size_associations": sizes,
        "size_family": networks.size_family(sizes, fdr),
        "membership_sensitivity": sensitivity,
        "anomalies": anomalies,
    }
    last = partition.set_index("year").loc[last_year]
    outside = summary.set_index(["limits", "confidence", "side"])["organisations"]
    headline = {
        "organisations": int(funnel["organisation_id"].nunique()),
        "practices_last_year": int(last["n_practices"]),
        "practices_in_file_last_year": int(national.set_index("year").at[last_year, "n_practices"]),
        "icc_last_year": float(last["icc"]),
        "outside_998": int(outside[("sampling only", "99.8%", "outside")]),
        "outside_998_tau2": int(outside[("with between-network variance", "99.8%", "outside")]),
    }
    mark = time.perf_counter()
    labelled = {k: label_real(v) for k, v in tables.items()}
    findings = network_findings(labelled, grouping=grouping)
    timings["findings"] = time.perf_counter() - mark
    return NetworkRun(labelled, headline, findings, timings)


RUN_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(run_networks).parameters.items()
    if p.default is not inspect.Parameter.empty
}
"""The run's defaults (``pipeline.yml`` passes every parameter; a hand call may not)."""
CHECKED = tuple(inspect.signature(parameter_problems).parameters)[1:]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m analysis.indicators.networks.network_run``: time loading the REAL files and the
    chapter's compute (the figures ``make bench`` would report; never asserted in tests)."""

    from analysis.indicators.sources import fingertips
    from analysis.indicators.sources.panel import indicators_dir
    from analysis.indicators.sources.qof import stored_files

    parser = CommandParser("analysis.indicators.networks.network_run", description=main.__doc__)
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
