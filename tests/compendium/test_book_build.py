"""Building the book with jupyter-book, on a tiny project: one chapter and the real report.

The project has one chapter notebook (a table, a captioned figure and one published figure
checked in ``tables/reproduction.csv``) and the real ``notebooks/reproduction.ipynb``, and
uses the real hand-written pages of ``book/``. It is executed once per module; the book is
then built from the executed notebooks with the source notebook broken on purpose, which
proves the build never re-executes it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis.compendium import execute, runner
from analysis.compendium import pipeline as pl
from analysis.compendium.book import assemble, build, collect
from analysis.files import sha256_file
from analysis.paths import repo_root

pytestmark = pytest.mark.e2e

PIPELINE = """\
book:
  title: Mini book
  front: [intro]
  back: [methods, data, reproducibility, glossary, references]
notebooks:
  chapter:
    title: A chapter
    source: notebooks/chapter.ipynb
    timeout: 60
    parameters:
      reproduced: {type: float, default: 139.0, help: the recomputed total}
    outputs: [tables/values.csv, tables/reproduction.csv, figures/line.png]
  reproduction:
    title: Reproduction report
    source: notebooks/reproduction.ipynb
    timeout: 60
    parameters:
      strands:
        type: list[str]
        default: [chapter]
        choices: [chapter]
    inputs:
      - "chapter:tables/reproduction.csv"
      - data/sources/published/passages.csv
      - data/sources/published/findings.csv
      - data/sources/published/items.csv
    outputs:
      - tables/reproduction_report.csv
      - tables/reproduction_summary.csv
      - tables/kind_counts.csv
      - tables/verdicts.csv
      - tables/source_findings.csv
      - tables/finding_counts.csv
      - tables/rule_disagreements.csv
      - tables/sentences.csv
      - figures/reproduction_status.png
"""

SETUP = """\
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Image, display
from analysis.core.datasets import write_csv
from analysis.core.figures import save_figure
from analysis.paths import resolve_output_dir
from analysis.core.reproduction import check, to_frame
out = resolve_output_dir(output_dir, "chapter")
"""
TABLE = """\
values = pd.DataFrame({"site": ["A", "B"], "meetings": [100, 39]})
write_csv(values, out / "tables" / "values.csv")
values
"""
FIGURE = """\
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(values["site"], values["meetings"])
png, _ = save_figure(fig, out / "figures" / "line", tier="synthetic")
plt.close(fig)
display(Image(filename=str(png)))
"""
CHECKS = """\
row = check("mini-total", strand="mini", quantity="meetings, total",
            source_file="000_088f6aeed890f33a.txt", source_location="Table 1",
            source_lines="139", published=139, reproduced=reproduced, tolerance=0.5,
            kind="round_trip")
write_csv(to_frame([row]), out / "tables" / "reproduction.csv")
print("RUN-MARKER", reproduced)
"""
NARRATIVE = """\
# A chapter

