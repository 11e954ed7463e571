"""Building the Jupyter Book from the executed notebooks, offline, without re-executing them.

The book's sources are assembled in ``build/book-src``: the hand-written pages of
``book/``, the executed default run of every notebook (one chapter each, in
pipeline order) with its tables and figures for download, and pages generated from
the run manifest and data catalogue. The table of contents and configuration are
written from ``pipeline.yml``. The HTML is built into a temporary folder and moved
to ``build/book/html`` only when the build succeeds with no warnings.

The build refuses (:class:`BookError`) when a notebook has no executed run, when a
figure has no caption naming its data tier, when a must-match published figure is
not reproduced, and when Sphinx warns (a broken cross-reference, an unknown
citation, a missing image file).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import yaml

from analysis.compendium import pipeline as pl
from analysis.errors import CompendiumError
from analysis.paths import build_dir, repo_root

GENERATED_PAGES = ("reproducibility", "data", "performance")
STATUS_MARKER = "<!-- compendium:status -->"
FIGURE_TIERS = ("published", "synthetic", "user")
DOWNLOAD_SUFFIXES = {"tables": (".csv",), "figures": (".png", ".svg")}
_TABLE_WRITE = re.compile(r"""["']tables["']\s*/\s*f?["']([^"'{}]+\.csv)["']""")


class BookError(CompendiumError, RuntimeError):
    """The book cannot be built; the message says what is missing or broken."""


def book_source_dir() -> Path:
    return build_dir() / "book-src"


def book_html_dir() -> Path:
    return build_dir() / "book" / "html"


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
    """The Jupyter Book configuration: offline, no execution, warnings are errors."""
    return {
        "title": pipeline.book.get("title", "Compendium"),
        "author": pipeline.book.get("author", ""),
        "copyright": pipeline.book.get("copyright", "2026"),
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "bibtex_bibfiles": ["references.bib"],
        "html": {
            "use_download_button": False,
            "use_repository_button": False,
            "home_page_in_navbar": True,
        },
        "launch_buttons": {"notebook_interface": "classic", "thebe": False},
        "sphinx": {
            "config": {
                "nb_execution_mode": "off",
                "numfig": True,
                "numfig_format": {"figure": "Figure %s", "table": "Table %s"},
                "bibtex_reference_style": "author_year",
                "html_show_sourcelink": False,
                "html_last_updated_fmt": "",
                "suppress_warnings": ["mystnb.unknown_mime_type"],
            }
        },
    }


# --------------------------------------------------------------------------- chapters


def figure_problems(nb: nbformat.NotebookNode, name: str) -> list[str]:
    """Figure cells without a caption that starts with a data tier, or with several images.

    Every code cell displaying an image must carry
    ``metadata.mystnb.figure.caption`` starting with ``published``, ``synthetic`` or
    ``user`` and a ``name`` (the label), and display exactly one image.
    """
    problems = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if not images:
            continue
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
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


def add_downloads(nb: nbformat.NotebookNode, name: str, folder: Path) -> nbformat.NotebookNode:
    """Link every table and figure of a chapter where it appears, and list all at the end.

    A table is linked after the cell whose code writes it (``"tables" / "x.csv"``); a
    figure after the cell that displays the saved PNG (matched by content). A closing
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
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        links = []
        written = [
            tables[t] for t in dict.fromkeys(_TABLE_WRITE.findall(cell.source)) if t in tables
        ]
        if written:
            links.append("Download: " + " · ".join(_link(name, t) for t in written))
        for output in cell.get("outputs", []):
            png = pngs.get(_png_digest(output) or "")
            if png is not None:
                links.append(_figure_links(name, png))
        if links:
            cells.append(nbformat.v4.new_markdown_cell("\n\n".join(links)))
    if files["tables"] or files["figures"]:
        lines = ["## Downloads", ""]
        lines += ["Every table (CSV) and figure (PNG and SVG) of this chapter's run.", ""]
        for sub, label in (("tables", "Tables"), ("figures", "Figures")):
            if files[sub]:
                lines.append(f"- {label}: " + " · ".join(_link(name, f) for f in files[sub]))
        cells.append(nbformat.v4.new_markdown_cell("\n".join(lines)))
    nb.cells = cells
    return nb


INJECTED_NOTE = (
    "*The values this chapter was run with, injected by the pipeline (papermill's "
    "`injected-parameters` cell; `output_dir` is the run folder). The cell above holds the "
    "defaults declared in `pipeline.yml`.*"
)


def annotate_parameters(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Put a short note before papermill's injected-parameters cell saying what it is."""
    cells = []
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cells.append(nbformat.v4.new_markdown_cell(INJECTED_NOTE))
        cells.append(cell)
    nb.cells = cells
    return nb


def _copy_chapter(name: str, target: Path) -> None:
    folder = pl.run_dir(name)
    executed = folder / f"{name}.ipynb"
    if not executed.is_file():
        raise BookError(
            f"notebook {name!r} has no executed run at {executed}; run `compendium run` first"
        )
    nb = nbformat.read(executed, as_version=4)
    problems = figure_problems(nb, name)
    if problems:
        raise BookError(f"{executed}: figures without a proper caption:\n" + "\n".join(problems))
    chapters = target / "chapters"
    downloads = chapters / name
    for sub in DOWNLOAD_SUFFIXES:
        if (folder / sub).is_dir():
            shutil.copytree(folder / sub, downloads / sub)
    chapter = annotate_parameters(add_downloads(nb, name, downloads))
    nbformat.write(chapter, chapters / f"{name}.ipynb")


def generated_page(page: str, pipeline: pl.Pipeline) -> str:
    """Markdown of a page generated at build time."""
    from analysis.compendium import bookpages

    return getattr(bookpages, f"{page}_page")(pipeline)


def _check_reproduction(pipeline: pl.Pipeline) -> None:
    from analysis.compendium import bookpages
    from analysis.core.reproduction import ReproductionError, assert_reproduced

    try:
        assert_reproduced(bookpages.reproduction_checks(pipeline))
    except ReproductionError as err:
        raise BookError(f"the book is not built: {err}") from None


def assemble(pipeline: pl.Pipeline) -> Path:
    """Write the book's sources into ``build/book-src`` (replacing any previous copy)."""
    from analysis.compendium import bookpages

    _check_reproduction(pipeline)
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
        path = target / f"{page}.md"
        if page in GENERATED_PAGES:
            path.write_text(generated_page(page, pipeline), encoding="utf-8")
        elif not path.exists():
            raise BookError(
                f"{pipeline.path}: book page {page!r} is neither in book/ nor generated"
            )
        text = path.read_text(encoding="utf-8")
        if STATUS_MARKER in text:
            summary = bookpages.status_summary(pipeline)
            path.write_text(text.replace(STATUS_MARKER, summary), encoding="utf-8")
    (target / "_toc.yml").write_text(yaml.safe_dump(toc(pipeline), sort_keys=False))
    (target / "_config.yml").write_text(yaml.safe_dump(config(pipeline), sort_keys=False))
    return target


def _warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]


def build_book(pipeline: pl.Pipeline) -> Path:
    """Assemble and build the HTML book; returns the path of its index page.

    Nothing is built when the book's cache key is unchanged (:mod:`.bookcache`); otherwise
    Sphinx's saved environment lets it re-read only the pages that changed.
    """
    from analysis.compendium import bookcache

    components = bookcache.book_components(pipeline)
    if bookcache.up_to_date(components, book_html_dir()):
        return book_html_dir() / "index.html"
    source = assemble(pipeline)
    if not (source / "references.bib").exists():
        raise BookError(f"{repo_root() / 'book'}: references.bib is missing")
    scratch = bookcache.work_dir()
    bookcache.sync_sources(source, scratch / "src")
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(scratch / "src"),
        "--path-output", str(scratch), "--warningiserror", "--keep-going", "--quiet",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    log = build_dir() / "book-build.log"
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        bookcache.forget()
        shown = "\n".join(_warnings(result.stdout + result.stderr)[:20]) or result.stderr[-2000:]
        raise BookError(f"jupyter-book build failed (full log: {log}):\n{shown}")
    html = book_html_dir()
    shutil.rmtree(html, ignore_errors=True)
    html.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(scratch / "_build" / "html", html)
    bookcache.record(components)
    return html / "index.html"


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
