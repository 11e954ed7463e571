"""The typology placed on the coded dimensions (read knowing the published answer, so not a
check; the check from the report's tables is tests/casestudy/test_casestudy_definitions.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.casestudy.evidence import load
from analysis.casestudy.framework import parse_scoring_map, score
from analysis.casestudy.typology import (
    classify,
    dimension_scores,
    threshold_ranges,
)

DATA = load()


def scored(spec: str = "linear", evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    evidence = DATA.evidence if evidence is None else evidence
    return score(evidence, parse_scoring_map(spec, DATA.codebook))


def typology(spec="linear", control=0.5, proactivity=0.5, evidence=None) -> dict[str, str]:
    dims = dimension_scores(scored(spec, evidence))
    result = classify(dims, control, proactivity)
    return dict(zip(result["site"], result["style"], strict=True))


# --------------------------------------------------------------------------- typology


def test_coded_dimensions_place_the_sites_as_published():
    published = dict(zip(DATA.typology["site"], DATA.typology["style"], strict=True))
    assert published == {
        "Expanding": "authoritative",
        "Embedded": "indulgent",
        "Struggling": "neglectful",
        "Small": "neglectful",
    }
    assert typology() == published


def test_changing_one_code_changes_the_classification():
    evidence = DATA.evidence.copy()
    row = (evidence["site"] == "Embedded") & (evidence["theme"] == "system_proactivity")
    evidence.loc[row, "code"] = "reactive"
    assert typology(evidence=evidence)["Embedded"] == "neglectful"
    evidence.loc[
        (evidence["site"] == "Small") & (evidence["theme"] == "control_over_members"), "code"
    ] = "monitored_conditions"
    assert typology(evidence=evidence)["Small"] == "authoritarian"


def test_thresholds_are_parameters_and_a_score_on_the_threshold_is_at_the_cut():
    assert typology(proactivity=0.7)["Embedded"] == "neglectful"
    # Embedded's coded proactivity is 2/3: exactly at the cut it is placed in neither level,
    # the QCA's crossover rule (Ragin), so its style is undetermined.
    assert typology(proactivity=2 / 3)["Embedded"] == "undetermined"
    dims = classify(dimension_scores(scored()), 0.5, 2 / 3).set_index("site")
    assert dims.loc["Embedded", "proactivity_level"] == "at the cut"
    assert dims.loc["Embedded", "control_level"] == "low"
    assert typology(proactivity=0.66)["Embedded"] == "indulgent"
    assert typology(control=0.0)["Embedded"] == "authoritative"
    assert typology("convex")["Embedded"] == "neglectful"
    with pytest.raises(ValueError, match="control_threshold"):
        typology(control=1.5)
    with pytest.raises(ValueError, match="proactivity_threshold"):
        typology(proactivity=float("nan"))


def test_classify_covers_all_four_quadrants():
    dims = pd.DataFrame(
        {
            "site": ["a", "b", "c", "d"],
            "control": [0.9, 0.1, 0.1, 0.9],
            "system_proactivity": [0.9, 0.9, 0.1, 0.1],
        }
    )
    styles = classify(dims, 0.5, 0.5)["style"].tolist()
    assert styles == ["authoritative", "indulgent", "neglectful", "authoritarian"]


def test_threshold_ranges_by_hand():
    dims = dimension_scores(scored())
    ranges = threshold_ranges(dims, DATA.typology).set_index("dimension")
    # control: published high = Expanding (1); lows = 1/3, 0, 0 -> cuts strictly inside (1/3, 1)
    assert ranges.loc["control", "lowest"] == pytest.approx(1 / 3)
    assert ranges.loc["control", "below"] == pytest.approx(1.0)
    # proactivity: highs = Expanding 1, Embedded 2/3; lows = 0, 1/3 -> (1/3, 2/3)
    assert ranges.loc["system_proactivity", "lowest"] == pytest.approx(1 / 3)
    assert ranges.loc["system_proactivity", "below"] == pytest.approx(2 / 3)
    assert ranges["reproducible"].all()
    convex = threshold_ranges(dimension_scores(scored("convex")), DATA.typology)
    assert convex.set_index("dimension").loc["system_proactivity", "below"] == pytest.approx(4 / 9)


def test_dimension_without_a_score_is_an_error():
    evidence = DATA.evidence.copy()
    codebook = DATA.codebook.copy()
    extra = pd.DataFrame(
        [{"theme": "system_proactivity", "code": "unclear", "rank": pd.NA, "meaning": "unclear"}]
    )
    codebook = pd.concat([codebook, extra], ignore_index=True)
    evidence.loc[
        (evidence["site"] == "Small") & (evidence["theme"] == "system_proactivity"), "code"
    ] = "unclear"
    table = score(evidence, parse_scoring_map("linear", codebook))
    with pytest.raises(ValueError, match="typology: codes without a score .*Small"):
        dimension_scores(table)
