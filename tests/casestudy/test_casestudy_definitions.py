"""The typology derived from the report's definitions and Tables 5 and 6: hand-computed
scores, the finding on Embedded, stability ranges, and flips when a published cell changes."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.casestudy.definitions import (
    definition_checks,
    definition_scores,
    reproducing_thresholds,
    stability,
)
from analysis.casestudy.evidence import load
from analysis.casestudy.typology import classify

DATA = load()


def styles(table5=None, evidence=None, c=0.5, p=0.5, **options) -> dict[str, str]:
    dims = definition_scores(
        DATA.table5 if table5 is None else table5,
        DATA.evidence if evidence is None else evidence,
        **options,
    )
    out = classify(dims[["site", "control", "system_proactivity"]], c, p)
    return dict(zip(out["site"], out["style"], strict=True))


def with_cell(aspect: str, site: str, value: str) -> pd.DataFrame:
    table5 = DATA.table5.copy()
    table5.loc[(table5["aspect"] == aspect) & (table5["site"] == site), "value"] = value
    return table5


def test_scores_follow_the_stated_rule_by_hand():
    dims = definition_scores(DATA.table5, DATA.evidence).set_index("site")
    # Embedded: temporal 'Short to medium term' 1/2, spatial 'Local' 0, proactivity 2/3
    assert dims.loc["Embedded", "system_proactivity"] == pytest.approx((0.5 + 0 + 2 / 3) / 3)
    assert dims.loc["Embedded", "system_proactivity"] == pytest.approx(0.3889, abs=1e-4)
    # Struggling: divergent views score halfway on both horizons, passive 0
    assert dims.loc["Struggling", "system_proactivity"] == pytest.approx(1 / 3)
    # Small: short term 0, local 0, passive/reactive 1/3; rules left unenforced 0.5
    assert dims.loc["Small", "system_proactivity"] == pytest.approx(1 / 9)
    assert dims.loc["Small", "control"] == 0.5
    assert dims.loc["Expanding", ["control", "system_proactivity"]].tolist() == [1.0, 1.0]
    horizons = definition_scores(DATA.table5, DATA.evidence, rule="horizons").set_index("site")
    assert horizons.loc["Embedded", "system_proactivity"] == pytest.approx(0.25)
    both = definition_scores(DATA.table5, DATA.evidence, rule="both").set_index("site")
    assert both.loc["Struggling", "system_proactivity"] == 0.0


def test_the_reports_own_definition_makes_embedded_neglectful_not_indulgent():
    assert styles() == {
        "Expanding": "authoritative",
        "Embedded": "neglectful",
        "Struggling": "neglectful",
        "Small": "neglectful",
    }
    checks = {
        c.check_id: c
        for c in definition_checks(
            classify(
                definition_scores(DATA.table5, DATA.evidence)[
                    ["site", "control", "system_proactivity"]
                ]
            ),
            DATA.typology,
            "Tables 5 and 6",
        )
    }
    assert checks["cs_typology_embedded"].status == "mismatch"
    assert checks["cs_typology_embedded"].published == "indulgent"
    assert all(c.kind == "consistency" and not c.must_match for c in checks.values())
    assert checks["cs_typology_authoritarian_count"].status == "match"
    # the published style comes back only for thresholds in [1/3, 0.389)
    assert styles(p=0.35)["Embedded"] == "indulgent"
    assert styles(p=1 / 3)["Embedded"] == "indulgent"
    assert styles(p=0.3)["Struggling"] == "indulgent"


def test_changing_one_table5_cell_flips_the_classification():
    wider = with_cell("Spatial focus", "Embedded", "System wide")
    assert styles(wider)["Embedded"] == "indulgent"  # (1/2 + 1 + 2/3) / 3 = 0.72
    narrower = with_cell("Proactivity", "Expanding", "Passive")
    assert styles(narrower)["Expanding"] == "authoritative"  # (1 + 1 + 0) / 3 = 0.67: still high
    narrower = with_cell("Temporal focus", "Expanding", "Short term")
    narrower.loc[
        (narrower["aspect"] == "Spatial focus") & (narrower["site"] == "Expanding"), "value"
    ] = "Local"
    assert styles(narrower)["Expanding"] == "authoritarian"  # (0 + 0 + 1) / 3 = 0.33


def test_changing_the_directing_reading_moves_control():
    evidence = DATA.evidence.copy()
    where = (evidence["site"] == "Small") & (evidence["theme"] == "directing")
    assert styles(c=0.49)["Small"] == "authoritarian"  # control 0.5 sits on the threshold
    evidence.loc[where, "code"] = "no_constraining_directives"
    assert styles(evidence=evidence, c=0.49)["Small"] == "neglectful"


def test_stability_table_and_reproducing_thresholds():
    stable = stability(DATA.table5, DATA.evidence, DATA.typology)
    assert len(stable) == 3 * 3 * 3 * 4
    ranges = reproducing_thresholds(stable).set_index(["scoring_map", "rule", "divergent"])
    row = ranges.loc[("linear", "mean", "midpoint")]
    assert row["p_from"] == pytest.approx(1 / 3) and row["p_below"] == pytest.approx(7 / 18)
    assert row["c_from"] == 0.5 and row["c_below"] == 1.0 and row["reproducible"]
    assert row["sites_agreeing"] == 3
    # with divergent views scored as the wider leader's, Struggling outranks Embedded
    assert not ranges.loc[("linear", "mean", "wider"), "reproducible"]
    concave = stable[(stable["scoring_map"] == "concave") & (stable["rule"] == "mean")]
    assert (
        concave.set_index(["divergent", "site"]).loc[("midpoint", "Embedded"), "style"]
        == "indulgent"
    )


def test_bad_options_and_cells_are_named():
    with pytest.raises(ValueError, match="typology rule: 'median'"):
        definition_scores(DATA.table5, DATA.evidence, rule="median")
    with pytest.raises(ValueError, match="typology divergent"):
        definition_scores(DATA.table5, DATA.evidence, divergent="both")
    bad = with_cell("Proactivity", "Small", "Very busy")
    with pytest.raises(ValueError, match=r"Table 5, Proactivity, Small \(line 651\): 'Very busy'"):
        definition_scores(bad, DATA.evidence)
