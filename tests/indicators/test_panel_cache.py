"""The stored panel's observations are parsed and validated once, then read from Parquet."""

from __future__ import annotations

import pandas as pd

from analysis.indicators.sources import panel, panelfiles


def test_stored_panel_is_validated_once_then_read_from_parquet(tmp_path, monkeypatch):
    """The real synthetic observations: same frame from the cache, validation not repeated."""
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "build"))
    calls = []
    real = panelfiles.validate_observations

    def counting(frame, catalogue, name, unit):
        calls.append(name)
        return real(frame, catalogue, name=name, unit=unit)

    monkeypatch.setattr(panelfiles, "validate_observations", counting)
    catalogue = panel.read_catalogue()
    path = panel.synthetic_dir() / "observations.csv.gz"
    first = panel.read_observations(path, catalogue)
    second = panel.read_observations(path, catalogue)
    assert len(calls) == 1
    pd.testing.assert_frame_equal(first, second)
    assert len(list((tmp_path / "build" / "cache").glob("*.parquet"))) == 1
