"""Build and record: the assembled sources built into HTML by Jupyter Book, swapped in whole.

The last steps of the book build (collect -> derive pages -> assemble -> build -> record).
Offline and without re-executing a notebook; the HTML is built into a temporary folder and
moved to ``build/book/html`` only when the build succeeds with no warnings (a broken
cross-reference, an unknown citation, a missing image file fail it). The book's cache key
is then recorded (:mod:`.buildcache`), so an unchanged book is not built again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from analysis.compendium import atomic
from analysis.compendium import pipeline as pl
from analysis.compendium.book import buildcache
from analysis.compendium.book.assemble import assemble
from analysis.compendium.book.collect import BookError, book_html_dir, book_source_dir
from analysis.files import atomic_path
from analysis.paths import build_dir, repo_root

JUPYTER_BOOK = (
    "import sys; sys.modules['rfc3987_syntax'] = None; "
    "from jupyter_book.cli.main import main; sys.argv[0] = 'jupyter-book'; sys.exit(main())"
)


def _warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]


def build_book(pipeline: pl.Pipeline) -> Path:
    """Assemble and build the HTML book; returns the path of its index page.

    Holds the build folder's lock (as ``compendium run`` does). Nothing is built when the
    book's cache key is unchanged (:mod:`.buildcache`); otherwise the sources are assembled in
    a private temporary folder, Sphinx's saved environment (kept in the build folder) lets it
    re-read only the pages that changed, and the finished site is swapped in only when the
    build succeeded, so an error or an interruption at any moment leaves the previous book
    whole.
    """
    with atomic.build_lock("compendium book"):
        components = buildcache.book_components(pipeline)
        if buildcache.up_to_date(components, book_html_dir()):
            return book_html_dir() / "index.html"
        scratch = atomic.private_folder(build_dir(), "book")
        try:
            return _build_in(pipeline, scratch, components)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _build_in(pipeline: pl.Pipeline, scratch: Path, components: dict[str, Any]) -> Path:
    source = assemble(pipeline, scratch / "src", components)
    if not (source / "references.bib").exists():
        raise BookError(f"{repo_root() / 'book'}: references.bib is missing")
    work = buildcache.work_dir()
    buildcache.sync_sources(source, work / "src")
    command = [
        sys.executable, "-c", JUPYTER_BOOK, "build", str(work / "src"),
        "--path-output", str(work), "--warningiserror", "--keep-going", "--quiet",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    log = build_dir() / "book-build.log"
    with atomic_path(log) as tmp:
        tmp.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        buildcache.forget()
        shown = "\n".join(_warnings(result.stdout + result.stderr)[:20]) or result.stderr[-2000:]
        raise BookError(f"jupyter-book build failed (full log: {log}):\n{shown}")
    html = book_html_dir()
    html.parent.mkdir(parents=True, exist_ok=True)
    built = scratch / "html"
    shutil.copytree(work / "_build" / "html", built)
    with atomic.uninterruptible():
        atomic.swap_folder(built, html)
        atomic.swap_folder(source, book_source_dir())
    buildcache.record(components)
    return html / "index.html"
