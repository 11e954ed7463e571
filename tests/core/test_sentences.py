"""Sentences stating results are their tables' cells, and the check notices when they are not."""

import io

import pandas as pd
import pytest

from analysis.core.sentences import SentenceError, Sentences, check_sentences


def tables():
    return {
        "summary": pd.DataFrame(
            {"domain": ["qof", "prescribing"], "better": [12, 3], "share": [0.2449, 0.5]}
        ),
        "one": pd.DataFrame({"icc": [0.3412]}),
    }


def test_sentence_is_built_from_cells_and_round_trips_through_csv():
    said = Sentences(tables())
    text = said.add(
        "qof",
        "{n} QOF indicators ({share}) are better; ICC {icc}.",
        n=said.cite("summary", "better", domain="qof"),
        share=said.cite("summary", "share", format=".1%", domain="qof"),
        icc=said.cite("one", "icc", format=".2f"),
    )
    assert text == "12 QOF indicators (24.5%) are better; ICC 0.34."
    # written and read back as the pipeline does: every number agrees with its table
    written = pd.read_csv(io.StringIO(said.frame().to_csv(index=False)))
    assert check_sentences(written, tables()) == []


def test_a_changed_table_value_is_caught():
    said = Sentences(tables())
    said.add("p", "{n} better.", n=said.cite("summary", "better", domain="prescribing"))
    changed = tables()
    changed["summary"].loc[1, "better"] = 4
    problems = check_sentences(said.frame(), changed)
    assert len(problems) == 1 and "shows '3'" in problems[0] and "'4'" in problems[0]


def test_a_text_edited_after_the_fact_is_caught():
    said = Sentences(tables())
    said.add("p", "{n} better.", n=said.cite("summary", "better", domain="prescribing"))
    frame = said.frame()
    frame.loc[0, "text"] = "5 better."
    assert check_sentences(frame, tables()) == ["sentence 'p' does not contain '3'"]


def test_bad_citations_are_refused():
    said = Sentences(tables())
    with pytest.raises(SentenceError, match="no table 'missing'"):
        said.cite("missing", "better")
    with pytest.raises(SentenceError, match="2 rows"):
        said.cite("summary", "better")
    with pytest.raises(SentenceError, match="needs a format"):
        said.cite("summary", "share", domain="qof")
    with pytest.raises(SentenceError, match="placeholders"):
        said.add("x", "{a} and {b}", a=said.cite("one", "icc", format=".2f"))
