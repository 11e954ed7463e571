"""The reproduction report's logic, the book's generated pages and its hand-written pages (fast).

The book build itself (jupyter-book) is tested in ``test_book_build.py``; the built HTML
in a real browser in ``test_browser.py``.
"""

from __future__ import annotations

import base64
import json
import re

import nbformat
import pytest

from analysis.compendium import book, bookpages
from analysis.compendium import pipeline as pl
from analysis.core import catalogue
from analysis.core import reproduction as rp
from analysis.core.datasets import DataError, write_csv
from analysis.paths import repo_root

BOOK = repo_root() / "book"


def _check(check_id: str, published, reproduced, tolerance=0.0, must_match=True, **kw):
    fields = dict(
        strand="s",
        quantity=f"quantity {check_id}",
        source_file="000_088f6aeed890f33a.txt",
        source_location="Table 1",
        source_lines="139-164",
    )
    fields.update(kw)
    return rp.check(
        check_id,
        published=published,
        reproduced=reproduced,
        tolerance=tolerance,
        must_match=must_match,
        **fields,
    )


# --------------------------------------------------------------------------- reproduction


@pytest.mark.parametrize(
    ("published", "expected"),
    [("85", 0.5), ("12.3", 0.05), ("0.125", 0.0005), ("139", 0.5), ("-4.20", 0.005), (7, 0.5)],
)
def test_rounding_tolerance_is_half_the_last_printed_digit(published, expected):
    assert rp.rounding_tolerance(published) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("bad", ["almost half", "", "nan", "inf"])
def test_rounding_tolerance_rejects_non_numbers(bad):
    with pytest.raises(ValueError, match="not a"):
        rp.rounding_tolerance(bad)


def test_status_respects_tolerance_both_ways():
    # 84.5 and 85.5 both round (half up / half even aside) to a printed 85: inside tolerance.
    assert _check("a", 85, 84.5, rp.rounding_tolerance("85")).status == "match"
    assert _check("b", 85, 85.5, rp.rounding_tolerance("85")).status == "match"
    assert _check("c", 85, 85.51, rp.rounding_tolerance("85")).status == "mismatch"
    assert _check("d", "Embedded", "Embedded ").status == "match"
    assert _check("e", 139, float("nan")).status == "mismatch"


def test_agrees_and_inconsistent_catch_a_false_match():
    frame = rp.to_frame([_check("ok", 139, 139.0), _check("text", "x", "x")])
    assert rp.inconsistent(frame).empty
    forged = frame.copy()
    forged.loc[0, "reproduced"] = "141"
    assert list(rp.inconsistent(forged)["check_id"]) == ["ok"]
    assert rp.agrees("0.50", "0.5", 0.0)  # numbers compare as numbers
    assert not rp.agrees("almost", "0.5", 1.0)


