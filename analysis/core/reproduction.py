"""Published against reproduced: one row per checked figure.

Each strand's notebook writes ``tables/reproduction.csv`` with :func:`check` rows, each
saying what kind of evidence it is (:data:`KINDS`); the reproduction report gathers them
all (:func:`read_checks`, :func:`combine`), counts them per notebook and kind, never across
kinds (:func:`summary`; per kind and publication in :mod:`analysis.core.verdicts`), and
fails its run when a must-match row does not match (:func:`assert_reproduced`).

Must-match is reserved for checks of the compendium's own code (:data:`MUST_MATCH_KINDS`:
a round trip of a synthetic reconstruction can only fail through a bug in its generator). A
check of a source, however it comes out, never stops the build: a disagreement between
published figures is a finding about the source (:mod:`analysis.core.findings`). The book
reads the report's tables; it does not import this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.paths import manual_output_dir, run_dir

COLUMNS = [
    "check_id",
    "strand",
    "quantity",
    "source_file",
    "source_location",
    "source_lines",
    "published",
    "reproduced",
    "tolerance",
    "must_match",
    "status",
    "kind",
    "reason",
    "compared_with",
]
#: ``not checked``: a transcribed-only row, which nothing can be compared with.
STATUSES = ("match", "mismatch", "not checked")
#: What kind of evidence a check is (defined on the methods page). Never summed together.
KINDS = (
    "recomputed",  # a published figure computed from data independent of the figure
    "consistency",  # published figures checked against each other or a rule the source states
    "coded_rule",  # a check resting on a rule or a coding the compendium made, not the source
    "method_recovery",  # a published statement evaluated on synthetic data with planted truth
    "round_trip",  # a synthetic reconstruction matched to the totals it was built from
    "transcribed",  # recorded with provenance; no independent check possible
)
#: How each kind is named to a reader (the methods page defines them).
KIND_LABELS = {
    "recomputed": "recomputed",
    "consistency": "consistency",
    "coded_rule": "coded rule",
    "method_recovery": "method recovery",
    "round_trip": "round-trip",
    "transcribed": "transcribed only",
}

#: The kinds whose rows must match (and stop the run when they do not): checks of the
#: compendium's own code. Every other kind reports its outcome and never stops the build.
MUST_MATCH_KINDS = ("round_trip",)

#: The source documents (``../shared/sources``) by file name: short citation and BibTeX key.
SOURCE_DOCUMENTS = {
    "000_088f6aeed890f33a.txt": ("McDonald et al. (2020)", "mcdonald2020federations"),
    "001_3504c6f1a282cc28.txt": ("News report of a 2018 event (2018)", "pulse2018quest"),
    "002_d1de2aebef7660af.txt": ("Rosen et al. (2016)", "rosen2016bigger"),
    "003_c91f18b13c7b7ec0.txt": ("GP Federations in 2024 (2024)", "federations2024"),
    "004_3f9faef3e6505f2e.txt": ("Independent GP organisations (2024)", "collective2024"),
}

CHECKS_SCHEMA = pa.DataFrameSchema(
    {
        "check_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "strand": pa.Column(str, pa.Check.str_length(min_value=1)),
        "quantity": pa.Column(str, nullable=True),
        "source_file": pa.Column(str, nullable=True),
        "source_location": pa.Column(str, nullable=True),
        "source_lines": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
        "published": pa.Column(str, nullable=True),
        "reproduced": pa.Column(str, nullable=True),
        "tolerance": pa.Column(float, pa.Check.ge(0), coerce=True),
        "must_match": pa.Column(str, pa.Check.isin(["True", "False"])),
        "status": pa.Column(str, pa.Check.isin(STATUSES)),
        "kind": pa.Column(str, pa.Check.isin(KINDS)),
        "reason": pa.Column(str, nullable=True),
        "compared_with": pa.Column(str, nullable=True),
    },
    strict=True,
)


class ReproductionError(AssertionError):
    """A must-match check of the compendium's own code failed, or a check table is
    inconsistent."""


@dataclass(frozen=True)
class Check:
    """One published figure compared with its reproduction, and what kind of evidence that is.

    ``reason`` says why a row is informational, transcribed only or judged as it is;
    ``compared_with`` names the other passage (location and lines) a ``consistency``
    check sets the figure against, when that is not the figure's own table.
    """

    check_id: str
    strand: str
    quantity: str
    source_file: str
    source_location: str
    source_lines: str
    published: str
    reproduced: str
    tolerance: float
    must_match: bool
    status: str
    kind: str
    reason: str = ""
    compared_with: str = ""


def status_of(published: float | str, reproduced: float | str, tolerance: float = 0.0) -> str:
    """``match`` if values agree (numbers within ``tolerance``, text exactly), else ``mismatch``.

    A missing number (NaN) never matches: every comparison with NaN is false.
    """
    if isinstance(published, str) or isinstance(reproduced, str):
        return "match" if str(published).strip() == str(reproduced).strip() else "mismatch"
    return "match" if abs(float(published) - float(reproduced)) <= tolerance + 1e-12 else "mismatch"


def rounding_tolerance(published: str | float) -> float:
    """Half a unit in the last decimal place of a published number as printed.

    ``"85"`` gives 0.5, ``"12.3"`` gives 0.05, ``"0.125"`` gives 0.0005: any value
    that rounds to the published figure lies within this distance of it.

    Raises
    ------
    ValueError
        If ``published`` is not a finite number.
    """
    text = str(published).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"published value {published!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"published value {published!r} is not a finite number")
    return float(Decimal(5).scaleb(number.as_tuple().exponent - 1))


def check(
    check_id: str,
    *,
    strand: str,
    quantity: str,
    source_file: str,
    source_location: str,
    source_lines: str,
    published: float | str,
    reproduced: float | str,
    tolerance: float = 0.0,
    must_match: bool | None = None,
    kind: str,
    reason: str = "",
    compared_with: str = "",
) -> Check:
    """Compare one published figure with the reproduced one.

    Parameters
    ----------
    must_match
        Whether a disagreement stops the run: True exactly for the kinds of
        :data:`MUST_MATCH_KINDS` (checks of the compendium's own code), which is also the
        default; a check of a source is never must-match.
    kind
        What kind of evidence the row is, one of :data:`KINDS` (required). A
        ``transcribed`` row has nothing to compare with: its status is ``not checked``
        and ``reproduced`` is empty.
    reason
        Why the row is informational, transcribed only, or judged the way it is.
    compared_with
        For a ``consistency`` check between passages: the other passage's location.

    Raises
    ------
    ValueError
        Naming the check when ``kind`` is not one of :data:`KINDS`, ``must_match`` does
        not fit the kind, or a transcribed row gives no reason.
    """
    if kind not in KINDS:
        raise ValueError(f"check {check_id!r}: kind {kind!r} is not one of {KINDS}")
    own_code = kind in MUST_MATCH_KINDS
    if must_match is None:
        must_match = own_code
    if bool(must_match) != own_code:
        raise ValueError(
            f"check {check_id!r}: a {kind} row is "
            + ("always" if own_code else "never")
            + " must-match (must-match is reserved for checks of the compendium's own code: "
            + ", ".join(MUST_MATCH_KINDS)
            + ")"
        )
    if kind == "transcribed" and not reason:
        raise ValueError(f"check {check_id!r}: a transcribed row must give a reason")
    status = "not checked" if kind == "transcribed" else status_of(published, reproduced, tolerance)
    return Check(
        check_id=check_id,
        strand=strand,
        quantity=quantity,
        source_file=source_file,
        source_location=source_location,
        source_lines=source_lines,
        published=str(published),
        reproduced=str(reproduced),
        tolerance=float(tolerance),
        must_match=bool(must_match),
        status=status,
        kind=kind,
        reason=reason,
        compared_with=compared_with,
    )


PROVENANCE = ("source_file", "source_location", "source_lines")


def check_from(check_id: str, row: Any, **kwargs: Any) -> Check:
    """:func:`check` with the provenance columns taken from a transcribed row.

    ``row`` is a pandas Series, a mapping or a namedtuple (``itertuples``) with
    ``source_file``, ``source_location`` and ``source_lines``.
    """
    get = row._asdict().get if hasattr(row, "_asdict") else row.get
    return check(check_id, **{name: get(name) for name in PROVENANCE}, **kwargs)


def to_frame(checks: list[Check]) -> pd.DataFrame:
    """Checks as a table with the standard columns, in the order given."""
    return pd.DataFrame([asdict(c) for c in checks], columns=COLUMNS)


# --------------------------------------------------------------------------- the report


def read_checks(path: str | os.PathLike) -> pd.DataFrame:
    """Read one strand's ``tables/reproduction.csv``; bad rows name file, line and column.

    Returns the table with ``must_match`` as booleans and text cells as strings
    (an empty published or reproduced cell becomes ``""``).
    """
    from analysis.core.datasets import DataError, file_line, read_table

    frame = read_table(path, CHECKS_SCHEMA, unique=["check_id"])
    text = ("quantity", "source_file", "source_location", "published", "reproduced")
    for column in (*text, "reason", "compared_with"):
        frame[column] = frame[column].fillna("").astype(str)
    frame["must_match"] = frame["must_match"] == "True"
    wrong = frame["must_match"] != frame["kind"].isin(MUST_MATCH_KINDS)
    if wrong.any():
        index = frame.index[wrong][0]
        raise DataError(
            f"{path}, line {file_line(index)}, column 'must_match': a "
            f"{frame.loc[index, 'kind']} row must be {not frame.loc[index, 'must_match']} "
            f"(must-match is reserved for {', '.join(MUST_MATCH_KINDS)} rows, checks of the "
            "compendium's own code)"
        )
    return frame


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def agrees(published: str, reproduced: str, tolerance: float) -> bool:
    """True when two recorded values agree: equal text, or numbers within ``tolerance``."""
    if str(published).strip() == str(reproduced).strip():
        return True
    a, b = _number(published), _number(reproduced)
    return a is not None and b is not None and abs(a - b) <= tolerance + 1e-12


def inconsistent(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows recorded as ``match`` whose values do not agree (see :func:`agrees`).

    The report recomputes every claimed match from the recorded values, so a
    strand cannot report a match that its own published and reproduced cells
    contradict.
    """
    claimed = (frame["status"] == "match").to_numpy()
    values = frame[["published", "reproduced", "tolerance"]].to_numpy().tolist()
    ok = np.array([agrees(p, r, t) for p, r, t in values], dtype=bool)
    return frame[claimed & ~ok]


def source_document(source_file: str) -> str:
    """Short citation of a source document, or the file name when it is not known."""
    return SOURCE_DOCUMENTS[source_file][0] if source_file in SOURCE_DOCUMENTS else source_file


def combine(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One table of every check, from each notebook's checks keyed by notebook name.

    Adds ``notebook`` and ``source_document`` columns and sorts by notebook (in the
    order given, normally the pipeline's) and then by check id, so the rows do not
    depend on the order each notebook wrote them.

    Raises
    ------
    ReproductionError
        When a check id repeats within a notebook.
    """
    frames = []
    for notebook, table in tables.items():
        dupes = sorted(table.loc[table["check_id"].duplicated(), "check_id"].unique())
        if dupes:
            raise ReproductionError(f"notebook {notebook!r}: check_id repeated: {dupes}")
        frames.append(table[COLUMNS].assign(notebook=notebook))
    columns = ["notebook", "source_document", *COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    # The index is dropped at the end, and the sort keys are unique (ids are, per notebook).
    combined = pd.concat(frames)
    combined["source_document"] = combined["source_file"].map(source_document)
    order = combined["notebook"].map({name: i for i, name in enumerate(tables)})
    combined = combined.assign(_order=order).sort_values(["_order", "check_id"])
    return combined[columns].reset_index(drop=True)


SUMMARY_COLUMNS = [
    "notebook",
    "kind",
    "checks",
    "agree",
    "disagree",
    "not_checked",
    "must_match",
    "must_match_failed",
]


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows per notebook and kind of evidence, then per kind over every notebook.

    Columns (:data:`SUMMARY_COLUMNS`): ``checks`` and how many ``agree``, ``disagree`` or
    are ``not_checked`` (transcribed only), ``must_match`` and ``must_match_failed``. The
    last rows (``notebook`` = ``all notebooks``) count every kind over every notebook
    (zero when a kind has no rows, so a sentence can cite it). No
    row adds different kinds together: a round trip that agrees is a working generator,
    not a reproduced figure.
    """
    if frame.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    must = frame["must_match"].astype(bool)
    flags = pd.DataFrame(
        {
            "notebook": frame["notebook"],
            "kind": frame["kind"],
            "checks": 1,
            "agree": (frame["status"] == "match").astype(int),
            "disagree": (frame["status"] == "mismatch").astype(int),
            "not_checked": (frame["status"] == "not checked").astype(int),
            "must_match": must.astype(int),
            "must_match_failed": (must & (frame["status"] == "mismatch")).astype(int),
        }
    )
    order = {k: i for i, k in enumerate(KINDS)}
    # Notebooks in the order they come, kinds in KINDS order: (_n, _k) is unique per row.
    per = flags.groupby(["notebook", "kind"]).sum().reset_index()
    per = per.assign(
        _n=per["notebook"].map({n: i for i, n in enumerate(dict.fromkeys(frame["notebook"]))}),
        _k=per["kind"].map(order),
    ).sort_values(["_n", "_k"])
    overall = flags.drop(columns="notebook").groupby("kind").sum()
    overall = overall.reindex(list(KINDS), fill_value=0).rename_axis("kind").reset_index()
    overall = overall.assign(notebook="all notebooks")
    return pd.concat([per, overall], ignore_index=True)[SUMMARY_COLUMNS]


def must_match_failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows that must match and do not."""
    return frame[frame["must_match"].astype(bool) & (frame["status"] == "mismatch")]


def assert_reproduced(frame: pd.DataFrame) -> None:
    """Raise :class:`ReproductionError` naming every failed must-match row.

    Must-match rows check the compendium's own code (:data:`MUST_MATCH_KINDS`), so a failure
    is a bug to fix, never a finding about a source. Also raises when a row claims a match
    its values contradict (:func:`inconsistent`).
    """
    problems = []
    for _, row in must_match_failures(frame).iterrows():
        problems.append(
            f"  {row.get('notebook', row['strand'])}/{row['check_id']}: {row['quantity']}: "
            f"published {row['published']}, reproduced {row['reproduced']} "
            f"(tolerance {row['tolerance']:g}; {row['source_file']} lines {row['source_lines']})"
        )
    for _, row in inconsistent(frame).iterrows():
        problems.append(
            f"  {row.get('notebook', row['strand'])}/{row['check_id']}: recorded as a match but "
            f"published {row['published']!r} and reproduced {row['reproduced']!r} differ "
            f"by more than the tolerance {row['tolerance']:g}"
        )
    if problems:
        raise ReproductionError(
            f"{len(problems)} check(s) of the compendium's own code failed:\n" + "\n".join(problems)
        )


# --------------------------------------------------------------------------- notebook edges

REPORT_INPUT = "tables/reproduction.csv"


def report_inputs(
    strands: list[str], declared: list[str] | tuple[str, ...] | None = None
) -> dict[str, str]:
    """Map each strand to its pipeline input ``<strand>:tables/reproduction.csv``.

    ``declared`` is the report's declared inputs; when it is None (the notebook, which does
    not import the engine) the engine has already checked ``strands`` against the choices
    that ``pipeline.yml`` declares, which a test keeps equal to the declared inputs.

    Raises
    ------
    ValueError
        Naming the ``strands`` parameter when it is empty, repeats a strand, or names a
        strand whose reproduction table is not a declared input of the report.
    """
    if not strands:
        raise ValueError("parameter 'strands': give at least one notebook")
    repeated = sorted({s for s in strands if strands.count(s) > 1})
    if repeated:
        raise ValueError(f"parameter 'strands': {repeated} given more than once")
    if declared is None:
        return {s: f"{s}:{REPORT_INPUT}" for s in strands}
    available = [ref.partition(":")[0] for ref in declared if ref.endswith(":" + REPORT_INPUT)]
    unknown = [s for s in strands if s not in available]
    if unknown:
        raise ValueError(
            f"parameter 'strands': {unknown} not declared as inputs "
            f"'<notebook>:{REPORT_INPUT}' of the report in pipeline.yml; declared: {available}"
        )
    return {s: f"{s}:{REPORT_INPUT}" for s in strands}


def load_checks(refs: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """Read each strand's reproduction table from its default run folder."""
    tables = {}
    for strand, ref in refs.items():
        upstream, output = ref.split(":", 1)
        path = run_dir(upstream) / output
        if not path.is_file():
            # Hand runs (build/manual/...) are not read: they are not checked against run.json.
            hand = sorted(manual_output_dir(upstream).glob(f"*/{output}"))
            seen = f" (hand runs in {hand[0].parent.parent.parent} are not used)" if hand else ""
            raise FileNotFoundError(
                f"{path}: {strand!r} has no reproduction table; run `compendium run {strand}` "
                f"first{seen}"
            )
        tables[strand] = read_checks(path)
    return tables
