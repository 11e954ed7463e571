"""The book as one PDF with an outline: ``make pdf``.

A single-page HTML build of the book's sources (``build/book-src``) is printed by Debian's
Chromium with ``--generate-pdf-document-outline``, which turns the book's headings into the
PDF's bookmarks. The print styles of ``book/_static/compendium.css`` open every collapsed
table, show each figure's wide version and leave out download links. :func:`outline` reads
the bookmarks back (Chromium writes plain, uncompressed outline objects), for the tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from analysis.compendium.book.build import JUPYTER_BOOK
from analysis.compendium.book.collect import BookError, book_source_dir
from analysis.paths import build_dir

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-pdf-header-footer", "--virtual-time-budget=30000",
    "--generate-pdf-document-outline",
)  # fmt: skip


def chromium() -> str:
    """The Chromium to print with: ``$CHROMIUM``, else ``chromium`` on the PATH."""
    found = shutil.which(os.environ.get("CHROMIUM", "chromium"))
    if not found:
        raise BookError("chromium not found: apt-get install chromium, or set $CHROMIUM")
    return found


def single_page(source: Path, output: Path) -> Path:
    """Build the single-page HTML of the book's sources into ``output``; its index page."""
    command = [
        sys.executable, "-c", JUPYTER_BOOK, "build", str(source), "--builder", "singlehtml",
        "--path-output", str(output), "--quiet",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BookError(f"single-page build failed: {result.stderr[-2000:]}")
    return output / "_build" / "singlehtml" / "index.html"


def print_pdf(page: Path, pdf: Path, *, timeout: float = 600) -> Path:
    """Print ``page`` to ``pdf`` with Chromium, with the document outline."""
    pdf.parent.mkdir(parents=True, exist_ok=True)
    command = [chromium(), *CHROMIUM_FLAGS, f"--print-to-pdf={pdf}", page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0 or not pdf.is_file():
        raise BookError(f"chromium could not print {page}: {result.stderr[-1000:]}")
    return pdf


def _objects(data: bytes) -> dict[int, bytes]:
    return {
        int(m.group(1)): m.group(2)
        for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)\s*endobj", data, flags=re.S)
    }


def _title(body: bytes) -> str:
    hexa = re.search(rb"/Title\s*<([0-9A-Fa-f\s]*)>", body)
    if hexa:
        raw = bytes.fromhex(hexa.group(1).decode().replace(" ", ""))
        return raw[2:].decode("utf-16-be") if raw[:2] == b"\xfe\xff" else raw.decode("latin-1")
    literal = re.search(rb"/Title\s*\((.*?)(?<!\\)\)", body, flags=re.S)
    if not literal:
        return ""
    text = re.sub(rb"\\([()\\])", rb"\1", literal.group(1))
    return text.decode("latin-1")


def outline(pdf: Path) -> list[tuple[int, str]]:
    """The PDF's bookmarks as ``(depth, title)`` in document order (empty without any)."""
    data = pdf.read_bytes()
    objects = _objects(data)
    root = re.search(rb"/Outlines\s+(\d+)\s+0\s+R", data)
    if not root or int(root.group(1)) not in objects:
        return []

    def ref(body: bytes, key: bytes) -> int | None:
        found = re.search(rb"/" + key + rb"\s+(\d+)\s+0\s+R", body)
        return int(found.group(1)) if found else None

    entries: list[tuple[int, str]] = []

    def walk(first: int | None, depth: int) -> None:
        seen = set()
        while first is not None and first in objects and first not in seen:
            seen.add(first)
            body = objects[first]
            entries.append((depth, _title(body)))
            walk(ref(body, b"First"), depth + 1)
            first = ref(body, b"Next")

    walk(ref(objects[int(root.group(1))], b"First"), 0)
    return entries


def make_pdf() -> Path:
    """``make pdf``: the single-page build of ``build/book-src`` printed to
    ``build/book/book.pdf``; returns its path."""
    source = book_source_dir()
    if not source.is_dir():
        raise BookError(f"{source} is missing: run `compendium book` first")
    folder = build_dir() / "book" / "print"
    shutil.rmtree(folder, ignore_errors=True)
    page = single_page(source, folder)
    return print_pdf(page, build_dir() / "book" / "book.pdf")


if __name__ == "__main__":
    from analysis.errors import CompendiumError

    try:
        written = make_pdf()
    except CompendiumError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    bookmarks = outline(written)
    print(f"PDF written: {written} ({len(bookmarks)} bookmarks)")