def test_read_checks_round_trip(tmp_path):
    frame = rp.to_frame([_check("b", 43, 43.0), _check("a", "x", "y", must_match=False)])
    path = write_csv(frame, tmp_path / "reproduction.csv")
    back = rp.read_checks(path)
    assert list(back.columns) == rp.COLUMNS
    assert back["must_match"].tolist() == [True, False]
    assert back["tolerance"].dtype == float
    assert back.loc[0, "published"] == "43" and back.loc[0, "reproduced"] == "43.0"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace(",match,", ",matched,", 1), "line 2, column 'status'"),
        (lambda t: t.replace(",139-164,", ",lines 139,", 1), "line 2, column 'source_lines'"),
        (lambda t: t.replace(",True,", ",yes,", 1), "line 2, column 'must_match'"),
        (lambda t: t.replace("check_id,", "id,", 1), "line 1: missing column(s) ['check_id']"),
    ],
)
def test_read_checks_names_line_and_column(tmp_path, edit, message):
    path = write_csv(rp.to_frame([_check("a", 1, 1)]), tmp_path / "reproduction.csv")
    path.write_text(edit(path.read_text()))
    with pytest.raises(DataError) as err:
        rp.read_checks(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_combine_orders_by_notebook_then_id_and_summary_counts():
    first = rp.to_frame([_check("z", 1, 1), _check("a", 1, 2, must_match=False)])
    second = rp.to_frame([_check("m", 5, 9), _check("b", "t", "t")])
    combined = rp.combine({"surveys": first, "case_studies": second})
    assert list(zip(combined["notebook"], combined["check_id"], strict=True)) == [
        ("surveys", "a"),
        ("surveys", "z"),
        ("case_studies", "b"),
        ("case_studies", "m"),
    ]
    assert combined["source_document"].unique().tolist() == ["McDonald et al. (2020)"]
    counts = rp.summary(combined).set_index("notebook")
    # Hand count: surveys 2 checks, 1 match, 1 informational mismatch; case_studies 2 checks,
    # 1 match, 1 must-match failure.
    assert counts.loc["surveys"].tolist() == [2, 1, 1, 1, 0]
    assert counts.loc["case_studies"].tolist() == [2, 1, 1, 2, 1]
    assert counts.loc["total"].tolist() == [4, 2, 2, 3, 1]
    assert list(counts.index) == ["surveys", "case_studies", "total"]


def test_combine_rejects_repeated_ids():
    frame = rp.to_frame([_check("a", 1, 1), _check("a", 2, 2)])
    with pytest.raises(rp.ReproductionError, match=r"'surveys': check_id repeated: \['a'\]"):
        rp.combine({"surveys": frame})


def test_assert_reproduced_names_each_failure():
    ok = rp.combine({"s": rp.to_frame([_check("a", 1, 1), _check("b", 1, 3, must_match=False)])})
    rp.assert_reproduced(ok)  # an informational mismatch does not fail
    bad = rp.combine({"s": rp.to_frame([_check("a", 139, 140, tolerance=0.5)])})
    with pytest.raises(rp.ReproductionError) as err:
        rp.assert_reproduced(bad)
    text = str(err.value)
    assert "1 published figure(s) not reproduced" in text
    assert "s/a: quantity a: published 139, reproduced 140 (tolerance 0.5" in text
    assert "000_088f6aeed890f33a.txt lines 139-164" in text


def test_display_table_joins_the_source():
    combined = rp.combine({"s": rp.to_frame([_check("a", 1, 1)])})
    shown = rp.display_table(combined)
    assert shown.loc[0, "source"] == "McDonald et al. (2020), Table 1, lines 139-164"
    assert shown.loc[0, "must match"] == "yes"


def test_report_html_escapes_and_marks_mismatches():
    rows = [_check("a<b", 1, 2, quantity="q & r"), _check("c", 1, 1)]
    html = rp.report_html(rp.display_table(rp.combine({"s": rp.to_frame(rows)})))
    assert '<table class="dataframe reproduction-table">' in html
    assert "<td>a&lt;b</td>" in html and "<td>q &amp; r</td>" in html
    assert html.count("<td>MISMATCH</td>") == 1 and html.count("<td>match</td>") == 1
    assert "<th>check</th>" in html and "<th></th>" not in html  # no index column


def test_report_inputs_name_the_parameter():
    declared = ["surveys:tables/reproduction.csv", "data/x.csv", "case_studies:tables/other.csv"]
    assert rp.report_inputs(["surveys"], declared) == {"surveys": "surveys:tables/reproduction.csv"}
    with pytest.raises(ValueError, match=r"parameter 'strands': \['case_studies'\] not declared"):
        rp.report_inputs(["case_studies"], declared)
    with pytest.raises(ValueError, match="parameter 'strands': give at least one"):
        rp.report_inputs([], declared)
    with pytest.raises(ValueError, match=r"\['surveys'\] given more than once"):
        rp.report_inputs(["surveys", "surveys"], declared)


def test_pipeline_report_reads_every_strand_reproduction_table():
    """The report (last in pipeline.yml) lists every notebook that writes reproduction.csv."""
    pipeline = pl.load()
    report = pipeline.notebook("reproduction")
    strands = [n for n in pipeline.order() if rp.REPORT_INPUT in pipeline.notebook(n).outputs]
    assert sorted(report.parameters["strands"].default) == sorted(strands)
    assert sorted(rp.report_inputs(strands, report.inputs).values()) == sorted(
        ref for ref in report.inputs if ref.endswith(rp.REPORT_INPUT)
    )
    # the notebook relies on the engine's choices check instead of reading pipeline.yml
    assert sorted(report.parameters["strands"].choices) == sorted(strands)
    assert list(pipeline.notebooks)[-1] == "reproduction"
    assert pipeline.order()[-1] == "reproduction"


# --------------------------------------------------------------------------- book assembly


def _png(colour: int) -> bytes:
    import io

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.axhline(colour)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _figure_cell(png: bytes, caption: str | None = "synthetic: a line", name="fig-a"):
    cell = nbformat.v4.new_code_cell('show(fig, "line")')
    data = {"image/png": base64.b64encode(png).decode(), "text/plain": "<Image>"}
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    if caption is not None:
        cell.metadata["mystnb"] = {"figure": {"caption": caption, "name": name}}
    return cell


def test_figure_problems():
    png = _png(1)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# t"),
        _figure_cell(png),
        _figure_cell(png, caption="A line, no tier"),
        _figure_cell(png, caption=None),
        _figure_cell(png, caption="published: two", name=""),
    ]
    nb.cells[-1].outputs *= 2
    problems = book.figure_problems(nb, "x")
    assert problems == [
        "notebook 'x', cell 3: figure caption 'A line, no tier' does not start with a data tier "
        "['published', 'synthetic', 'user', 'real'] (metadata mystnb.figure.caption)",
        "notebook 'x', cell 4: figure caption '' does not start with a data tier "
        "['published', 'synthetic', 'user', 'real'] (metadata mystnb.figure.caption)",
        "notebook 'x', cell 4: figure has no name (metadata mystnb.figure.name)",
        "notebook 'x', cell 5: figure has no name (metadata mystnb.figure.name)",
        "notebook 'x', cell 5: displays 2 images; a figure cell shows one",
    ]


