"""The reproduction report's logic, the book's generated pages and its hand-written pages (fast).

The book build itself (jupyter-book) is tested in ``test_book_build.py``; the built HTML
in a real browser in ``test_browser.py``.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from references import check_row

from analysis.compendium import pipeline as pl
from analysis.compendium.book import assemble, collect, datapage, reproducibility, status
from analysis.core import catalogue
from analysis.core import reproduction as rp
from analysis.core.datasets import write_csv
from analysis.paths import repo_root

REPO = Path(__file__).resolve().parents[2]

BOOK = repo_root() / "book"


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
    problems = assemble.figure_problems(nb, "x")
    assert problems == [
        "notebook 'x', cell 3: figure caption 'A line, no tier' does not start with a data tier "
        "['published', 'synthetic', 'user', 'real', 'coded'] (metadata mystnb.figure.caption)",
        "notebook 'x', cell 4: figure caption '' does not start with a data tier "
        "['published', 'synthetic', 'user', 'real', 'coded'] (metadata mystnb.figure.caption)",
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
    cells = assemble.add_downloads(nb, "ch", tmp_path)["cells"]
    assert [c["cell_type"] for c in cells] == [
        "code",
        "markdown",
        "code",
        "markdown",
        "code",
        "markdown",
    ]
    assert cells[1]["source"] == "Download: {download}`counts.csv <ch/tables/counts.csv>`"
    assert cells[3]["source"] == (
        "Download this figure: {download}`PNG <ch/figures/line.png>` · "
        "{download}`SVG <ch/figures/line.svg>`"
    )
    closing = cells[5]["source"]
    assert closing.startswith("## Downloads")
    for file in ("tables/counts.csv", "tables/reproduction.csv", "figures/other.png"):
        assert f"<ch/{file}>`" in closing


def test_hide_plumbing_removes_only_the_injected_cell():
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('n = 2\noutput_dir = "."')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells = [params, injected]
    cells = assemble.hide_plumbing(nb).cells
    assert cells[0].metadata["tags"] == ["parameters"]
    assert cells[1].metadata["tags"] == ["injected-parameters", "remove-cell"]
    assert assemble.hide_plumbing(nb).cells[1].metadata["tags"].count("remove-cell") == 1


def test_toc_and_config_follow_the_pipeline():
    pipeline = pl.load()
    toc = assemble.toc(pipeline)
    analyses, reference = toc["parts"]
    assert toc["root"] == pipeline.book["front"][0]
    assert analyses["caption"] == "Analyses" and reference["caption"] == "Reference"
    files = [c["file"] for c in analyses["chapters"]]
    assert files == [f"chapters/{n}" for n in pipeline.order()]
    assert [c["file"] for c in reference["chapters"]] == pipeline.book["back"]
    config = assemble.config(pipeline)
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["sphinx"]["config"]["nb_execution_mode"] == "off"
    assert config["sphinx"]["config"]["numfig"] is True


# --------------------------------------------------------------------------- generated pages


def _fake_runs(root, checks: dict[str, list]) -> None:
    for name, rows in checks.items():
        folder = pl.run_dir(name)
        (folder / "tables").mkdir(parents=True)
        write_csv(rp.to_frame(rows), folder / "tables" / "reproduction.csv")


def _report_project(mini, checks: dict[str, list]) -> str:
    """The mini project with a report notebook whose tables are written from ``checks``."""
    from analysis.core import findings as fd
    from analysis.core import verdicts as vd

    text = (mini / "pipeline.yml").read_text()
    text += (
        "  report:\n    title: Report\n    source: notebooks/report.ipynb\n"
        "    outputs: [tables/kind_counts.csv, tables/verdicts.csv, "
        "tables/source_findings.csv, tables/reproduction_summary.csv, tables/sentences.csv]\n"
    )
    (mini / "pipeline.yml").write_text(text)
    nbformat.write(nbformat.v4.new_notebook(), mini / "notebooks" / "report.ipynb")
    report = rp.combine({name: rp.to_frame(rows) for name, rows in checks.items()})
    folder = pl.run_dir("report") / "tables"
    folder.mkdir(parents=True)
    write_csv(vd.kind_counts(report), folder / "kind_counts.csv")
    no_data = pd.DataFrame(columns=["source_file", "item", "lines", "excerpt", "reason"])
    write_csv(vd.verdicts(report, no_data), folder / "verdicts.csv")
    register = fd.read_findings(REPO / "data" / "sources" / "published" / "findings.csv")
    write_csv(fd.source_findings(report, register), folder / "source_findings.csv")
    write_csv(rp.summary(report), folder / "reproduction_summary.csv")
    sentences = pd.DataFrame(
        {
            "key": ["findings", "other", "must-match"],
            "text": ["The sources hold 9 findings.", "Not on the landing page.", "2 ran."],
        }
    )
    write_csv(sentences, folder / "sentences.csv")
    return "report"


def test_status_summary_reads_the_report_tables(mini):
    _report_project(
        mini,
        {
            "alpha": [
                check_row("a1", 1, 1),
                check_row("a2", 26, 20, compared_with="Table 2, line 202"),
                check_row("a3", "x", "y", kind="coded_rule"),
            ],
            "beta": [
                check_row("b1", "x", "x", kind="round_trip"),
                check_row("b2", 2, 2, kind="round_trip"),
                check_row("b3", 3, 3, kind="recomputed"),
                check_row("b4", "85", "", kind="transcribed", reason="no source"),
            ],
        },
    )
    executed = nbformat.v4.new_notebook()
    executed.cells = [
        _figure_cell(_png(1), "synthetic: a"),
        _figure_cell(_png(2), "published: b"),
        _figure_cell(_png(3), "Coded by the compendium: c"),
    ]
    (pl.run_dir("alpha")).mkdir(parents=True)
    nbformat.write(executed, pl.run_dir("alpha") / "alpha.ipynb")
    summary = status.status_summary(pl.load())
    # One row per kind with its own counts (hand counted); nothing adds kinds together.
    lines = {line.split(" | ")[0]: line for line in summary.splitlines() if line.startswith("|")}
    assert lines["| **recomputed** from independent data"].endswith(
        "| 1 of 1 agree | 1 of 1 agree |"
    )
    assert lines["| **consistency** of published figures"].endswith(
        "| 1 agree, **1 disagree** | 1 agree, **1 disagree** |"
    )
    assert lines["| **round-trip** of a synthetic reconstruction (not evidence)"].endswith(
        "| 2 of 2 agree | 2 of 2 agree |"
    )
    coded = next(k for k in lines if k.startswith("| **coded rule**"))
    assert lines[coded].endswith("| 0 agree, **1 disagree** | 0 agree, **1 disagree** |")
    assert lines["| **transcribed only**"].endswith("| 1 | 1 |")
    assert lines["| **verdict**"].endswith("| *full reproduction* | *–* |")
    header = summary.split("| --- |")[0].lower()
    assert "total" not in header and "reproduced" not in header
    # The report's keyed sentences are repeated, in order; other sentences are not.
    assert "- The sources hold 9 findings.\n- 2 ran." in summary
    assert "Not on the landing page" not in summary
    # The unlisted disagreeing check is an unreviewed finding, between printed figures; the
    # register's statement-level findings and tensions follow, tensions in their own list.
    unreviewed = "(McDonald et al. (2020); inconsistency between printed figures or statements): "
    assert unreviewed + "quantity a2." in summary
    inconsistencies, tensions = summary.split("#### Tensions open to interpretation")
    tensions = tensions.split("### This build")[0]
    assert "**T1**" in tensions and "**T1**" not in inconsistencies
    assert not re.search(r"\*\*F\d", tensions)
    # Counted by the caption's first word: the compendium's own coding is not "published".
    assert "**Figures in this book:** 3 (1 published, 1 synthetic, 0 user, 0 real, 1 coded)" in (
        summary
    )
    assert "**stale runs shown** (rerun `make all`): " in summary


def test_status_summary_without_a_report_run_says_so(mini):
    assert "No reproduction report in this build" in status.status_summary(pl.load())


def test_book_gate_refuses_a_failed_or_stale_report(mini):
    name = _report_project(mini, {"alpha": [check_row("a1", 1, 1)]})
    pipeline = pl.load()
    with pytest.raises(collect.BookError, match="'report' has no successful run"):
        collect.check_report_run(pipeline)
    upstream = pl.run_dir("alpha") / "tables" / "reproduction.csv"
    write_csv(rp.to_frame([check_row("a1", 1, 1)]), upstream)
    from analysis.compendium.cache import file_digest

    run = {"cache": {"inputs": {"alpha:tables/reproduction.csv": file_digest(upstream)}}}
    (pl.run_dir(name) / "run.json").write_text(json.dumps(run))
    collect.check_report_run(pipeline)  # succeeded and fresh
    write_csv(rp.to_frame([check_row("a1", 1, 2, must_match=False)]), upstream)
    with pytest.raises(collect.BookError, match=r"stale: alpha:tables/reproduction.csv changed"):
        collect.check_report_run(pl.load())
    failed = pl.run_dir(name).parent / "failed-default"
    failed.mkdir()
    error = {"output_type": "error", "ename": "ReproductionError", "evalue": "1 not reproduced"}
    nb = {"cells": [{"cell_type": "code", "outputs": [error]}]}
    (failed / "report.ipynb").write_text(json.dumps(nb))
    with pytest.raises(collect.BookError, match="run failed: ReproductionError: 1 not reproduced"):
        collect.check_report_run(pl.load())


def test_data_page_lists_every_dataset_with_its_schema_columns():
    datasets = catalogue.load()
    if not datasets:
        pytest.skip("no datasets catalogued yet")
    page = datapage.data_page(pl.load())
    assert datapage.dataset_label("survey/published/Key_figures.csv") == (
        "data-survey-published-key-figures-csv"
    )
    for ds in datasets:
        label = datapage.dataset_label(ds.path)
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
    page = reproducibility.reproducibility_page(pl.load())
    assert "Git commit: `abc123`" in page and "| pandas | 3.0 |" in page
    assert "| alpha | 1.2 s | 2026-01-01T00:00:00+00:00 | `ffffffffffff` |" in page
    assert "| beta | not run |" in page
    assert "| `n` (int) | `3` |" in page
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
    assert assemble.STATUS_MARKER in text
    assert "make all" in text and "make test" in text
    assert {"rosen2016bigger", "mcdonald2020federations", "pulse2018quest"} <= _cited(text)


def test_book_pages_declared_exist():
    pipeline = pl.load()
    for page in [*pipeline.book["front"], *pipeline.book["back"]]:
        assert page in assemble.GENERATED_PAGES or (BOOK / f"{page}.md").is_file(), page
