"""Every passage the findings register, the passage comparisons and the no-data items quote is
in the source document at the lines they cite (skipped without the source documents).

This is what makes a finding's evidence checkable: both sides are verbatim transcriptions,
each found again here at its own lines, never a paraphrase the compendium typed.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis.core import findings as fd
from analysis.core import verdicts as vd
from analysis.core.provenance import excerpt_found
from analysis.paths import sources_dir


def _root():
    root = sources_dir()
    if not root.exists():
        pytest.skip(f"source documents not found at {root}")
    return root


def _quotes(frame: pd.DataFrame, sides: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    out = []
    for row in frame.to_dict("records"):
        for side in sides:
            excerpt, lines = row[f"excerpt{side}"], row[f"lines{side}"]
            if isinstance(excerpt, str) and excerpt:
                out.append((row["source_file"], str(lines), excerpt, f"{side or 'excerpt'}"))
    return out


def _missing(quotes, root):
    return [q for q in quotes if not excerpt_found(q[2], q[0], q[1], root)]


def test_findings_register_quotes_both_passages_verbatim():
    root = _root()
    register = fd.read_findings()
    quotes = _quotes(register, ("_a", "_b"))
    # Quotations in the notes that name their line: 'text' (line N).
    for row in register.to_dict("records"):
        for text, line in re.findall(r"'([^']{12,})' \(line (\d+)", row["note"]):
            quotes.append((row["source_file"], line, text, "note"))
    assert len(quotes) >= 2 * len(register)
    assert _missing(quotes, root) == []


def test_passage_comparisons_quote_each_passage_verbatim():
    root = _root()
    passages = fd.read_passages()
    quotes = _quotes(passages.rename(columns={"location_a": "location"}), ("_a", "_b"))
    assert len(quotes) > len(passages)
    assert _missing(quotes, root) == []


def test_items_with_no_data_quote_their_lines():
    root = _root()
    items = vd.read_no_data_items()
    quotes = [(r.source_file, r.lines, r.excerpt, r.item) for r in items.itertuples(index=False)]
    assert _missing(quotes, root) == []


def test_a_changed_quotation_is_caught():
    root = _root()
    row = fd.read_findings().set_index("finding").loc["atmedics-practices"]
    assert excerpt_found(row["excerpt_a"], row["source_file"], row["lines_a"], root)
    assert not excerpt_found(
        row["excerpt_a"].replace("26", "20"), row["source_file"], row["lines_a"], root
    )
    # and at the wrong line
    assert not excerpt_found(row["excerpt_a"], row["source_file"], "199", root)