def test_add_downloads_links_each_file_where_it_appears(tmp_path):
    png = _png(1)
    (tmp_path / "tables").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "tables" / "counts.csv").write_text("a\n1\n")
    (tmp_path / "tables" / "reproduction.csv").write_text("a\n1\n")
    (tmp_path / "figures" / "line.png").write_bytes(png)
    (tmp_path / "figures" / "line.svg").write_text("<svg/>")
    (tmp_path / "figures" / "other.png").write_bytes(_png(2))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell('write_csv(frame, out / "tables" / "counts.csv")\nframe'),
        _figure_cell(png),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    cells = book.add_downloads(nb, "ch", tmp_path).cells
    assert [c.cell_type for c in cells] == [
        "code",
        "markdown",
        "code",
        "markdown",
        "code",
        "markdown",
    ]
    assert cells[1].source == "Download: {download}`counts.csv <ch/tables/counts.csv>`"
    assert cells[3].source == (
        "Download this figure: {download}`PNG <ch/figures/line.png>` · "
        "{download}`SVG <ch/figures/line.svg>`"
    )
    closing = cells[5].source
    assert closing.startswith("## Downloads")
    for file in ("tables/counts.csv", "tables/reproduction.csv", "figures/other.png"):
        assert f"<ch/{file}>`" in closing


def test_annotate_parameters_marks_the_injected_cell():
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell("n = 2")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [params, injected]
    cells = book.annotate_parameters(nb).cells
    assert [c.cell_type for c in cells] == ["code", "markdown", "code"]
    assert "injected-parameters" in cells[1].source


