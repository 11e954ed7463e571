"""The typology derived from the report's definitions and Tables 5 and 6: hand-computed
scores, the compendium's cut against the published styles (a coded rule, with the range of cuts
its scores allow), the crossover rule, stability ranges, and flips when a published cell
changes."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.casestudy.definitions import (
    cut_reason,
    definition_checks,
    definition_scores,
    reproducing_thresholds,
    stability,
    typology_summary,
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


def _checks(c=0.5, p=0.5):
    dims = definition_scores(DATA.table5, DATA.evidence)
    typology = classify(dims[["site", "control", "system_proactivity"]], c, p)
    return {x.check_id: x for x in definition_checks(typology, DATA.typology, "Tables 5 and 6")}


def test_the_compendiums_cut_is_a_coded_rule_with_the_range_its_scores_allow():
    # At 0.5 Small's control (0.5) is exactly at the cut: placed in neither level, as in the QCA.
    assert styles() == {
        "Expanding": "authoritative",
        "Embedded": "neglectful",
        "Struggling": "neglectful",
        "Small": "undetermined",
    }
    checks = _checks()
    assert checks["cs_typology_embedded"].status == "mismatch"
    assert checks["cs_typology_embedded"].published == "indulgent"
    assert checks["cs_typology_small"].reproduced == "undetermined"
    assert all(c.kind == "coded_rule" and not c.must_match for c in checks.values())
    assert checks["cs_typology_authoritarian_count"].status == "match"
    # The reason is computed from the scores (Struggling 1/3, Embedded 7/18; Small 0.5,
    # Expanding 1), not typed: the published styles come back for cuts strictly between.
    reason = checks["cs_typology_embedded"].reason
    assert "the report states no cut" in reason and "line 807" in reason
    assert "control cut strictly between 0.500 and 1.000" in reason
    assert "system-proactivity cut strictly between 0.333 and 0.389" in reason
    assert styles(c=0.6, p=0.35) == {
        "Expanding": "authoritative",
        "Embedded": "indulgent",
        "Struggling": "neglectful",
        "Small": "neglectful",
    }
    assert styles(c=0.6, p=0.385)["Embedded"] == "indulgent"
    # At either end of the range a site sits at the cut.
    assert styles(c=0.6, p=1 / 3)["Struggling"] == "undetermined"
    embedded = definition_scores(DATA.table5, DATA.evidence).set_index("site")
    assert styles(c=0.6, p=embedded.loc["Embedded", "system_proactivity"])["Embedded"] == (
        "undetermined"
    )
    assert styles(p=0.3)["Struggling"] == "indulgent"


def test_the_reports_relational_statement_is_checked_against_the_order_of_the_scores():
    order = _checks()["cs_typology_order"]
    assert order.published == "Embedded above Struggling, Small"
    assert order.status == "match" and order.kind == "coded_rule"
    assert "Embedded 0.389; Struggling 0.333; Small 0.111" in order.quantity
    # Scored as the wider leader's view, Struggling (divergent) outranks Embedded.
    dims = definition_scores(DATA.table5, DATA.evidence, divergent="wider")
    typology = classify(dims[["site", "control", "system_proactivity"]])
    wider = {x.check_id: x for x in definition_checks(typology, DATA.typology, "x")}
    assert wider["cs_typology_order"].status == "mismatch"
    assert "no pair of cuts gives all four published styles" in wider["cs_typology_embedded"].reason
    assert "no system-proactivity cut separates" in cut_reason(typology, DATA.typology)


def test_typology_summary_counts_by_hand():
    dims = definition_scores(DATA.table5, DATA.evidence)
    typology = classify(dims[["site", "control", "system_proactivity"]]).merge(
        DATA.typology[["site", "style"]].rename(columns={"style": "published"})
    )
    ranges = reproducing_thresholds(stability(DATA.table5, DATA.evidence, DATA.typology))
    row = typology_summary(
        typology, DATA.typology, ranges, control_threshold=0.5, proactivity_threshold=0.5
    ).iloc[0]
    assert (row["sites"], row["agree"], row["at_cut"], row["at_cut_sites"]) == (4, 2, 1, "Small")
    assert row["proactivity_from"] == pytest.approx(1 / 3)
    assert row["proactivity_below"] == pytest.approx(7 / 18)
    assert row["reproducible"] and row["choices"] == 27
    assert row["choices_reproducible"] == int(ranges["reproducible"].sum())


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
    assert styles(c=0.49)["Small"] == "authoritarian"  # control 0.5, just above the cut
    assert styles(c=0.5)["Small"] == "undetermined"  # exactly at it
    evidence.loc[where, "code"] = "no_constraining_directives"
    assert styles(evidence=evidence, c=0.49)["Small"] == "neglectful"


def test_stability_table_and_reproducing_thresholds():
    stable = stability(DATA.table5, DATA.evidence, DATA.typology)
    assert len(stable) == 3 * 3 * 3 * 4
    ranges = reproducing_thresholds(stable).set_index(["scoring_map", "rule", "divergent"])
    row = ranges.loc[("linear", "mean", "midpoint")]
    assert row["p_from"] == pytest.approx(1 / 3) and row["p_below"] == pytest.approx(7 / 18)
    assert row["c_from"] == 0.5 and row["c_below"] == 1.0 and row["reproducible"]
    assert row["sites_agreeing"] == 2  # Embedded neglectful at 0.5; Small at the control cut
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
