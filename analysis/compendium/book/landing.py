"""The landing page's list of chapters, generated from ``pipeline.yml``.

Every notebook of the pipeline is a chapter; the landing page lists each one (in pipeline
order, so a new chapter appears without editing the page) with the question it asks, read
from the opening of its notebook, and the kinds of data it rests on, read from its declared
inputs and the data catalogue.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from analysis.compendium import pipeline as pl
from analysis.paths import repo_root

CHAPTERS_MARKER = "<!-- compendium:chapters -->"
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z*])")
# Cross-references relative to the chapter (a document, a figure) mean nothing on the landing
# page: they become their text; citations and glossary terms resolve anywhere and stay.
_LOCAL_ROLE = re.compile(r"\{(?:doc|ref|numref|eq|download)\}`([^`<]*?)\s*(?:<([^>]*)>)?`")


def _opening(path: Path) -> str:
    """The question a chapter asks: the first sentence ending in ``?`` of its opening
    Markdown cell, else the first sentence of its first plain paragraph."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return ""
    markdown = next((c for c in cells if c.get("cell_type") == "markdown"), None)
    if markdown is None:
        return ""
    source = markdown.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    text = _LOCAL_ROLE.sub(lambda m: m.group(1) or m.group(2) or "", text)
    paragraphs = [
        " ".join(p.split())
        for p in text.split("\n\n")
        if p.strip() and not p.lstrip().startswith(("#", "**", "```", ":::"))
    ]
    sentences = [s for p in paragraphs for s in _SENTENCE.split(p)]
    question = next((s for s in sentences if s.endswith("?")), None)
    found = question or (sentences[0] if sentences else "")
    return found if len(found) <= 170 else found[:160].rsplit(" ", 1)[0] + " …"


def _data(notebook: pl.Notebook, tiers: dict[str, str]) -> str:
    kinds: dict[str, None] = {}
    for ref in notebook.inputs:
        if ":" in ref:
            kinds[f"results of {{doc}}`/chapters/{ref.split(':', 1)[0]}`"] = None
        elif ref.removeprefix("data/") in tiers:  # (mappings and settings are not data)
            kinds[tiers[ref.removeprefix("data/")]] = None
    for sweep in notebook.sweeps:
        kinds[f"the `{sweep}` sweep (synthetic replications)"] = None
    return ", ".join(kinds) or "none"


def chapters_table(pipeline: pl.Pipeline) -> str:
    """A Markdown table of every chapter: link, question and kinds of data."""
    from analysis.compendium.book.markdown import markdown_table
    from analysis.core import catalogue

    tiers = {ds.path: ds.tier for ds in catalogue.load()}
    rows = []
    for name in pipeline.order():
        notebook = pipeline.notebook(name)
        rows.append(
            [
                f"{{doc}}`/chapters/{name}`",
                _opening(repo_root() / notebook.source),
                _data(notebook, tiers),
            ]
        )
    frame = pd.DataFrame(rows, columns=["Chapter", "What it asks", "Data it rests on"])
    return markdown_table(frame)