def test_toc_and_config_follow_the_pipeline():
    pipeline = pl.load()
    toc = book.toc(pipeline)
    analyses, reference = toc["parts"]
    assert toc["root"] == pipeline.book["front"][0]
    assert analyses["caption"] == "Analyses" and reference["caption"] == "Reference"
    files = [c["file"] for c in analyses["chapters"]]
    assert files == [f"chapters/{n}" for n in pipeline.order()]
    assert [c["file"] for c in reference["chapters"]] == pipeline.book["back"]
    config = book.config(pipeline)
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["sphinx"]["config"]["nb_execution_mode"] == "off"
    assert config["sphinx"]["config"]["numfig"] is True


# --------------------------------------------------------------------------- generated pages


def _fake_runs(root, checks: dict[str, list]) -> None:
    for name, rows in checks.items():
        folder = pl.run_dir(name)
        (folder / "tables").mkdir(parents=True)
        write_csv(rp.to_frame(rows), folder / "tables" / "reproduction.csv")


def test_status_summary_counts_from_the_runs(mini):
    text = (mini / "pipeline.yml").read_text()
    text = text.replace(
        "outputs: [tables/out.csv]", "outputs: [tables/out.csv, tables/reproduction.csv]"
    )
    text = text.replace(
        "outputs: [tables/sum.csv]", "outputs: [tables/sum.csv, tables/reproduction.csv]"
    )
    (mini / "pipeline.yml").write_text(text)
    _fake_runs(
        mini,
        {
            "alpha": [_check("a1", 1, 1), _check("a2", 1, 5, must_match=False)],
            "beta": [_check("b1", "x", "x"), _check("b2", 2, 2), _check("b3", 3, 3)],
        },
    )
    executed = nbformat.v4.new_notebook()
    executed.cells = [_figure_cell(_png(1), "synthetic: a"), _figure_cell(_png(2), "published: b")]
    nbformat.write(executed, pl.run_dir("alpha") / "alpha.ipynb")
    summary = bookpages.status_summary(pl.load())
    assert "**Published figures checked:** 5 in 2 chapter(s); **4 match**" in summary
    assert "**Must-match figures:** 4; **4 reproduced**, 0 failed" in summary
    assert "**Informational checks that do not match:** 1" in summary
    assert "**Figures in this book:** 2 (1 published, 1 synthetic, 0 user, 0 real)" in summary
    assert "**Data files:** none catalogued" in summary
    assert "| {doc}`/chapters/alpha` | 2 | 1 | 1 | 0 |" in summary
    assert "| {doc}`/chapters/beta` | 3 | 3 | 3 | 0 |" in summary
    assert "**stale runs shown** (rerun `make all`): " in summary
    assert "alpha (never run)" in summary and "beta (never run)" in summary


def test_data_page_lists_every_dataset_with_its_schema_columns():
    datasets = catalogue.load()
    if not datasets:
        pytest.skip("no datasets catalogued yet")
    page = bookpages.data_page(pl.load())
    assert bookpages.dataset_label("survey/published/Key_figures.csv") == (
        "data-survey-published-key-figures-csv"
    )
    for ds in datasets:
        label = bookpages.dataset_label(ds.path)
        assert f"({label})=\n### {ds.path}\n" in page
        assert f"| {{ref}}`{ds.path} <{label}>` | {ds.tier} |" in page
        section = page.split(f"### {ds.path}\n", 1)[1].split("\n### ", 1)[0]
        assert f"`{ds.sha256}`" in section and f"**Rows:** {ds.rows:,}" in section
        assert ds.licence in section and ds.tier in section
        for column in ds.load_schema().columns:
            assert f"| `{column}` |" in section, (ds.path, column)
        if ds.generator and "seed" in ds.generator:
            assert f"seed: {ds.generator['seed']}" in section


