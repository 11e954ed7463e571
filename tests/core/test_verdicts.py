"""Verdicts and counts per kind of evidence, worked out by hand: the reasons each verdict
gives, the order of the tables, the reader's table of checks and the figure of the kinds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from analysis.core import reproduction as rp  # noqa: E402
from analysis.core import verdicts as vd  # noqa: E402
from analysis.core.datasets import DataError, write_csv  # noqa: E402
from analysis.core.layout import MIN_FONT, WIDE  # noqa: E402

ROSEN = "002_d1de2aebef7660af.txt"
MCDONALD = "000_088f6aeed890f33a.txt"
NO_ITEMS = pd.DataFrame(columns=["source_file", "item", "lines", "excerpt", "reason"])
COLUMNS = ["publication", "item", "checks", *rp.KINDS, "verdict", "aea_reason", "label", "reasons"]


def _row(cid, published, reproduced, kind, *, location="Table 1", source_file=ROSEN, **kw):
    return rp.check(
        cid,
        strand="s",
        quantity=f"q {cid}",
        source_file=source_file,
        source_location=location,
        source_lines="10",
        published=published,
        reproduced=reproduced,
        kind=kind,
        **kw,
    )


def _report(*rows, notebook="s") -> pd.DataFrame:
    return rp.combine({notebook: rp.to_frame(list(rows))})


EVERY_KIND = [
    _row("a", 1, 1, "recomputed"),
    _row("b", 1, 2, "recomputed"),
    _row("c", 1, 2, "consistency"),
    _row("d", 1, 1, "consistency"),
    _row("e", "x", "x", "coded_rule"),
    _row("f", "x", "y", "coded_rule"),
    _row("g", "x", "x", "coded_rule"),
    _row("h", "holds", "holds", "method_recovery"),
    _row("i", "holds", "fails", "method_recovery"),
    _row("i2", "holds", "holds", "method_recovery"),
    _row("j", 5, 5, "round_trip"),
    _row("k", "85", "", "transcribed", reason="alpha reason"),
    _row("l", "86", "", "transcribed", reason="zeta reason"),
    _row("m", "87", "", "transcribed", reason="zeta reason"),
]


def test_the_reasons_count_each_kind_apart_in_a_fixed_order():
    table = vd.verdicts(_report(*EVERY_KIND), NO_ITEMS)
    whole = table.set_index("item").loc["whole publication"]
    assert (whole["verdict"], whole["aea_reason"]) == (vd.PARTIAL, vd.DISCREPANCY)
    assert whole["reasons"] == "; ".join(
        [
            "1 of 2 figures recomputed from independent data agree",
            "the source is inconsistent: 1 of 2 consistency checks disagree (findings)",
            "2 of 3 checks of the compendium's own rules or coding agree "
            "(not evidence about the source)",
            "method recovery on synthetic data only: 2 of 3 statements recovered (says "
            "whether the method sees such an effect, not whether the study was right)",
            "1 round-trip rows of a synthetic reconstruction (a regression test of the "
            "generator, not evidence)",
            # transcribed reasons in the order they first come, not by how many share one
            "transcribed only (1): alpha reason",
            "transcribed only (2): zeta reason",
        ]
    )
    assert whole[list(rp.KINDS)].tolist() == [2, 2, 3, 3, 1, 3]
    assert whole["checks"] == 14


def test_without_recomputed_figures_the_data_are_not_available_first():
    rows = [_row("c", 1, 1, "consistency"), _row("d", 2, 2, "consistency")]
    whole = vd.verdicts(_report(*rows), NO_ITEMS).iloc[0]
    assert whole["label"] == "not able to reproduce: data not available"
    assert whole["reasons"] == (
        "data not available: the data behind the figures are not public; "
        "no figure recomputed from independent data; "
        "internally consistent: all 2 consistency checks agree"
    )


def test_a_reproduced_item_gives_no_data_reason_and_no_data_items_say_why_first():
    no_data = pd.DataFrame(
        {
            "source_file": [ROSEN],
            "item": ["Table 2"],
            "lines": ["1"],
            "excerpt": ["Table 2"],
            "reason": ["words only"],
        }
    )
    rows = [_row("a", 1, 1, "recomputed"), _row("b", 1, 1, "consistency", location="Table 2")]
    table = vd.verdicts(_report(*rows), no_data).set_index("item")
    assert table.loc["Table 1", "reasons"] == (
        "1 of 1 figures recomputed from independent data agree"
    )
    assert table.loc["Table 1", "label"] == vd.FULL and table.loc["Table 1", "aea_reason"] == ""
    assert table.loc["Table 2", "reasons"] == (
        "contains no data: words only; no figure recomputed from independent data; "
        "internally consistent: all 1 consistency checks agree"
    )
    assert table.loc["Table 2", "verdict"] == vd.NO_DATA


def test_verdicts_are_sorted_by_publication_then_item_with_their_columns():
    rows = [
        _row("a", 1, 1, "recomputed", location="Table 2"),
        _row("b", 1, 2, "recomputed", location="Table 1"),
        _row("c", 1, 1, "recomputed", location="Box 1", source_file=MCDONALD),
    ]
    table = vd.verdicts(_report(*rows), NO_ITEMS)
    assert list(table.columns) == COLUMNS
    assert list(zip(table["publication"], table["item"], table["checks"], strict=True)) == [
        ("McDonald et al. (2020)", "whole publication", 1),
        ("McDonald et al. (2020)", "Box 1", 1),
        ("Rosen et al. (2016)", "whole publication", 2),
        ("Rosen et al. (2016)", "Table 1", 1),
        ("Rosen et al. (2016)", "Table 2", 1),
    ]
    assert list(vd.verdicts(_report(), NO_ITEMS).columns) == COLUMNS


def test_verdicts_read_the_stored_no_data_items_by_default():
    rows = [_row("a", 1, 1, "recomputed", location="Table 5", source_file=MCDONALD)]
    table = vd.verdicts(_report(*rows)).set_index("item")
    assert table.loc["Table 5", "verdict"] == vd.NO_DATA
    assert table.loc["whole publication", "verdict"] == vd.FULL


def test_a_no_data_item_listed_twice_is_refused(tmp_path):
    items = vd.read_no_data_items()
    path = write_csv(pd.concat([items, items.iloc[:1]]), tmp_path / "items.csv")
    with pytest.raises(DataError, match="duplicated key"):
        vd.read_no_data_items(path)


def test_an_empty_location_is_named():
    assert vd.item_of("") == "(no location)"
    assert vd.item_of(": after a colon") == "(no location)"


def test_kind_counts_fill_absent_outcomes_with_zero_and_keep_their_order():
    # Only agreeing rows: "disagree" and "not checked" have no column in the crosstab.
    rows = [
        _row("a", 1, 1, "coded_rule"),
        _row("b", 1, 1, "consistency"),
    ]
    counts = vd.kind_counts(_report(*rows), by="notebook")
    assert list(counts.columns) == ["notebook", "kind", "kind_label", "checks", *vd.OUTCOMES]
    assert counts.index.tolist() == list(range(len(counts)))
    per = counts[counts["notebook"] == "s"]
    # kinds in KINDS order (consistency before coded_rule), not alphabetical
    assert per[["kind", "checks", "agree", "disagree", "not checked"]].values.tolist() == [
        ["consistency", 1, 1, 0, 0],
        ["coded_rule", 1, 1, 0, 0],
    ]
    assert all(str(counts[c].dtype) == "int64" for c in ("checks", *vd.OUTCOMES))
    # "all publications" rows come last even where the name sorts before the notebook's.
    assert counts["notebook"].tolist()[-len(rp.KINDS) :] == ["all publications"] * len(rp.KINDS)
    assert list(vd.kind_counts(_report()).columns) == [
        "source_document",
        "kind",
        "kind_label",
        "checks",
        *vd.OUTCOMES,
    ]


def test_the_readers_table_of_checks():
    rows = [
        _row("a", 1, 1.2, "consistency", tolerance=0.5, compared_with="Table 2, line 3"),
        _row("b", 1, 2, "round_trip"),
        _row("c", "85", "", "transcribed", reason="no source", location=""),
    ]
    report = _report(*rows)
    report.loc[2, "source_lines"] = ""
    table = vd.report_table(report)
    assert list(table.columns) == [
        "Check",
        "Kind",
        "Published",
        "Reproduced or compared",
        "Tolerance",
        "Outcome",
        "Must match",
        "What is compared",
        "Source",
        "Reason or note",
    ]
    assert table.values.tolist() == [
        [
            "a",
            "consistency",
            "1",
            "1.2",
            "± 0.5",
            "agree",
            "no",
            "q a",
            "Rosen et al. (2016), Table 1, lines 10; against Table 2, line 3",
            "–",
        ],
        [
            "b",
            "round-trip",
            "1",
            "2",
            "exact",
            "DISAGREE",
            "yes",
            "q b",
            "Rosen et al. (2016), Table 1, lines 10",
            "–",
        ],
        [
            "c",
            "transcribed only",
            "85",
            "–",
            "exact",
            "not checked",
            "no",
            "q c",
            "Rosen et al. (2016)",
            "no source",
        ],
    ]


def test_the_kinds_figure_has_one_panel_per_kind_with_its_own_counts():
    rows = [
        _row("a", 1, 1, "consistency"),
        _row("b", 1, 2, "consistency"),
        _row("c", 1, 1, "consistency", source_file=MCDONALD),
        _row("d", 1, 1, "consistency", source_file=MCDONALD, location="Table 2"),
        _row("e", 1, 1, "consistency", source_file=MCDONALD, location="Table 3"),
        _row("f", "85", "", "transcribed", reason="r"),
    ]
    fig = vd.kind_figure(vd.kind_counts(_report(*rows)))
    try:
        axes = fig.axes
        assert len(axes) == len(rp.KINDS)
        titles = [ax.get_title(loc="left") for ax in axes]
        assert titles == [
            "recomputed: none",
            "consistency: 5 rows",
            "coded rule: none",
            "method recovery: none",
            "round-trip: none",
            "transcribed only: 1 rows",
        ]
        for ax, kind in zip(axes, rp.KINDS, strict=True):
            title = ax._left_title  # matplotlib keeps each title position's Text apart
            assert title.get_color() == vd.KIND_COLOURS[kind]
            assert title.get_fontsize() >= MIN_FONT  # no text in the book under 12 pt
            assert not ax.spines["top"].get_visible() and not ax.spines["right"].get_visible()
            assert ax.yaxis_inverted()
            assert all(t.get_fontsize() >= MIN_FONT for t in ax.get_yticklabels())
        # Consistency: publications sorted (McDonald, Rosen); bars stacked agree, disagree,
        # not checked.
        bars = [(p.get_x(), p.get_width(), p.get_facecolor()) for p in axes[1].patches]
        green, red, grey = (to_rgba(c) for c in ("#2e7d32", "#b00020", "#bdbdbd"))
        assert bars == [
            (0, 3, green),
            (0, 1, green),
            (3, 0, red),
            (1, 1, red),
            (3, 0, grey),
            (2, 0, grey),
        ]
        assert [t.get_text() for t in axes[1].get_yticklabels()] == [
            "McDonald et al. (2020)",
            "Rosen et al. (2016)",
        ]
        ticks = axes[1].get_xticks()
        assert all(float(t).is_integer() for t in ticks)  # counts are whole
        empty = axes[0]
        assert empty.get_xlim() == (0, 1) and list(empty.get_xticks()) == []
        assert axes[-1].get_xlabel() == "rows of the reproduction table"
        assert axes[0].get_xlabel() == ""
        (legend,) = fig.legends
        assert [t.get_text() for t in legend.get_texts()] == list(vd.OUTCOMES)
        assert not legend.get_frame_on()
        assert all(t.get_fontsize() >= MIN_FONT for t in legend.get_texts())
        width, height = fig.get_size_inches()
        assert width == WIDE
        # One publication fewer makes every panel one row shorter.
        fewer = vd.kind_figure(vd.kind_counts(_report(*rows[:2], rows[-1])))
        assert fewer.get_size_inches()[0] == WIDE and fewer.get_size_inches()[1] < height
        plt.close(fewer)
    finally:
        plt.close(fig)
