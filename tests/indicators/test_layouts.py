"""Reading a published CSV as text (analysis.indicators.sources.layouts.read_text_table)."""

from __future__ import annotations

import gzip

import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources.layouts import read_text_table


def test_rows_ending_in_a_delimiter_keep_every_column_in_place(tmp_path):
    # Without care pandas makes the first column the index and shifts the rest left.
    path = tmp_path / "qof.csv"
    path.write_text('code,name,points\nA81001,The Practice,512,\nA81002,"Other, Ltd",498,\n')
    frame = read_text_table(path)
    assert list(frame.columns) == ["code", "name", "points"]
    assert frame.to_dict("list") == {
        "code": ["A81001", "A81002"],
        "name": ["The Practice", "Other, Ltd"],
        "points": ["512", "498"],
    }
    assert frame.index.tolist() == [0, 1]


def test_a_value_beyond_the_header_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "qof.csv.gz"
    text = 'code,name\nA81001,"two\nlines"\nA81002,Other,512\n'
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError) as raised:
        read_text_table(path)
    message = str(raised.value)
    assert message == (
        f"{path}: line 4: 3 fields but the header has 2; expected one value per column"
    )
