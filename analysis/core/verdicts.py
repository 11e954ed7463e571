"""What the reproduction checks are evidence of: counts per kind, and a verdict per publication.

The rows gathered by :func:`analysis.core.reproduction.combine` are never added up across
kinds (:data:`~analysis.core.reproduction.KINDS`): a round-trip of a synthetic
reconstruction or a method recovered on synthetic data is not a reproduced figure. The
verdicts are the classification of the AEA Data Editor's replication reports, in its words
(``REPLICATION.md`` of AEADataEditor/replication-template): *full reproduction*, *full
reproduction with minor issues*, *partial reproduction* (more than a quarter of the numbers
differ) and *not able to reproduce* (fewer than a quarter reproduced, or nothing could be
run), each with the template's reason (``data not available``: the data need access steps
the replicator cannot take; ``discrepancy in output``). They are judged on the
``recomputed`` rows only; the other kinds give reasons, never a reproduction. An item
with nothing computed from data (a table of words, or of facts the organisations reported,
listed in ``data/sources/published/items.csv`` with the reason) *contains no data*.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.core.layout import WIDE, key_height, responsive, wrap
from analysis.core.reproduction import KIND_LABELS, KINDS
from analysis.paths import data_dir

FULL = "full reproduction"
MINOR = "full reproduction with minor issues"
PARTIAL = "partial reproduction"
NOT_ABLE = "not able to reproduce"
NO_DATA = "contains no data"
VERDICTS = (FULL, MINOR, PARTIAL, NOT_ABLE, NO_DATA)
#: The AEA template's reasons used here.
DATA_NOT_AVAILABLE = "data not available"
DISCREPANCY = "discrepancy in output"
#: Share of recomputed figures that must differ for a partial reproduction (the template:
#: "a significant number (>25%)"), and below which too few agree to call it reproduced.
PARTIAL_SHARE = 0.25
OUTCOMES = ("agree", "disagree", "not checked")
_ITEMS = [
    re.compile(rf"\b({word}\s+\w+)") for word in ("Table", "Figure", "Box", "Appendix", "Chapter")
]
ITEMS_SCHEMA = pa.DataFrameSchema(
    {
        "source_file": pa.Column(str, pa.Check.str_matches(r"^\d{3}_[0-9a-f]{16}\.txt$")),
        "item": pa.Column(str, pa.Check.str_length(min_value=3)),
        "lines": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
        "excerpt": pa.Column(str, pa.Check.str_length(min_value=3, max_value=300)),
        "reason": pa.Column(str, pa.Check.str_length(min_value=10)),
    },
    strict=True,
)


def items_path() -> Path:
    return data_dir() / "sources" / "published" / "items.csv"


def read_no_data_items(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The items (tables, boxes) of the sources that contain no data, with the reason."""
    from analysis.core.datasets import read_table

    return read_table(Path(path or items_path()), ITEMS_SCHEMA, unique=["source_file", "item"])


def item_of(location: str) -> str:
    """The table or section a source location belongs to.

    The first table, figure, appendix or chapter named (``"Chapter 2, Table 1"`` and
    ``"Table 1, note"`` give ``Table 1``); other locations give their first segment
    (``"Key points > Rate of formation"`` gives ``Key points``).
    """
    for pattern in _ITEMS:
        match = pattern.search(str(location))
        if match:
            return match.group(1)
    first = re.split(r"[:,>(]", str(location))[0].strip()
    return first or "(no location)"


def _outcome(status: pd.Series) -> pd.Series:
    return status.map({"match": "agree", "mismatch": "disagree", "not checked": "not checked"})


def kind_counts(frame: pd.DataFrame, by: str = "source_document") -> pd.DataFrame:
    """Rows per ``by`` (publication by default) and kind, split by outcome.

    One row per publication and kind that has checks, with ``checks`` and the number that
    ``agree``, ``disagree`` or are ``not checked`` (transcribed only), then a row for every
    kind over all publications (``by`` = ``all publications``; zero when a kind has no rows,
    so a sentence can cite it). No row sums different kinds.
    """
    columns = [by, "kind", "kind_label", "checks", *OUTCOMES]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    flags = pd.crosstab([frame[by], frame["kind"]], _outcome(frame["status"]))
    flags = flags.reindex(columns=list(OUTCOMES), fill_value=0)
    per = flags.reset_index()
    overall = flags.groupby(level="kind").sum().reindex(list(KINDS), fill_value=0)
    overall = overall.rename_axis("kind").reset_index().assign(**{by: "all publications"})
    table = pd.concat([per, overall[per.columns]], ignore_index=True)
    table["checks"] = table[list(OUTCOMES)].sum(axis=1)
    table["kind_label"] = table["kind"].map(KIND_LABELS)
    order = {k: i for i, k in enumerate(KINDS)}
    table = table.assign(_last=table[by].eq("all publications"), _k=table["kind"].map(order))
    table = table.sort_values(["_last", by, "_k"])  # unique: one row per (by, kind)
    return table[columns].reset_index(drop=True).astype({c: int for c in ("checks", *OUTCOMES)})


