"""A validated table read once, then from its Parquet copy (analysis.core.fastcache)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core import fastcache
from analysis.core.datasets import DataError


class CountingReader:
    """A real CSV reader that validates (no negative values) and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path):
        self.calls += 1
        frame = pd.read_csv(path, dtype={"code": "category", "value": "int64"})
        if (frame["value"] < 0).any():
            raise DataError(f"{path}: negative value")
        return frame


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("code,value\nA,1\nB,2\nA,3\n")
    return path


def test_second_read_comes_from_the_cache_with_the_same_frame(tmp_path, table):
    reader, folder = CountingReader(), tmp_path / "cache"
    first = fastcache.cached_read(table, reader, folder=folder)
    second = fastcache.cached_read(table, reader, folder=folder)
    assert reader.calls == 1
    pd.testing.assert_frame_equal(first, second)
    assert second["code"].dtype == "category"
    [entry] = folder.glob("*.parquet")
    assert entry.stem == fastcache.cache_key(table, reader)
    assert len(entry.stem) == 64


def test_changed_bytes_or_extra_inputs_miss(tmp_path, table):
    reader, folder = CountingReader(), tmp_path / "cache"
    fastcache.cached_read(table, reader, folder=folder)
    table.write_text("code,value\nA,1\nB,2\nA,4\n")
    changed = fastcache.cached_read(table, reader, folder=folder)
    assert reader.calls == 2 and changed["value"].tolist() == [1, 2, 4]
    fastcache.cached_read(table, reader, extra=[pd.DataFrame({"x": [1]})], folder=folder)
    fastcache.cached_read(table, reader, extra=[pd.DataFrame({"x": [1]})], folder=folder)
    fastcache.cached_read(table, reader, extra=[pd.DataFrame({"x": [2]})], folder=folder)
    assert reader.calls == 4
    assert len(list(folder.glob("*.parquet"))) == 4


def test_invalid_file_raises_and_leaves_no_entry(tmp_path, table):
    table.write_text("code,value\nA,-1\n")
    folder = tmp_path / "cache"
    with pytest.raises(DataError, match="negative value"):
        fastcache.cached_read(table, CountingReader(), folder=folder)
    assert not list(folder.glob("*")) if folder.exists() else True


def test_damaged_entry_is_read_again_and_replaced(tmp_path, table):
    reader, folder = CountingReader(), tmp_path / "cache"
    fastcache.cached_read(table, reader, folder=folder)
    [entry] = folder.glob("*.parquet")
    entry.write_bytes(b"not parquet")
    frame = fastcache.cached_read(table, reader, folder=folder)
    assert reader.calls == 2 and frame["value"].tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(pd.read_parquet(entry), frame)
