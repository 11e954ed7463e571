"""Tables and figures laid out for the width they are shown at (pure functions, no browser)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.compendium.book import made as bookmade
from analysis.core import figures as fg
from analysis.core import tables as tb


@fg.responsive
def _panels(values: list[float], *, width: float = fg.WIDE):
    import matplotlib.pyplot as plt

    columns = 1 if fg.is_narrow(width) else 2
    fig, axes = plt.subplots(1, columns, figsize=(width, 3), layout="constrained", squeeze=False)
    for ax in axes.flat:
        ax.plot(values, label="a rather long legend label")
        ax.text(0, 0, "small", fontsize=6)  # raised to the minimum when saved
    labels = ["first series", "second series", "third series"]
    fig.legend(labels, loc="outside lower center", ncol=fg.legend_columns(labels, width))
    fig.suptitle(fg.wrap("A title long enough to need wrapping on a phone's column", width))
    return fig


def test_save_figure_draws_a_phone_version_and_records_its_smallest_text(tmp_path):
    written = fg.save_figure(_panels([1.0, 3.0, 2.0]), tmp_path / "panels", tier="synthetic")
    assert [p.name for p in written] == ["panels.png", "panels.svg", "panels.narrow.png"]
    wide, narrow = bookmade.png_info(written[0]), bookmade.png_info(written[2])
    for info, width in ((wide, fg.WIDE), (narrow, fg.NARROW)):
        assert info["width"] <= width * fg.DPI + 2  # saved no wider than drawn
        assert round(info["dpi"]) == fg.DPI
        # 12 pt at 200 px per inch; shown at 100 px per inch that is 16.7 px.
        assert float(info["text"][fg.MIN_TEXT_KEY]) == pytest.approx(
            fg.MIN_FONT * fg.DPI / 72, 0.01
        )
    assert narrow["width"] < wide["width"] / 1.8


def test_plain_figures_get_no_phone_version(tmp_path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    assert len(fg.save_figure(fig, tmp_path / "plain", tier="published")) == 2
    plt.close(fig)


def test_a_phone_chart_numbers_its_rows_from_the_top_with_a_key():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(fg.NARROW, 3))
    ax.barh([0, 1, 2], [1, 2, 3])
    fg.category_labels(ax, [0, 1, 2], ["bottom row", "middle row", "top row"], width=fg.NARROW)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3", "2", "1"]
    key = fig._supxlabel.get_text().split("\n")
    assert key == ["1  top row", "2  middle row", "3  bottom row"]
    plt.close(fig)


def test_legend_columns_fit_the_width():
    labels = ["ORG01", "ORG02", "ORG03", "ORG04", "ORG05", "ORG06", "ORG07", "ORG08", "other"]
    wide, narrow = fg.legend_columns(labels, fg.WIDE), fg.legend_columns(labels, fg.NARROW)
    assert 1 <= narrow < wide <= len(labels)
    assert narrow * (5 * fg.MIN_FONT * 0.55 / 72 + 0.55) <= fg.NARROW


def test_long_cells_collapse_and_long_tables_fold():
    text = "word " * 60
    cell = tb.cell_html(text)
    assert cell.startswith('<details class="pub-cell-more"><summary>word word')
    assert cell.count("word") == 60 and " …</summary>… " in cell  # every word once
    assert tb.cell_html("a/b.csv and x<y") == "a/b.csv and x&lt;y"  # short token: no breaks
    assert "<wbr>" in tb.cell_html("data/casestudy/published/table.csv")
    frame = pd.DataFrame(
        {"site": ["A", "B", "C"], "tier": ["real"] * 3, "note": ["n1", None, "n3"], "n": [1, 2, 3]}
    )
    html = tb.publication_table(frame, label="T1", caption="Real: x", details=["note"]).to_html()
    assert "In every row: Tier: real." in html and ">Tier<" not in html  # constant column folded
    assert "<b>Note:</b> n1" in html and ">Details<" in html
    short = pd.DataFrame({"a": range(10)})
    long = pd.DataFrame({"a": range(200), "b": ["some words of text"] * 200})
    assert "pub-table-details" not in tb.table_html(
        tb.publication_table(short, label="S", caption="c")
    )
    collapsed = tb.table_html(
        tb.publication_table(long, label="L", caption="c"), summary="200 rows"
    )
    assert '<details class="pub-table-details"><summary>200 rows: show the table' in collapsed


def test_tiny_numbers_keep_two_significant_figures():
    fmt = tb.number_format(pd.Series([-1.95e-7, 6.1e-5]))
    assert fmt(-1.95e-7) == "-2e-07" and fmt(6.1e-5) == "6.1e-05"
    assert tb.number_format(pd.Series([-0.0001, 0.2]))(-0.0001) == "0.000"  # no "-0.000"


def test_provenance_names_the_functions_behind_a_cell():
    sources = [
        "from analysis.indicators.methods.results import run_analysis\n"
        "from analysis.core.tables import Tables\n"
        "from analysis.indicators.report import figures as figs\n"
        "tables = Tables('Q')",
        "results = run_analysis(data)",
        "tables.show(results.level, caption='x')",
        "fig = figs.trend_figure(results.trend, tier)",
    ]
    cells = bookmade.read_cells(sources)
    assert bookmade.made_by(cells, 2) == ["analysis.indicators.methods.results.run_analysis"]
    assert bookmade.made_by(cells, 3) == [
        "analysis.indicators.report.figures.trend_figure",
        "analysis.indicators.methods.results.run_analysis",
    ]
    file, first, last, source = bookmade.function_source("analysis.core.tables.cell_html")
    assert file == "analysis/core/tables.py" and source.startswith("def cell_html") and first < last
    line = bookmade.provenance_markdown(
        ["analysis.core.tables.cell_html"], "surveys", 4, [("data/x.csv", "published", "ab" * 32)]
    )
    assert "{ref}`cell_html <code-analysis-core-tables-cell-html>`" in line
    assert "`notebooks/surveys.ipynb` cell 4" in line and "rerun `compendium run surveys`" in line
    assert "`data/x.csv`: published, sha256 `abababababababab`" in line


def test_every_chapter_numbers_its_tables_with_its_own_letter():
    # One book, one "Table R4": two chapters sharing a prefix would give two tables one label.
    import re

    from analysis.paths import repo_root

    prefixes: dict[str, list[str]] = {}
    for path in sorted((repo_root() / "notebooks").glob("*.ipynb")):
        for prefix in re.findall(r'Tables\(\\"([A-Z]+)\\"\)', path.read_text(encoding="utf-8")):
            prefixes.setdefault(prefix, []).append(path.stem)
    assert len(prefixes) >= 6, prefixes
    assert {p: names for p, names in prefixes.items() if len(names) > 1} == {}
