"""A chapter's result sentences pasted into a hand-written page at build time."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.compendium import pipeline as pl
from analysis.compendium.book.sentences import SentencesError, paste_sentences
from analysis.core.sentences import Sentences


def test_marker_becomes_the_runs_sentences(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    said = Sentences({"t": pd.DataFrame({"k": ["a", "b"], "v": [3, 4]})})
    said.add("choice_a", "Option a has {v} <b>.", v=said.cite("t", "v", k="a"))
    said.add("choice_b", "Option `b` has {v}.", v=said.cite("t", "v", k="b"))
    said.add("other", "Not pasted {v}.", v=said.cite("t", "v", k="b"))
    folder = pl.run_dir("chapter") / "tables"
    folder.mkdir(parents=True)
    said.frame().to_csv(folder / "sentences.csv", index=False)
    page = "Before.\n\n<!-- compendium:sentences chapter choice_ -->\n\nAfter."
    declared = ["chapter", "absent"]
    assert paste_sentences(page, declared) == (
        "Before.\n\nOption a has 3 &lt;b>.\n\nOption `b` has 4.\n\nAfter."
    )
    assert paste_sentences("no marker", declared) == "no marker"
    with pytest.raises(SentencesError, match=r"no sentence whose key starts with 'nope'"):
        paste_sentences("<!-- compendium:sentences chapter nope -->", declared)
    with pytest.raises(SentencesError, match=r"no sentences of notebook 'absent'.*compendium run"):
        paste_sentences("<!-- compendium:sentences absent choice_ -->", declared)


def test_a_marker_for_a_notebook_outside_the_pipeline_says_so():
    text = paste_sentences("<!-- compendium:sentences simulation choice_ -->", ["chapter"])
    assert text == "*(The results of notebook `simulation` go here; it is not in this pipeline.)*"