def test_reproducibility_page_reads_the_manifest(mini):
    manifest = {
        "git_commit": "abc123",
        "written": "2026-01-01T00:00:00+00:00",
        "environment": {"python": "3.11.9", "platform": "linux", "packages": {"pandas": "3.0"}},
        "notebooks": {
            "alpha": {
                "parameters": {"n": 3, "label": "x", "scale": 1.0, "mode": "a"},
                "seconds": 1.25,
                "finished": "2026-01-01T00:00:00+00:00",
                "cache_key": "f" * 64,
                "cache": {"inputs": {"data/input.csv": "1" * 64}},
                "outputs": {"tables/out.csv": "2" * 64},
            }
        },
    }
    (mini / "build").mkdir()
    (mini / "build" / "manifest.json").write_text(json.dumps(manifest))
    page = bookpages.reproducibility_page(pl.load())
    assert "Git commit: `abc123`" in page and "| pandas | 3.0 |" in page
    assert "| alpha | 1.2 s | 2026-01-01T00:00:00+00:00 | `ffffffffffff` |" in page
    assert "| beta | not run |" in page
    assert "| `n` | int | `3` |" in page
    assert "| alpha | input | `data/input.csv` | `1111111111111111` |" in page
    # The rerun example uses a real parameter with a valid non-default value.
    example = re.search(r"compendium run (\w+) -p (\w+)=(\S+)", page)
    notebook = pl.load().notebook(example.group(1))
    value = pl.parse_assignment(f"{example.group(2)}={example.group(3)}")[1]
    assert pl.resolve_parameters(notebook, {example.group(2): value}) != notebook.defaults


# --------------------------------------------------------------------------- hand-written pages


def _bib_keys() -> set[str]:
    return set(re.findall(r"@\w+\{([^,\s]+),", (BOOK / "references.bib").read_text()))


def _cited(text: str) -> set[str]:
    keys = set()
    for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
        keys.update(k.strip() for k in group.split(","))
    return keys


def test_every_citation_in_pages_and_notebooks_is_in_references_bib():
    texts = [p.read_text() for p in BOOK.glob("*.md")]
    for nb in pl.load().notebooks.values():
        cells = json.loads((repo_root() / nb.source).read_text())["cells"]
        texts += ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    unknown = set().union(*map(_cited, texts)) - _bib_keys()
    assert not unknown, f"citations missing from book/references.bib: {sorted(unknown)}"


def test_methods_cite_the_method_references():
    cited = _cited((BOOK / "methods.md").read_text())
    expected = {
        "wilson1927",
        "spiegelhalter2005funnel",
        "spiegelhalter2005overdispersion",
        "benjamini1995",
        "ragin2008",
        "gale2013framework",
        "garwood1936",
        "liang1986",
    }
    assert expected <= cited


def test_glossary_defines_the_required_terms():
    text = (BOOK / "glossary.md").read_text()
    body = text.split("```{glossary}", 1)[1]
    terms = set(re.findall(r"^(\S[^\n]*)$", body, flags=re.M)) - {"```"}
    required = {"CCG", "QOF", "GPPS", "IAGP", "PCN", "STAR-PU", "APMS", "GMS", "PMS"}
    required |= {"Network", "Federation", "Super-partnership", "Multisite practice organisation"}
    assert required <= terms, sorted(required - terms)


def test_landing_page_carries_the_status_marker_and_the_two_commands():
    text = (BOOK / "intro.md").read_text()
    assert book.STATUS_MARKER in text
    assert "make all" in text and "make test" in text
    assert {"rosen2016bigger", "mcdonald2020federations", "pulse2018quest"} <= _cited(text)


def test_book_pages_declared_exist():
    pipeline = pl.load()
    for page in [*pipeline.book["front"], *pipeline.book["back"]]:
        assert page in book.GENERATED_PAGES or (BOOK / f"{page}.md").is_file(), page
