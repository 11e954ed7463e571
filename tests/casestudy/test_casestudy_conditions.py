"""QCA input: crisp sets from the scored codes and the QCA parameters."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.casestudy.conditions import (
    check_qca_parameters,
    crisp_sets,
    identical_sets,
    membership_scores,
    split_ambiguous,
)
from analysis.casestudy.evidence import load
from analysis.casestudy.framework import parse_scoring_map, score

DATA = load()


def scored(spec: str = "linear", evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    evidence = DATA.evidence if evidence is None else evidence
    return score(evidence, parse_scoring_map(spec, DATA.codebook))


# --------------------------------------------------------------------------- QCA input


def test_crisp_sets_leave_a_score_at_the_crossover_out():
    crisp = crisp_sets(scored(), ["history", "iagp_outcome", "competition_for_members"], 0.5)
    assert pd.isna(crisp.loc["Expanding", "history"])  # some_prior scores exactly 0.5
    assert crisp.loc["Embedded", "history"] == 1
    assert crisp["iagp_outcome"].tolist()[:3] == [1, 1, 0]
    assert pd.isna(crisp.loc["Small", "iagp_outcome"])  # partner bid only: 0.5
    assert list(crisp["competition_for_members"]) == [1, 0, 0, 1]
    assert crisp_sets(scored(), ["history"], 0.4).loc["Expanding", "history"] == 1
    assert crisp_sets(scored(), ["history"], 0.6).loc["Expanding", "history"] == 0
    with pytest.raises(ValueError, match="qca: codes without a score.*Struggling"):
        crisp_sets(scored(), ["temporal_focus"], 0.5)
    with pytest.raises(ValueError, match="qca_threshold"):
        crisp_sets(scored(), ["history"], -0.1)


def test_qca_parameters_are_validated():
    assert check_qca_parameters("financial_stability", ["money"]) == ["money"]
    with pytest.raises(ValueError, match="qca_outcome: 'services_won'"):
        check_qca_parameters("services_won", ["money"])
    with pytest.raises(ValueError, match="qca_conditions: unknown value.*iagp_outcome"):
        check_qca_parameters("financial_stability", ["iagp_outcome"])


def test_split_ambiguous_keeps_complete_cases_and_records_the_rest():
    columns = ["ccg_relationship", "leadership_management", "iagp_outcome"]
    crisp = crisp_sets(scored(), columns, 0.5)
    kept, excluded = split_ambiguous(crisp, membership_scores(scored(), columns))
    assert list(kept.index) == ["Embedded", "Struggling"]
    assert kept.dtypes.map(str).eq("int64").all()
    pairs = set(zip(excluded["case"], excluded["set"], strict=True))
    assert pairs == {
        ("Expanding", "ccg_relationship"),
        ("Small", "ccg_relationship"),
        ("Small", "iagp_outcome"),
    }
    assert (excluded["score"] == 0.5).all()


def test_identical_sets_are_found_including_complements():
    crisp = pd.DataFrame(
        {"a": [1, 0, 1], "b": [1, 0, 1], "c": [0, 1, 0], "d": [1, 1, 0]},
        index=["x", "y", "z"],
    )
    groups = identical_sets(crisp)
    assert groups["sets"].tolist() == ["a; b; ~c"]
    assert identical_sets(crisp[["a", "d"]]).empty
