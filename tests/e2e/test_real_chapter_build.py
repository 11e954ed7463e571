"""The REAL networks chapter as the session's pipeline build made it (no second execution):
its sentences against its written tables, its labels, its scale."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analysis.core.sentences import check_sentences

pytestmark = pytest.mark.e2e
NAME = "networks_real"


@pytest.fixture(scope="module")
def run(real_build):
    return real_build / "runs" / NAME / "default"


def _tables(run) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p) for p in sorted((run / "tables").glob("*.csv"))}


def test_every_sentence_is_its_tables_cells(run):
    tables = _tables(run)
    sentences = tables.pop("sentences")
    assert check_sentences(sentences, tables) == []
    keys = set(sentences["key"])
    assert {"membership", "turnover", "levels_table", "levels_groups", "variation_groups"} <= keys
    assert {"associations_pcn_table", "trends", "trend_size"} <= keys
    # a changed cell is caught: the check reads the table, not the sentence
    changed = dict(tables)
    changed["turnover"] = tables["turnover"].assign(
        changed_pcn=tables["turnover"]["changed_pcn"] + 1
    )
    assert any("turnover" in problem for problem in check_sentences(sentences, changed))


def test_every_table_is_labelled_real_and_the_scale_is_englands(run):
    tables = _tables(run)
    for name, table in tables.items():
        if name != "sentences":
            assert (table["data_tier"] == "REAL").all(), name
    levels = tables["levels"]
    table_pcns = levels.loc[levels["source"] == "pcn_table", "organisation_id"].nunique()
    assert table_pcns == 1263  # every PCN of the table (the no-PCN row U is England's only)
    assert levels.loc[levels["source"] == "pcn_table", "indicator_id"].nunique() == 70
    assert levels.loc[levels["source"] == "cvd_groups", "indicator_id"].nunique() == 8
    assert len(tables["membership_years"]) == 5
    sources = " ".join(tables["sources"]["publisher_and_derivation"])
    for derived_by in (
        "wylie102/QOF-visualisation",
        "blackwellrd/display_nearest_neighbour_data",
        "HealthEquityEvidenceCentre/HEEC",
    ):
        assert derived_by in sources


def test_the_chapter_says_real_derived_and_labels_its_figures(run):
    executed = json.loads((run / f"{NAME}.ipynb").read_text())
    text = "\n".join(
        "".join(c["source"]) for c in executed["cells"] if c["cell_type"] == "markdown"
    )
    assert "**REAL data, derived by third parties.**" in text
    assert "Open Government Licence v3.0" in text and "**It is not a reproduction**" in text
    captions = [
        c["metadata"]["mystnb"]["figure"]["caption"]
        for c in executed["cells"]
        if "mystnb" in c.get("metadata", {})
    ]
    assert len(captions) == 5
    assert all(c.startswith("Real:") and "Open Government" in c for c in captions)
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert max(len("".join(c["source"]).splitlines()) for c in code) <= 30
