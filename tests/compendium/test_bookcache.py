"""The book's cache key and incremental builds (analysis.compendium.book.buildcache).

Unit checks of the key on the mini project, then a real jupyter-book build of the small
project of test_book_build.py: built once, built again with nothing changed (no Sphinx run),
then with one chapter changed (Sphinx re-reads that chapter only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from test_book_build import create_project, use

from analysis.compendium import pipeline as pl
from analysis.compendium import runner
from analysis.compendium.book import build, buildcache, collect
from analysis.files import sha256_file
from analysis.paths import build_dir


def _touch_old(path: Path) -> None:
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))


def test_sync_tree_rewrites_only_changed_files(tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    (source / "sub").mkdir(parents=True)
    (source / "same.md").write_text("same\n")
    (source / "sub" / "changed.md").write_text("new text\n")
    (source / "added.md").write_text("added\n")
    (target / "sub").mkdir(parents=True)
    (target / "gone").mkdir()
    (target / "same.md").write_text("same\n")
    (target / "sub" / "changed.md").write_text("old text\n")
    (target / "gone" / "old.md").write_text("old\n")
    for path in target.rglob("*.md"):
        _touch_old(path)
    touched = buildcache.sync_tree(source, target)
    assert sorted(touched) == ["added.md", "gone/old.md", "sub/changed.md"]
    assert (target / "same.md").stat().st_mtime_ns == 1_000_000_000
    assert (target / "sub" / "changed.md").read_text() == "new text\n"
    assert (target / "sub" / "changed.md").stat().st_mtime_ns > 1_000_000_000
    assert not (target / "gone").exists()
    assert buildcache.sync_tree(source, target) == []


def _key(pipeline: pl.Pipeline) -> dict:
    return buildcache.book_components(pipeline)


def test_key_follows_pages_runs_references_and_pipeline_but_not_the_manifest_time(mini):
    pipeline = pl.load()
    before = _key(pipeline)
    assert _key(pipeline) == before  # deterministic
    (mini / "book" / "intro.md").write_text("# Mini, edited\n")
    assert buildcache.changed_parts(_key(pipeline)) == list(before)  # nothing recorded yet
    edited = _key(pipeline)
    assert [k for k in before if before[k] != edited[k]] == ["pages"]
    (mini / "book" / "references.bib").write_text("@misc{x, title={x}}\n")
    with_bib = _key(pipeline)
    assert {k for k in before if edited[k] != with_bib[k]} == {"pages", "references"}
    tables = pl.run_dir("alpha") / "tables"
    tables.mkdir(parents=True)
    (tables / "out.csv").write_text("value\n1\n")
    with_run = _key(pipeline)
    assert with_run["runs"]["alpha"]["tables"] != with_bib["runs"]["alpha"]["tables"]
    assert with_run["runs"]["beta"] == with_bib["runs"]["beta"]
    manifest = build_dir() / "manifest.json"
    manifest.write_text(json.dumps({"written": "2026-01-01T00:00:00", "notebooks": {}}))
    first = _key(pipeline)["manifest"]
    manifest.write_text(json.dumps({"written": "2026-06-01T12:00:00", "notebooks": {}}))
    assert _key(pipeline)["manifest"] == first
    manifest.write_text(json.dumps({"written": "x", "notebooks": {"alpha": {}}}))
    assert _key(pipeline)["manifest"] != first
    text = (mini / "pipeline.yml").read_text().replace("title: Alpha", "title: Alpha two")
    (mini / "pipeline.yml").write_text(text)
    assert _key(pl.load())["pipeline"] != with_run["pipeline"]


def test_the_check_does_not_import_the_builder(mini):
    """`compendium book` with nothing to do must not pay for nbformat and jsonschema."""
    script = (
        "import sys; from analysis.compendium import pipeline as pl; "
        "from analysis.compendium.book import buildcache; buildcache.is_fresh(pl.load()); "
        "builder = ('nbformat', 'analysis.compendium.book.assemble', "
        "'analysis.compendium.book.build'); "
        "print(sorted(m for m in builder if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_up_to_date_needs_the_same_key_and_the_site(mini):
    pipeline = pl.load()
    components = _key(pipeline)
    html = collect.book_html_dir()
    assert not buildcache.up_to_date(components, html)
    buildcache.record(components)
    assert not buildcache.up_to_date(components, html)  # no site yet
    html.mkdir(parents=True)
    (html / "index.html").write_text("<html></html>")
    assert not buildcache.up_to_date(components, html)  # a site it did not record
    buildcache.record(components)
    assert buildcache.up_to_date(components, html)
    (html / "index.html").write_text("<html>edited by hand</html>")
    assert not buildcache.up_to_date(components, html)
    (html / "index.html").write_text("<html></html>")  # the same bytes, touched again
    assert buildcache.up_to_date(components, html)
    (html / "extra.html").write_text("<script></script>")  # a page the build did not make
    assert not buildcache.up_to_date(components, html)
    (html / "extra.html").unlink()
    assert buildcache.changed_parts(components) == []
    (mini / "book" / "intro.md").write_text("# changed\n")
    assert buildcache.changed_parts(_key(pipeline)) == ["pages"]
    assert not buildcache.up_to_date(_key(pipeline), html)
    buildcache.forget()
    assert buildcache.recorded() is None


# --------------------------------------------------------------------------- real builds


def _mtimes(folder: Path, pattern: str) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob(pattern)}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The small book project executed and its book built once."""
    root = create_project(tmp_path_factory.mktemp("bookcache"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        use(monkeypatch, root)
        outcomes = runner.run(pl.load())
        assert {o.status for o in outcomes} == {"executed"}, [o.message for o in outcomes]
        runner.write_pipeline_manifest(pl.load())
        build.build_book(pl.load())
    return root


@pytest.mark.e2e
def test_unchanged_book_builds_nothing_and_one_changed_chapter_rereads_one_page(
    project, monkeypatch
):
    use(monkeypatch, project)
    folder = project / "build"
    html, doctrees = folder / "book" / "html", folder / "book-work" / "_build" / ".doctrees"
    log = folder / "book-build.log"
    pages, trees, logged = _mtimes(html, "*.html"), _mtimes(doctrees, "*.doctree"), log.stat()

    # Nothing changed (a no-op run rewrites the manifest's time only): no Sphinx run at all.
    manifest = folder / "manifest.json"
    recorded = manifest.read_bytes()
    runner.write_pipeline_manifest(pl.load())
    assert build.build_book(pl.load()) == html / "index.html"
    assert _mtimes(html, "*.html") == pages
    assert log.stat().st_mtime_ns == logged.st_mtime_ns
    # (A rebuild would show the new time on the landing and reproducibility pages: put the
    # old manifest back so that only the chapter below differs.)
    manifest.write_bytes(recorded)

    # One chapter's executed notebook changed: Sphinx re-reads that chapter and no other page.
    executed = folder / "runs" / "chapter" / "default" / "chapter.ipynb"
    nb = nbformat.read(executed, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("INCREMENTAL-MARKER"))
    nbformat.write(nb, executed)
    # ... as a rerun would record it in the run's manifest (the book verifies every run).
    record_path = executed.parent / "run.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record["files"]["chapter.ipynb"] = sha256_file(executed)
    record_path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    assert buildcache.changed_parts(buildcache.book_components(pl.load())) == ["runs"]
    # ... and the data page, which depends on no run, is kept from the last build.
    from analysis.compendium.book import datapage

    data_page = (folder / "book-src" / "data.md").read_text(encoding="utf-8")
    monkeypatch.setattr(datapage, "data_page", lambda _: pytest.fail("data page remade"))
    build.build_book(pl.load())
    assert (folder / "book-src" / "data.md").read_text(encoding="utf-8") == data_page
    assert "INCREMENTAL-MARKER" in (html / "chapters" / "chapter.html").read_text()
    reread = {k for k, v in _mtimes(doctrees, "*.doctree").items() if trees.get(k) != v}
    assert reread == {"chapters/chapter.doctree"}
    assert buildcache.changed_parts(buildcache.book_components(pl.load())) == []


@pytest.mark.e2e
def test_a_hand_edit_of_the_published_html_is_rebuilt_away(project, monkeypatch):
    use(monkeypatch, project)
    page = project / "build" / "book" / "html" / "intro.html"
    built = page.read_bytes()
    page.write_bytes(built.replace(b"</body>", b"<p>HAND-EDIT</p></body>"))
    assert not buildcache.is_fresh(pl.load())
    build.build_book(pl.load())
    assert page.read_bytes() == built
    assert buildcache.is_fresh(pl.load())


def test_cached_page_is_kept_while_its_parts_are_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    made = []

    def make(text):
        return lambda: made.append(text) or text

    parts = {p: f"{p}-1" for p in buildcache.PAGE_PARTS["data"]}
    components = {**parts, "runs": "r1", "bench": "b1"}
    assert buildcache.cached_page("data", components, make("one")) == "one"
    # runs and benchmark changed: not parts of the data page, so kept
    kept = {**components, "runs": "r2", "bench": "b2"}
    assert buildcache.cached_page("data", kept, make("two")) == "one" and made == ["one"]
    for part in parts:  # any of its own parts changed: made again
        changed = {**kept, part: "new"}
        assert buildcache.cached_page("data", changed, make(part)) == part
    assert made == ["one", *parts]
    # pages without declared parts, or without components, are always made
    assert buildcache.cached_page("performance", components, make("p")) == "p"
    assert buildcache.cached_page("data", {}, make("q")) == "q"
    # an interrupted write (text without its key) is never trusted
    (tmp_path / "book-work" / "pages" / "data.key").unlink()
    assert buildcache.cached_page("data", components, make("three")) == "three"
