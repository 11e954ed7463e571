"""The Nuffield Table 2 matrix, member practices over time and the spectrum of forms."""

from __future__ import annotations

import pytest

from analysis.casestudy.evidence import load
from analysis.casestudy.nuffield import (
    FORMS,
    NUFFIELD_ORGS,
    nuffield_forms,
    nuffield_matrix,
    nuffield_practices,
)

DATA = load()


# --------------------------------------------------------------------------- Nuffield


def test_nuffield_practices_parse_counts_and_years():
    practices = nuffield_practices(DATA.nuffield)
    lookup = practices.set_index(["organisation", "year"])["practices"]
    assert lookup[("AT Medics", 2004)] == 1
    assert lookup[("AT Medics", 2016)] == 20
    assert lookup[("GP Care", 2016)] == 100
    assert lookup[("Harness Healthcare", 2014)] == lookup[("Harness Healthcare", 2016)] == 21
    assert lookup[("Modality Partnership", 2008)] == 2
    assert len(practices) == 12


def test_nuffield_practice_item_that_does_not_parse_is_named():
    bad = DATA.nuffield.copy()
    row = (bad["attribute"] == "practices") & (bad["organisation"] == "GP Care")
    bad.loc[row & (bad["item"] == 1), "value"] = "eighty"
    with pytest.raises(ValueError, match="GP Care: practices item 'eighty'"):
        nuffield_practices(bad)


def test_nuffield_organisations_on_the_spectrum_of_forms():
    placed = nuffield_forms(DATA.nuffield, DATA.forms).set_index("organisation")
    assert placed.loc["AT Medics", "form"] == "multisite"
    assert placed.loc["Modality Partnership", "form"] == "super-partnership"
    assert placed.loc["GP Care", "form"] == placed.loc["Harness Healthcare", "form"] == "federation"
    assert list(DATA.forms.sort_values("tightness")["form"]) == list(FORMS)
    matrix = nuffield_matrix(DATA.nuffield).set_index("attribute")
    assert list(matrix.columns) == list(NUFFIELD_ORGS)
    assert matrix.loc["list_size", "Modality Partnership"] == "87,556 patients"
    assert matrix.loc["practices", "GP Care"] == "80 (2008); 100 (April 2016)"