def _reasons(rows: pd.DataFrame) -> list[str]:
    kinds = rows["kind"]
    reasons = []
    recomputed = rows[kinds == "recomputed"]
    if recomputed.empty:
        reasons.append("no figure recomputed from independent data")
    else:
        agree = int((recomputed["status"] == "match").sum())
        reasons.append(
            f"{agree} of {len(recomputed)} figures recomputed from independent data agree"
        )
    consistency = rows[kinds == "consistency"]
    bad = int((consistency["status"] == "mismatch").sum())
    if bad:
        reasons.append(
            f"the source is inconsistent: {bad} of {len(consistency)} consistency checks "
            "disagree (findings)"
        )
    elif len(consistency):
        reasons.append(f"internally consistent: all {len(consistency)} consistency checks agree")
    coded = rows[kinds == "coded_rule"]
    if len(coded):
        held = int((coded["status"] == "match").sum())
        reasons.append(
            f"{held} of {len(coded)} checks of the compendium's own rules or coding agree "
            "(not evidence about the source)"
        )
    recovery = rows[kinds == "method_recovery"]
    if len(recovery):
        held = int((recovery["status"] == "match").sum())
        reasons.append(
            f"method recovery on synthetic data only: {held} of {len(recovery)} statements "
            "recovered (says whether the method sees such an effect, not whether the study "
            "was right)"
        )
    round_trip = rows[kinds == "round_trip"]
    if len(round_trip):
        reasons.append(
            f"{len(round_trip)} round-trip rows of a synthetic reconstruction "
            "(a regression test of the generator, not evidence)"
        )
    transcribed = rows[kinds == "transcribed"]
    for reason, n in transcribed["reason"].value_counts(sort=False).items():
        reasons.append(f"transcribed only ({n}): {reason}")
    return reasons


def verdict_of(rows: pd.DataFrame, *, contains_data: bool = True) -> tuple[str, str]:
    """The verdict and the AEA template's reason for a set of rows, from their ``recomputed``
    checks only.

    *full reproduction*: every recomputed figure agrees; *full reproduction with minor
    issues*: some differ, at most a quarter; *partial reproduction*: more than a quarter
    differ but at least a quarter agree; *not able to reproduce*: fewer than a quarter
    agree (``discrepancy in output``) or nothing was recomputed (``data not available``).
    An item that ``contains_data`` False *contains no data*, whatever its rows.
    """
    if not contains_data:
        return NO_DATA, ""
    recomputed = rows[rows["kind"] == "recomputed"]
    if recomputed.empty:
        return NOT_ABLE, DATA_NOT_AVAILABLE
    share = float((recomputed["status"] == "match").mean())
    if share == 1:
        return FULL, ""
    if share >= 1 - PARTIAL_SHARE:
        return MINOR, DISCREPANCY
    if share >= PARTIAL_SHARE:
        return PARTIAL, DISCREPANCY
    return NOT_ABLE, DISCREPANCY


def verdict_label(verdict: str, reason: str) -> str:
    """``not able to reproduce: data not available``; the verdict alone when no reason."""
    return f"{verdict}: {reason}" if reason else verdict