Counting meetings {cite}`mcdonald2020federations`, with Wilson intervals {cite}`wilson1927`;
see {numref}`fig-mini-bars` and the {doc}`reproduction`.
"""


def _cell(source: str, tags=(), **metadata) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.metadata.update(metadata)
    return cell


def chapter_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    figure = {"caption": "synthetic: meetings by site (made up).", "name": "fig-mini-bars"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(NARRATIVE),
        _cell('reproduced = 139.0\noutput_dir = ""', tags=["parameters"]),
        _cell(SETUP, tags=["hide-input"]),
        _cell(TABLE, tags=["hide-input"]),
        _cell(FIGURE, tags=["hide-input"], mystnb={"figure": figure}),
        _cell(CHECKS, tags=["hide-input"]),
    ]
    return nb


def create_project(root: Path) -> Path:
    (root / "notebooks").mkdir(parents=True)
    (root / "data").mkdir()
    shutil.copytree(repo_root() / "book", root / "book")
    shutil.copy2(repo_root() / "notebooks" / "reproduction.ipynb", root / "notebooks")
    shutil.copytree(repo_root() / "data" / "sources", root / "data" / "sources")
    nbformat.write(chapter_notebook(), root / "notebooks" / "chapter.ipynb")
    (root / "pipeline.yml").write_text(PIPELINE)
    return root


def use(monkeypatch, root: Path) -> None:
    monkeypatch.setenv("COMPENDIUM_ROOT", str(root))
    monkeypatch.setenv("COMPENDIUM_BUILD", str(root / "build"))
    monkeypatch.setenv("COMPENDIUM_SOURCES", str(root / "no-sources"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The project executed, then its book built while the chapter's source is broken."""
    root = create_project(tmp_path_factory.mktemp("bookproject"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        use(monkeypatch, root)
        outcomes = runner.run(pl.load())
        assert {o.name: o.status for o in outcomes} == {
            "chapter": "executed",
            "reproduction": "executed",
        }, [o.message for o in outcomes]
        runner.write_pipeline_manifest(pl.load())
        source = root / "notebooks" / "chapter.ipynb"
        good = source.read_bytes()
        broken = chapter_notebook()
        broken.cells[2].source = "raise RuntimeError('the book must not execute notebooks')"
        nbformat.write(broken, source)
        try:
            index = build.build_book(pl.load())
        finally:
            source.write_bytes(good)
    return root, index


def html(root: Path, page: str) -> str:
    return (root / "build" / "book" / "html" / page).read_text(encoding="utf-8")


def test_book_is_built_from_the_executed_notebooks(built):
    root, index = built
    assert index == root / "build" / "book" / "html" / "index.html"
    chapter = html(root, "chapters/chapter.html")
    assert "RUN-MARKER 139.0" in chapter  # an output of the run, not of a new execution
    assert "the book must not execute notebooks" not in chapter
    # The figure is numbered, captioned with its tier, and its image file exists.
    caption = re.search(r"<figcaption>(.*?)</figcaption>", chapter, flags=re.S).group(1)
    assert re.search(r"Figure \d+", caption) and "synthetic: meetings by site" in caption
    for image in re.findall(r'<img[^>]+src="([^"]+)"', chapter):
        assert (root / "build/book/html/chapters" / image).resolve().is_file(), image
    # Citations resolve to the bibliography; the cross-reference to the figure resolves.
    assert "McDonald" in chapter and "Wilson" in chapter
    assert 'href="#fig-mini-bars"' in chapter


def test_downloads_are_linked_and_copied(built):
    root, _ = built
    chapter = html(root, "chapters/chapter.html")
    links = re.findall(r'class="reference download internal"[^>]*href="([^"]+)"', chapter)
    links += re.findall(r'href="([^"]+)"[^>]*class="reference download internal"', chapter)
    names = {Path(link).name for link in links}
    assert {"values.csv", "reproduction.csv", "line.png", "line.svg"} <= names
    for link in links:
        target = (root / "build/book/html/chapters" / link).resolve()
        assert target.is_file(), link
    copied = next(
        p for p in (root / "build/book/html/_downloads").rglob("values.csv") if p.is_file()
    )
    assert sha256_file(copied) == sha256_file(root / "build/runs/chapter/default/tables/values.csv")


def test_parameters_cells_shown_and_plumbing_hidden(built):
    root, _ = built
    chapter = html(root, "chapters/chapter.html")
    cells = re.findall(r'<div class="cell ([^"]*)"', chapter)
    params = [c for c in cells if "tag_parameters" in c]
    # The injected-parameters cell (papermill's plumbing: output_dir) is removed.
    assert len(params) == 1 and not [c for c in cells if "tag_injected-parameters" in c]
    assert "tag_hide-input" not in params[0] and "output_dir = &quot;.&quot;" not in chapter
    assert sum("tag_hide-input" in c for c in cells) == 4
    # Hidden inputs are collapsed behind a toggle, not removed.
    assert len(re.findall(r'<details class="[^"]*\bhide above-input">', chapter)) == 4


def test_landing_page_status_and_report(built):
    root, _ = built
    intro = html(root, "intro.html")
    assert "Status of this build" in intro
    text = re.sub(r"<[^>]+>", "", intro)
    assert "recomputed from independent data" in text and "round-trip" in text
    assert "1 of 1 agree" in text
    # The report's own sentences, repeated: generated from its tables.
    assert "1 must-match rows (round trips of synthetic reconstructions) ran and 0 failed" in text
    assert "The sources hold" in text and "are not counted as inconsistencies" in text
    assert "Tensions open to interpretation (not inconsistencies)" in text
    assert "Figures in this book: 2 (1 published, 1 synthetic, 0 user, 0 real, 0 coded)" in text
    # The book was built while the chapter's source was broken: the page says so.
    assert "stale runs shown (rerun make all): chapter (source changed" in text
    report = re.sub(r"<[^>]+>", "", html(root, "chapters/reproduction.html"))
    assert "mini-total" in report and "McDonald et al. (2020), Table 1, lines 139" in report
    assert "1 must-match rows (round trips of synthetic reconstructions) ran and 0 failed" in report
    assert "Table R1." in report and "src-t2-atmedics-practices" in report
    assert "not able to reproduce: data not available" in report


def test_broken_page_fails_the_build_and_keeps_the_previous_book(built, tmp_path, monkeypatch):
    root, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    use(monkeypatch, copy)
    before = sha256_file(copy / "build/book/html/intro.html")
    (copy / "book" / "broken.md").write_text(
        "# Broken\n\n"
        "See {ref}`no-such-label` and {cite}`nosuchkey2099`.\n\n"
        "![a missing figure](figures/missing.png)\n"
    )
    text = (copy / "pipeline.yml").read_text().replace("glossary, references]", "glossary, broken]")
    (copy / "pipeline.yml").write_text(text)
    with pytest.raises(collect.BookError) as err:
        build.build_book(pl.load())
    message = str(err.value)
    assert "jupyter-book build failed" in message
    assert "no-such-label" in message
    assert "nosuchkey2099" in message
    assert "missing.png" in message
    assert sha256_file(copy / "build/book/html/intro.html") == before


def test_must_match_failure_fails_the_run_and_the_book(built, tmp_path, monkeypatch):
    root, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    use(monkeypatch, copy)
    text = (copy / "pipeline.yml").read_text().replace("default: 139.0", "default: 141.0")
    (copy / "pipeline.yml").write_text(text)
    outcomes = {o.name: o for o in runner.run(pl.load())}
    assert outcomes["chapter"].status == "executed"
    assert outcomes["reproduction"].status == "failed"
    assert "ReproductionError" in outcomes["reproduction"].message
    partial = copy / "build/runs/reproduction/failed-default/reproduction.ipynb"
    assert "chapter/mini-total: meetings, total: published 139, reproduced 141.0" in (
        partial.read_text()
    )
    with pytest.raises(collect.BookError, match="own code failed") as err:
        build.build_book(pl.load())
    assert "chapter/mini-total" in str(err.value)


def test_figure_without_tier_caption_fails_before_sphinx(built, tmp_path, monkeypatch):
    root, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    use(monkeypatch, copy)
    executed = copy / "build/runs/chapter/default/chapter.ipynb"
    nb = nbformat.read(executed, as_version=4)
    nb.cells[5].metadata["mystnb"]["figure"]["caption"] = "Meetings by site"
    nbformat.write(nb, executed)
    rerecord(executed.parent)  # as if the run itself had written this caption
    with pytest.raises(collect.BookError, match=r"cell 6: figure caption 'Meetings by site'"):
        assemble.assemble(pl.load())


# --------------------------------------------------------------------------- hardening


def rerecord(folder: Path) -> None:
    """Record a run folder's current files in its run.json (a run that made them so)."""
    import json

    from analysis.compendium import cache

    manifest = json.loads((folder / "run.json").read_text())
    manifest["files"] = cache.folder_hashes(folder)
    (folder / "run.json").write_text(json.dumps(manifest))


def _book_snapshot(root: Path) -> dict[str, str]:
    html = root / "build" / "book" / "html"
    return {str(p.relative_to(html)): sha256_file(p) for p in html.rglob("*") if p.is_file()}


def _copy(built, tmp_path, monkeypatch) -> Path:
    root, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(root, copy, symlinks=True)
    use(monkeypatch, copy)
    return copy


@pytest.mark.parametrize("moment", ["sphinx-running", "html-written"])
def test_sigterm_at_any_moment_keeps_the_previous_book_whole(built, tmp_path, monkeypatch, moment):
    """SIGTERM while Sphinx runs, or just after it wrote the HTML: the old book stays whole
    (or, if the swap had begun, the new one is whole), and the message says which."""
    import os
    import signal
    import subprocess
    import sys
    import time

    copy = _copy(built, tmp_path, monkeypatch)
    before = _book_snapshot(copy)
    assert len(before) > 20
    # A changed page, so the book's cache key differs and a real build starts.
    intro = copy / "book" / "intro.md"
    intro.write_text(intro.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.compendium.cli", "book"],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Sources assembled (Sphinx about to run), or the finished HTML copied beside the old book.
    marker = "src/_toc.yml" if moment == "sphinx-running" else "html/index.html"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if list((copy / "build").glob(f".tmp-*-book-*/{marker}")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the build ended before the moment {moment}"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    after = _book_snapshot(copy)
    if "previous outputs are kept unchanged" in stderr:
        assert after == before
    else:
        assert "completed first; outputs are whole" in stderr, stderr
        assert set(after) >= {"index.html", "intro.html"} and len(after) >= len(before) - 5
    assert not [p for p in (copy / "build").rglob("*") if p.name.startswith((".tmp-", ".old-"))]


def test_a_tampered_run_is_not_published(built, tmp_path, monkeypatch):
    copy = _copy(built, tmp_path, monkeypatch)
    before = _book_snapshot(copy)
    (copy / "build/runs/chapter/default/tables/values.csv").write_text("site,meetings\nA,1\n")
    with pytest.raises(collect.BookError) as err:
        build.build_book(pl.load())
    assert "notebook 'chapter': its run no longer matches the sha256" in str(err.value)
    assert "tables/values.csv was modified" in str(err.value)
    assert _book_snapshot(copy) == before
    assert "output differs from its run.json sha256" in "; ".join(
        execute.status(pl.load())[0].reasons
    )


def test_data_derived_markup_reaches_the_book_as_text(built, tmp_path, monkeypatch):
    """A run whose notebook displayed data text holding HTML and script (as Markdown, and as
    HTML): the chapter page shows the text and runs nothing."""
    copy = _copy(built, tmp_path, monkeypatch)
    folder = copy / "build/runs/chapter/default"
    executed = folder / "chapter.ipynb"
    nb = nbformat.read(executed, as_version=4)
    evil = "Site <script>alert('md')</script> <img src=x onerror=alert(2)>"
    nb.cells[3].outputs += [
        nbformat.v4.new_output("display_data", data={"text/markdown": f"**MD {evil}**"}),
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": f"<p onclick='alert(3)'>HTML {evil}</p><script>alert(4)</script>"},
        ),
    ]
    nbformat.write(nb, executed)
    rerecord(folder)
    build.build_book(pl.load())
    page = html(copy, "chapters/chapter.html")
    outputs = "".join(re.findall(r'<div class="output[^"]*">(.*?)</div>', page, re.S))
    assert "HTML Site" in outputs and "<script" not in outputs
    start = page.index("MD Site")
    markdown = page[start : page.index("</strong>", start)]
    assert "&lt;script" in markdown and "<script" not in markdown and "<img" not in markdown
    assert not re.search(r"<[a-z]+[^<>]*\bon(error|click)\s*=", outputs)
    assert "alert(3)" not in page and "alert(4)" not in page
