"""Assemble: the book's sources written from the collected runs and the derived pages.

The third step of the book build (collect -> derive pages -> assemble -> build -> record).
The sources are written into a folder (``build/book-src`` for a direct call): the
hand-written pages of ``book/``, the executed default run of every notebook (one chapter
each, in pipeline order) with its tables and figures for download, and the pages generated
from the run manifest and data catalogue. The table of contents and configuration are
written from ``pipeline.yml``. Refuses (:class:`.collect.BookError`) a notebook without an
executed run, a figure without a caption naming its data tier, and a reproduction report
whose last run failed or is stale.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from analysis.compendium import pipeline as pl
from analysis.compendium.book.collect import (
    FIGURE_TIERS,
    BookError,
    Notebook,
    book_source_dir,
    check_report_run,
    read_json,
    read_notebook,
    verify_run,
)
from analysis.markup import neutralise_markdown, sanitise_html
from analysis.paths import repo_root

GENERATED_PAGES = ("reproducibility", "data", "performance", "certificate", "code")
STATUS_MARKER = "<!-- compendium:status -->"
DOWNLOAD_SUFFIXES = {"tables": (".csv",), "figures": (".png", ".svg")}
_TABLE_WRITE = re.compile(r"""["']tables["']\s*/\s*f?["']([^"'{}]+\.csv)["']""")


def toc(pipeline: pl.Pipeline) -> dict[str, Any]:
    """The table of contents: the root page, then two parts.

    *Analyses*: further front pages and one chapter per notebook, in pipeline order
    (the reproduction report last, as it reads the others). *Reference*: the back pages.
    """
    front = list(pipeline.book.get("front", ["intro"]))
    back = list(pipeline.book.get("back", []))
    root, front = front[0], front[1:]
    chapters = [{"file": page} for page in front]
    chapters += [{"file": f"chapters/{name}"} for name in pipeline.order()]
    parts = [{"caption": "Analyses", "chapters": chapters}]
    if back:
        parts.append({"caption": "Reference", "chapters": [{"file": page} for page in back]})
    return {"format": "jb-book", "root": root, "parts": parts}


def config(pipeline: pl.Pipeline) -> dict[str, Any]:
    """The Jupyter Book configuration: offline, no execution, warnings are errors.

    Local Sphinx extensions are the project's ``book/_ext/*.py`` (the compendium's
    ``quiet_console`` keeps pages free of console errors) and the favicon is
    ``book/_static/favicon.png``, each only when the project has it.
    """
    pages = repo_root() / "book"
    local = sorted(p.stem for p in (pages / "_ext").glob("*.py"))
    favicon = (pages / "_static" / "favicon.png").is_file()
    sphinx: dict[str, Any] = {
        # MathJax from a local copy (PyPI sphinx-mathjax-offline), never from a CDN.
        "extra_extensions": ["sphinx-mathjax-offline"],
        "config": {
            "nb_execution_mode": "off",
            "numfig": True,
            "numfig_format": {"figure": "Figure %s", "table": "Table %s"},
            "bibtex_reference_style": "author_year",
            "html_show_sourcelink": False,
            "html_last_updated_fmt": "",
            # Figures are shown at the width they were drawn for (responsive_figures), not
            # wrapped in a link to the full-size image.
            "html_scaled_image_link": False,
            "suppress_warnings": ["mystnb.unknown_mime_type"],
        },
    }
    if local:
        sphinx["local_extensions"] = {name: "_ext" for name in local}
    return {
        "title": pipeline.book.get("title", "Compendium"),
        "author": pipeline.book.get("author", ""),
        "copyright": pipeline.book.get("copyright", "2026"),
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "bibtex_bibfiles": ["references.bib"],
        "html": {
            **({"favicon": "_static/favicon.png"} if favicon else {}),
            "use_download_button": False,
            "use_repository_button": False,
            "home_page_in_navbar": True,
        },
        "launch_buttons": {"notebook_interface": "classic", "thebe": False},
        "sphinx": sphinx,
    }


# --------------------------------------------------------------------------- chapters


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _markdown_cell(text: str) -> dict[str, Any]:
    """A new Markdown cell; its id is made stable by :func:`.buildcache.stable_cell_ids`."""
    return {"cell_type": "markdown", "id": "added", "metadata": {}, "source": text}


def figure_problems(nb: Notebook, name: str) -> list[str]:
    """Figure cells without a caption that starts with a data tier, or with several images.

    Every code cell displaying an image must carry
    ``metadata.mystnb.figure.caption`` starting with ``published``, ``synthetic`` or
    ``user`` and a ``name`` (the label), and display exactly one image.
    """
    problems = []
    for number, cell in enumerate(nb["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if not images:
            continue
        figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
        caption = str(figure.get("caption", "")).strip()
        where = f"notebook {name!r}, cell {number}"
        if not caption.lower().startswith(FIGURE_TIERS):
            problems.append(
                f"{where}: figure caption {caption[:40]!r} does not start with a data tier "
                f"{list(FIGURE_TIERS)} (metadata mystnb.figure.caption)"
            )
        if not figure.get("name"):
            problems.append(f"{where}: figure has no name (metadata mystnb.figure.name)")
        if len(images) > 1:
            problems.append(f"{where}: displays {len(images)} images; a figure cell shows one")
    return problems


def _download_files(folder: Path) -> dict[str, list[Path]]:
    return {
        sub: sorted(p for p in (folder / sub).glob("*") if p.suffix in suffixes)
        for sub, suffixes in DOWNLOAD_SUFFIXES.items()
    }


def _link(name: str, file: Path, label: str | None = None) -> str:
    return f"{{download}}`{label or file.name} <{name}/{file.parent.name}/{file.name}>`"


def _figure_links(name: str, png: Path) -> str:
    svg = png.with_suffix(".svg")
    links = [_link(name, png, "PNG")] + ([_link(name, svg, "SVG")] if svg.exists() else [])
    return "Download this figure: " + " · ".join(links)


def _png_digest(output: dict) -> str | None:
    data = output.get("data", {}).get("image/png")
    if not data:
        return None
    raw = "".join(data) if isinstance(data, list) else data
    return hashlib.sha256(base64.b64decode(raw)).hexdigest()


def add_downloads(
    nb: Notebook, name: str, folder: Path, provenance: dict[int, str] | None = None
) -> Notebook:
    """Link every table and figure of a chapter where it appears, and list all at the end.

    A table is linked after the cell whose code writes it (``"tables" / "x.csv"``); a
    figure after the cell that displays the saved PNG (matched by content); ``provenance``
    (by cell index, :func:`.made.provenance_cells`) adds how each was made. A closing
    *Downloads* section lists every CSV, PNG and SVG the run wrote. Links use the
    ``{download}`` role, so Sphinx copies the files into the HTML.
    """
    files = _download_files(folder)
    pngs = {
        hashlib.sha256(p.read_bytes()).hexdigest(): p
        for p in files["figures"]
        if p.suffix == ".png"
    }
    tables = {p.name: p for p in files["tables"]}
    cells = []
    for index, cell in enumerate(nb["cells"]):
        cells.append(cell)
        if cell["cell_type"] != "code":
            continue
        links = [provenance[index]] if provenance and index in provenance else []
        written = [
            tables[t] for t in dict.fromkeys(_TABLE_WRITE.findall(_source(cell))) if t in tables
        ]
        if written:
            links.append("Download: " + " · ".join(_link(name, t) for t in written))
        for output in cell.get("outputs", []):
            png = pngs.get(_png_digest(output) or "")
            if png is not None:
                links.append(_figure_links(name, png))
        if links:
            cells.append(_markdown_cell("\n\n".join(links)))
    if files["tables"] or files["figures"]:
        lines = ["## Downloads", ""]
        lines += ["Every table (CSV) and figure (PNG and SVG) of this chapter's run.", ""]
        for sub, label in (("tables", "Tables"), ("figures", "Figures")):
            if files[sub]:
                lines.append(f"- {label}: " + " · ".join(_link(name, f) for f in files[sub]))
        cells.append(_markdown_cell("\n".join(lines)))
    nb["cells"] = cells
    return nb


def hide_plumbing(nb: Notebook) -> Notebook:
    """Remove papermill's injected-parameters cell (the run folder and the values) from the page.

    The chapter keeps its ``parameters`` cell, which holds the defaults of ``pipeline.yml``
    (a test keeps them equal); the values each run used are on the reproducibility page.
    """
    for cell in nb["cells"]:
        metadata = cell.setdefault("metadata", {})
        tags = metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            metadata["tags"] = [*tags, "remove-cell"]
    return nb


ESCAPES = (("text/markdown", neutralise_markdown), ("text/html", sanitise_html))


def escape_outputs(nb: Notebook) -> Notebook:
    """Every output is data-derived: raw HTML in Markdown outputs becomes text, and HTML
    outputs lose scripts, frames and event handlers (:mod:`analysis.markup`)."""
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime, clean in ESCAPES:
                if mime in data:
                    value = data[mime]
                    data[mime] = clean("".join(value) if isinstance(value, list) else value)
    return nb


def _copy_chapter(name: str, target: Path, tiers: dict[str, str]) -> list[str]:
    """Copy a chapter's executed notebook, tables and figures; return the functions its
    provenance lines name."""
    from analysis.compendium.book import made

    folder = pl.run_dir(name)
    executed = verify_run(name)
    nb = escape_outputs(read_notebook(executed))
    problems = figure_problems(nb, name)
    if problems:
        raise BookError(f"{executed}: figures without a proper caption:\n" + "\n".join(problems))
    chapters = target / "chapters"
    downloads = chapters / name
    for sub in DOWNLOAD_SUFFIXES:
        if (folder / sub).is_dir():
            shutil.copytree(folder / sub, downloads / sub)
    run = read_json(folder / "run.json") or {}
    provenance, functions = made.provenance_cells(nb, name, run, tiers)
    chapter = hide_plumbing(add_downloads(nb, name, downloads, provenance))
    text = json.dumps(chapter, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    chapters.mkdir(parents=True, exist_ok=True)
    (chapters / f"{name}.ipynb").write_text(text, encoding="utf-8")
    return functions


#: The module of ``analysis.compendium.book`` that writes each generated page (imported only
#: when the page is made: the data page imports every strand's schemas).
PAGE_MODULES = {
    "reproducibility": "reproducibility",
    "data": "datapage",
    "performance": "performance",
    "certificate": "certify",
}


def generated_page(page: str, pipeline: pl.Pipeline) -> str:
    """Markdown of a page generated at build time."""
    module = importlib.import_module(f"analysis.compendium.book.{PAGE_MODULES[page]}")
    return getattr(module, f"{page}_page")(pipeline)


def assemble(
    pipeline: pl.Pipeline, target: Path | None = None, components: dict[str, Any] | None = None
) -> Path:
    """Write the book's sources into ``target`` (default ``build/book-src``, replaced).

    With the book's cache ``components``, a generated page whose inputs are unchanged is
    taken from the last build (:func:`.buildcache.cached_page`).
    """
    from analysis.compendium.book import buildcache, landing, made, status
    from analysis.compendium.book.sentences import paste_sentences

    for name in pipeline.order():
        verify_run(name)  # before anything reads a run's tables (the report gate included)
    check_report_run(pipeline)
    target = target or book_source_dir()
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for file in (repo_root() / "book").iterdir():
        if file.is_file():
            shutil.copy2(file, target / file.name)
        elif file.is_dir():
            shutil.copytree(file, target / file.name)
    from analysis.core import catalogue

    tiers = {ds.path: ds.tier for ds in catalogue.load()}
    functions: list[str] = []
    for name in pipeline.order():
        functions += _copy_chapter(name, target, tiers)
    made.write_figure_index(target)
    pages = [*pipeline.book.get("front", []), *pipeline.book.get("back", [])]
    for page in pages:
        path = target / f"{page}.md"
        if page == "code":
            path.write_text(neutralise_markdown(made.code_page(functions), keep_code=True))
        elif page in GENERATED_PAGES:
            # Generated pages quote data (catalogue titles, sources): no raw HTML gets through.
            generated = buildcache.cached_page(
                page, components or {}, lambda page=page: generated_page(page, pipeline)
            )
            page_text = neutralise_markdown(generated, keep_code=True)
            path.write_text(page_text, encoding="utf-8")
        elif not path.exists():
            raise BookError(
                f"{pipeline.path}: book page {page!r} is neither in book/ nor generated"
            )
        text = path.read_text(encoding="utf-8")
        # a chapter's result sentences, where a page asks for them
        pasted = paste_sentences(text, pipeline.notebooks)
        if pasted != text:
            path.write_text(pasted, encoding="utf-8")
            text = pasted
        if STATUS_MARKER in text:
            summary = neutralise_markdown(status.status_summary(pipeline), keep_code=True)
            text = text.replace(STATUS_MARKER, summary)
        if landing.CHAPTERS_MARKER in text:
            listed = neutralise_markdown(landing.chapters_table(pipeline), keep_code=True)
            text = text.replace(landing.CHAPTERS_MARKER, listed)
        path.write_text(text, encoding="utf-8")
    (target / "_toc.yml").write_text(yaml.safe_dump(toc(pipeline), sort_keys=False))
    (target / "_config.yml").write_text(yaml.safe_dump(config(pipeline), sort_keys=False))
    return target
