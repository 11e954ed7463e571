"""Building the Jupyter Book from the executed notebooks, offline, without re-executing them.

The book's sources are assembled in ``build/book-src``: the hand-written pages of
``book/``, the executed default run of every notebook (one chapter each, in
pipeline order) with its tables and figures for download, and pages generated from
the run manifest and data catalogue. The table of contents and configuration are
written from ``pipeline.yml``. The HTML is built into a temporary folder and moved
to ``build/book/html`` only when the build succeeds with no warnings.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from . import pipeline as pl
from .paths import build_dir, repo_root

GENERATED_PAGES = ("reproducibility", "data", "performance")


class BookError(RuntimeError):
    """The book cannot be built; the message says what is missing or broken."""


def book_source_dir() -> Path:
    return build_dir() / "book-src"


def book_html_dir() -> Path:
    return build_dir() / "book" / "html"


def toc(pipeline: pl.Pipeline) -> dict[str, Any]:
    """The table of contents: front pages, one chapter per notebook, back pages."""
    front = list(pipeline.book.get("front", ["intro"]))
    back = list(pipeline.book.get("back", []))
    root, front = front[0], front[1:]
    chapters = [{"file": page} for page in front]
    chapters += [{"file": f"chapters/{name}"} for name in pipeline.order()]
    chapters += [{"file": page} for page in back]
    return {"format": "jb-book", "root": root, "chapters": chapters}


def config(pipeline: pl.Pipeline) -> dict[str, Any]:
    """The Jupyter Book configuration: offline, no execution, warnings are errors."""
    return {
        "title": pipeline.book.get("title", "Compendium"),
        "author": pipeline.book.get("author", ""),
        "copyright": pipeline.book.get("copyright", "2026"),
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "bibtex_bibfiles": ["references.bib"],
        "html": {"use_download_button": False, "use_repository_button": False},
        "sphinx": {
            "config": {
                "nb_execution_mode": "off",
                "numfig": True,
                "bibtex_reference_style": "author_year",
                "html_show_sourcelink": False,
                "suppress_warnings": ["mystnb.unknown_mime_type"],
            }
        },
    }


def _copy_chapter(name: str, target: Path) -> None:
    folder = pl.run_dir(name)
    executed = folder / f"{name}.ipynb"
    if not executed.is_file():
        raise BookError(
            f"notebook {name!r} has no executed run at {executed}; run `compendium run` first"
        )
    chapters = target / "chapters"
    chapters.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, chapters / f"{name}.ipynb")
    downloads = chapters / name
    for sub in ("tables", "figures"):
        if (folder / sub).is_dir():
            shutil.copytree(folder / sub, downloads / sub)


def generated_page(page: str, pipeline: pl.Pipeline) -> str:
    """Markdown of a page generated at build time."""
    from . import bookpages

    return getattr(bookpages, f"{page}_page")(pipeline)


def assemble(pipeline: pl.Pipeline) -> Path:
    """Write the book's sources into ``build/book-src`` (replacing any previous copy)."""
    target = book_source_dir()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for file in (repo_root() / "book").iterdir():
        if file.is_file():
            shutil.copy2(file, target / file.name)
        elif file.is_dir():
            shutil.copytree(file, target / file.name)
    for name in pipeline.order():
        _copy_chapter(name, target)
    pages = [*pipeline.book.get("front", []), *pipeline.book.get("back", [])]
    for page in pages:
        if page in GENERATED_PAGES:
            (target / f"{page}.md").write_text(generated_page(page, pipeline), encoding="utf-8")
        elif not (target / f"{page}.md").exists():
            raise BookError(
                f"{pipeline.path}: book page {page!r} is neither in book/ nor generated"
            )
    (target / "_toc.yml").write_text(yaml.safe_dump(toc(pipeline), sort_keys=False))
    (target / "_config.yml").write_text(yaml.safe_dump(config(pipeline), sort_keys=False))
    return target


def build_book(pipeline: pl.Pipeline) -> Path:
    """Assemble and build the HTML book; returns the path of its index page."""
    source = assemble(pipeline)
    if not (source / "references.bib").exists():
        raise BookError(f"{repo_root() / 'book'}: references.bib is missing")
    scratch = build_dir() / ".book-tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
        "--path-output", str(scratch), "--warningiserror", "--keep-going", "--quiet",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        log = build_dir() / "book-build.log"
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
        warnings = [
            line
            for line in (result.stdout + result.stderr).splitlines()
            if "WARNING" in line or "ERROR" in line
        ]
        shown = "\n".join(warnings[:20]) or result.stderr[-2000:]
        raise BookError(f"jupyter-book build failed (full log: {log}):\n{shown}")
    html = book_html_dir()
    shutil.rmtree(html, ignore_errors=True)
    html.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(scratch / "_build" / "html", html)
    shutil.rmtree(scratch, ignore_errors=True)
    return html / "index.html"


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
