"""Result sentences of a chapter's run, pasted into a hand-written book page.

A page marks the place with ``<!-- compendium:sentences NOTEBOOK PREFIX -->``; at build time
the marker becomes the sentences whose key starts with ``PREFIX``, read from the notebook's
default run (``tables/sentences.csv``, each sentence built from the table cells it cites and
checked against them by the tests). So a page can state a chapter's result without typing
it, and it changes when the result does.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import pandas as pd

from analysis.compendium import pipeline as pl
from analysis.errors import CompendiumError
from analysis.markup import neutralise_markdown

MARKER = re.compile(r"<!-- compendium:sentences ([a-z][a-z0-9_]*) (\S+) -->")


class SentencesError(CompendiumError, RuntimeError):
    """A page asks for sentences that the named run does not have."""


def paste_sentences(text: str, notebooks: Collection[str]) -> str:
    """``text`` with every sentences marker replaced by the sentences it names.

    A marker naming a notebook that is not among the pipeline's ``notebooks`` (a pipeline
    made of some chapters only) becomes a line saying so; a declared notebook without its
    sentences stops the build.
    """

    def sentences(match: re.Match) -> str:
        notebook, prefix = match.groups()
        if notebook not in notebooks:
            return f"*(The results of notebook `{notebook}` go here; it is not in this pipeline.)*"
        path = pl.run_dir(notebook) / "tables" / "sentences.csv"
        if not path.is_file():
            raise SentencesError(
                f"{path}: no sentences of notebook {notebook!r} to paste into the book; "
                f"run `compendium run {notebook}` first"
            )
        frame = pd.read_csv(path, keep_default_na=False).drop_duplicates("key")
        chosen = frame.loc[frame["key"].str.startswith(prefix), "text"]
        if chosen.empty:
            raise SentencesError(f"{path}: no sentence whose key starts with {prefix!r}")
        return neutralise_markdown("\n\n".join(chosen), keep_code=True)

    return MARKER.sub(sentences, text)