def verdicts(frame: pd.DataFrame, no_data: pd.DataFrame | None = None) -> pd.DataFrame:
    """A verdict with its reasons per publication (``item`` = ``whole publication``) and per
    table or section of it (``item`` from :func:`item_of`).

    ``no_data`` lists the items that contain no data (:func:`read_no_data_items`; read from
    ``data/`` when None): their verdict is *contains no data*, with the reason given there.

    Columns: ``publication``, ``item``, ``checks``, one count column per kind, ``verdict``,
    ``aea_reason`` (the template's reason, or empty), ``label`` (both together) and
    ``reasons`` (``; ``-separated details).
    """
    columns = ["publication", "item", "checks", *KINDS, "verdict", "aea_reason", "label", "reasons"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    no_data = read_no_data_items() if no_data is None else no_data
    empty = {
        (f, i): r for f, i, r in no_data[["source_file", "item", "reason"]].itertuples(index=False)
    }
    frame = frame.assign(item=frame["source_location"].map(item_of))
    rows = []
    for publication, pub_rows in frame.groupby("source_document", sort=True):
        groups = [("whole publication", pub_rows), *pub_rows.groupby("item", sort=True)]
        source_file = pub_rows["source_file"].iloc[0]
        for item, part in groups:
            counts = part["kind"].value_counts()
            why = empty.get((source_file, item))
            verdict, reason = verdict_of(part, contains_data=why is None)
            details = _reasons(part)
            if why:
                details.insert(0, f"contains no data: {why}")
            elif reason == DATA_NOT_AVAILABLE:
                details.insert(0, "data not available: the data behind the figures are not public")
            rows.append(
                {
                    "publication": publication,
                    "item": item,
                    "checks": len(part),
                    **{k: int(counts.get(k, 0)) for k in KINDS},
                    "verdict": verdict,
                    "aea_reason": reason,
                    "label": verdict_label(verdict, reason),
                    "reasons": "; ".join(details),
                }
            )
    return pd.DataFrame(rows, columns=columns)


KIND_COLOURS = {
    "recomputed": "#1b5e20",
    "consistency": "#1565c0",
    "coded_rule": "#00838f",
    "method_recovery": "#6a1b9a",
    "round_trip": "#9e9e9e",
    "transcribed": "#6d4c41",
}


@responsive
def kind_figure(counts: pd.DataFrame, *, width: float = WIDE):
    """One panel per kind: rows per publication that agree, disagree or are not checked.

    ``counts`` is :func:`kind_counts` output; the ``all publications`` rows are left out.
    Every kind has its panel, an empty one saying *none*; kinds share no axis, so the
    figure cannot be read as one total.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from analysis.core.figures import category_labels, place_legend

    per = counts[counts["source_document"] != "all publications"]
    kinds = list(KINDS)
    publications = sorted(set(per["source_document"]))
    row = 0.42
    fig, axes = plt.subplots(
        len(kinds),
        1,
        figsize=(
            width,
            1.6 + (row * len(publications) + 0.7) * len(kinds) + key_height(publications, width),
        ),
        squeeze=False,
        layout="constrained",
    )
    colours = {"agree": "#2e7d32", "disagree": "#b00020", "not checked": "#bdbdbd"}
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        part = per[per["kind"] == kind].set_index("source_document").reindex(publications)
        part = part[["checks", *OUTCOMES]].fillna(0)  # a publication without this kind: 0
        left = pd.Series(0.0, index=part.index)
        y = list(range(len(part)))
        for outcome in OUTCOMES:
            ax.barh(y, part[outcome], left=left, color=colours[outcome], label=outcome)
            left = left + part[outcome]
        total = int(part["checks"].sum())
        title = f"{KIND_LABELS[kind]}: {total} rows" if total else f"{KIND_LABELS[kind]}: none"
        ax.set_title(wrap(title, width), loc="left", color=KIND_COLOURS[kind])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if not total:
            ax.set_xlim(0, 1)
            ax.set_xticks([])
        ax.spines[["top", "right"]].set_visible(False)
        ax.invert_yaxis()
        category_labels(ax, y, list(part.index), width=width)
    axes[-1, 0].set_xlabel("rows of the reproduction table")
    place_legend(fig, axes[0, 0], *axes[0, 0].get_legend_handles_labels(), width=width)
    return fig


def report_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The combined checks as shown to a reader, outcome columns first.

    ``source`` joins the document's short citation, the location and the lines of the
    plain-text copy (``McDonald et al. (2020), Table 1, lines 139-164``) and the other
    passage a consistency check compares with; ``tolerance`` is blank when exact.
    """
    source = [
        ", ".join(part for part in (doc, loc, f"lines {lines}" if lines else "") if part)
        + (f"; against {other}" if other else "")
        for doc, loc, lines, other in zip(
            frame["source_document"],
            frame["source_location"],
            frame["source_lines"],
            frame["compared_with"],
            strict=True,
        )
    ]
    status = frame["status"].replace({"mismatch": "DISAGREE", "match": "agree"})
    return pd.DataFrame(
        {
            "Check": frame["check_id"],
            "Kind": frame["kind"].map(KIND_LABELS),
            "Published": frame["published"],
            "Reproduced or compared": frame["reproduced"].replace("", "–"),
            "Tolerance": frame["tolerance"].map(lambda t: f"± {t:g}" if t else "exact"),
            "Outcome": status,
            "Must match": frame["must_match"].map({True: "yes", False: "no"}),
            "What is compared": frame["quantity"],
            "Source": source,
            "Reason or note": frame["reason"].replace("", "–"),
        }
    )
