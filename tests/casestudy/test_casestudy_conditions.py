"""QCA input: crisp sets from the scored codes and the QCA parameters."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.casestudy.conditions import check_qca_parameters, crisp_sets
from analysis.casestudy.evidence import load
from analysis.casestudy.framework import parse_scoring_map, score

DATA = load()


def scored(spec: str = "linear", evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    evidence = DATA.evidence if evidence is None else evidence
    return score(evidence, parse_scoring_map(spec, DATA.codebook))


# --------------------------------------------------------------------------- QCA input


def test_crisp_sets_use_a_strict_threshold():
    crisp = crisp_sets(scored(), ["history", "iagp_outcome", "competition_for_members"], 0.5)
    assert crisp.loc["Expanding", "history"] == 0  # some_prior scores exactly 0.5
    assert crisp.loc["Embedded", "history"] == 1
    assert list(crisp["iagp_outcome"]) == [1, 1, 0, 0]
    assert list(crisp["competition_for_members"]) == [1, 0, 0, 1]
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
