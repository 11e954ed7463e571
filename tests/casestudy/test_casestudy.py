"""The case-study strand: coded evidence, published tables, the typology and the Nuffield matrix.

Totals and classifications are checked against the published values; bad input must give
an error naming the file, line and column (or the parameter).
"""

from __future__ import annotations

import math
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from analysis.casestudy import coding as cs
from analysis.core.catalogue import load as load_catalogue
from analysis.core.datasets import DataError, sha256_file
from analysis.core.provenance import excerpt_found, parse_lines
from analysis.paths import sources_dir

DATA = cs.load()
ALL_THEMES = list(DATA.themes["theme"])


def scored(spec: str = "linear", evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    evidence = DATA.evidence if evidence is None else evidence
    return cs.score(evidence, cs.parse_scoring_map(spec, DATA.codebook))


def typology(spec="linear", control=0.5, proactivity=0.5, evidence=None) -> dict[str, str]:
    dims = cs.dimension_scores(scored(spec, evidence))
    result = cs.classify(dims, control, proactivity)
    return dict(zip(result["site"], result["style"], strict=True))


def sources_or_skip():
    root = sources_dir()
    if not root.exists():
        pytest.skip(f"source documents not found at {root}")
    return root


# --------------------------------------------------------------------------- catalogue


def test_catalogued_files_read_cleanly_and_match_their_hash():
    entries = [d for d in load_catalogue() if d.path.startswith("casestudy/")]
    assert {d.path for d in entries} == set(cs.FILES.values())
    for entry in entries:
        frame = entry.read()
        assert sha256_file(entry.file) == entry.sha256, f"{entry.path}: run catalogue --update"
        assert len(frame) == entry.rows, entry.path
        assert entry.tier == "published"


def test_evidence_is_a_complete_matrix_with_one_code_per_site_and_theme():
    assert len(DATA.evidence) == len(cs.SITES) * len(ALL_THEMES) == 84
    pairs = DATA.evidence.groupby(["site", "theme"]).size()
    assert (pairs == 1).all()
    scales = DATA.codebook.groupby("theme")["code"].apply(set)
    for _, row in DATA.evidence.iterrows():
        assert row["code"] in scales[row["theme"]]


def test_every_scale_is_documented_and_ranked_from_zero():
    for theme, rows in DATA.codebook.groupby("theme"):
        ranks = sorted(rows["rank"].dropna().astype(int))
        assert ranks == list(range(len(ranks))), theme
        assert rows["meaning"].str.len().min() > 3


# --------------------------------------------------------------------------- provenance


def _every_cited_row():
    frames = {
        "evidence": (DATA.evidence, "excerpt"),
        "typology": (DATA.typology, "excerpt"),
        "forms": (DATA.forms, "excerpt"),
        "table3": (DATA.table3, "value"),
        "table7": (DATA.table7, "service"),
        "nuffield": (DATA.nuffield, "value"),
        "table1": (DATA.table1, "n"),
        "table2": (DATA.table2, "n"),
    }
    for name, (frame, column) in frames.items():
        for i, row in frame.iterrows():
            yield name, i, row, row[column]


def test_every_excerpt_and_value_is_found_in_its_cited_lines():
    root = sources_or_skip()
    missing = []
    for name, i, row, value in _every_cited_row():
        if pd.isna(value):
            continue
        text = str(int(value)) if isinstance(value, int | np.integer) else str(value)
        if not excerpt_found(text, row["source_file"], row["source_lines"], root):
            missing.append((name, i + 2, text[:60], row["source_lines"]))
    assert not missing


def test_cited_lines_exist_in_the_source_files():
    root = sources_or_skip()
    lengths = {f: len((root / f).read_text(encoding="utf-8").splitlines()) for f in cs.SOURCES}
    for name, i, row, _ in _every_cited_row():
        first, last = parse_lines(row["source_lines"])
        assert 1 <= first <= last <= lengths[row["source_file"]], (name, i + 2)


def test_excerpts_are_short_single_lines():
    for frame in (DATA.evidence, DATA.typology, DATA.forms):
        assert frame["excerpt"].str.len().max() <= cs.MAX_EXCERPT
        assert not frame["excerpt"].str.contains("\n").any()


def test_lost_cells_are_recorded_not_guessed():
    lost1 = DATA.table1[DATA.table1["n"].isna()]
    assert len(lost1) == 16 and lost1["note"].str.contains("lost").all()
    lost7 = DATA.table7[DATA.table7["service"].isna()]
    assert list(lost7["site"]) == ["Embedded", "Embedded"]
    rebuilt = DATA.evidence[DATA.evidence["note"].fillna("").str.contains("lost")]
    assert set(rebuilt["theme"]) >= {"iagp_outcome", "directing", "engineering", "co_producing"}


# --------------------------------------------------------------------------- Tables 1-3, 7


def test_table1_totals_recompute_to_139_meetings():
    table = DATA.table1[DATA.table1["reported_in"] == "table"]
    sites = table[table["site"].isin(cs.SITES) & (table["meeting_type"] == "Total")]
    assert dict(zip(sites["site"], sites["n"], strict=True)) == {
        "Expanding": 43,
        "Embedded": 28,
        "Struggling": 39,
        "Small": 29,
    }
    checks = cs.table1_checks(DATA.table1)
    assert all(c.status == "match" for c in checks)
    by_id = {c.check_id: c for c in checks}
    assert by_id["cs_t1_total_by_site"].reproduced == "139"
    assert by_id["cs_t1_total_by_type"].reproduced == str(77 + 25 + 29 + 8)


def test_table2_totals_recompute_to_205_interviews_by_type_and_site():
    checks = {c.check_id: c for c in cs.table2_checks(DATA.table2)}
    assert len(checks) == 4 + 6 + 3 and all(c.status == "match" for c in checks.values())
    expected_types = {"clinicians": 74, "pms": 24, "federation_staff": 27, "patients": 45}
    for slug, n in {**expected_types, "ccg": 10, "other": 16}.items():
        assert float(checks[f"cs_t2_type_{slug}"].reproduced) == n
    for site, n in {"expanding": 45, "embedded": 68, "struggling": 43, "small": 40}.items():
        assert float(checks[f"cs_t2_site_{site}"].reproduced) == n
    assert float(checks["cs_t2_total_by_site"].reproduced) == 45 + 68 + 43 + 40 + 9 == 205


def test_table2_matrix_recomputes_margins():
    wide = cs.table2_matrix(DATA.table2).set_index("site")
    assert wide.loc["Embedded", "Total (recomputed)"] == 68
    assert wide.loc["All sites", "Total (recomputed)"] == 205
    assert wide.loc["All sites (recomputed)", "Patients"] == 45


def test_a_transcription_error_shows_up_as_a_mismatch():
    table2 = DATA.table2.copy()
    cell = (table2["site"] == "Expanding") & (table2["interviewee_type"] == "Clinicians")
    table2.loc[cell, "n"] = 18
    status = {c.check_id: c.status for c in cs.table2_checks(table2)}
    assert status["cs_t2_site_expanding"] == "mismatch"
    assert status["cs_t2_type_clinicians"] == "mismatch"
    assert status["cs_t2_type_patients"] == "match"


def test_table3_and_table7_agree_with_the_codes_read_from_the_prose():
    checks = cs.table3_checks(DATA.table3, scored()) + cs.table7_checks(DATA.table7, scored())
    assert len(checks) == 8 and all(c.status == "match" for c in checks)
    wide = cs.table3_matrix(DATA.table3).set_index("characteristic")
    assert wide.loc["Size (n patients)", "Struggling"] == "500,000"
    assert wide.loc["Size (n organisations)", "Small"] == "< 10"


# --------------------------------------------------------------------------- scoring


def test_linear_scores_are_rank_over_top_rank():
    table = cs.parse_scoring_map("linear", DATA.codebook).set_index(["theme", "code"])
    assert table.loc[("system_proactivity", "reactive"), "score"] == pytest.approx(1 / 3)
    assert table.loc[("history", "some_prior"), "score"] == pytest.approx(0.5)
    assert table.loc[("competition_for_members", "yes"), "score"] == 1.0
    assert math.isnan(table.loc[("temporal_focus", "divergent"), "score"])


def test_named_maps_and_overrides():
    convex = cs.parse_scoring_map("convex", DATA.codebook).set_index(["theme", "code"])
    concave = cs.parse_scoring_map("concave", DATA.codebook).set_index(["theme", "code"])
    key = ("system_proactivity", "sometimes_proactive")
    assert convex.loc[key, "score"] == pytest.approx(4 / 9)
    assert concave.loc[key, "score"] == pytest.approx(math.sqrt(2 / 3))
    spec = "{'base': 'convex', 'temporal_focus:divergent': 0.5, 'history:none_recent': 0.1}"
    mixed = cs.parse_scoring_map(spec, DATA.codebook).set_index(["theme", "code"])
    assert mixed.loc[("temporal_focus", "divergent"), "score"] == 0.5
    assert mixed.loc[("history", "none_recent"), "score"] == 0.1
    assert mixed.loc[key, "score"] == pytest.approx(4 / 9)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("quadratic", "neither a named map"),
        ("{'history:none': 0.2}", "not a 'theme:code' pair"),
        ("{'nohistory:none_recent': 0.2}", "not a 'theme:code' pair"),
        ("{'history:none_recent': 1.5}", "expected a number in \\[0, 1\\]"),
        ("{'history:none_recent': True}", "expected a number in \\[0, 1\\]"),
        ("{'history:none_recent': 'high'}", "expected a number in \\[0, 1\\]"),
        ("{'base': 'cubic'}", "base 'cubic'"),
        ("[1, 2]", "neither a named map"),
    ],
)
def test_bad_scoring_maps_are_named_errors(spec, message):
    with pytest.raises(ValueError, match=f"scoring_map: .*{message}"):
        cs.parse_scoring_map(spec, DATA.codebook)


# --------------------------------------------------------------------------- typology


def test_published_typology_comes_out_of_the_coded_data():
    published = dict(zip(DATA.typology["site"], DATA.typology["style"], strict=True))
    assert published == {
        "Expanding": "authoritative",
        "Embedded": "indulgent",
        "Struggling": "neglectful",
        "Small": "neglectful",
    }
    assert typology() == published
    result = cs.classify(cs.dimension_scores(scored()))
    checks = cs.typology_checks(result, DATA.typology)
    assert len(checks) == 5 and all(c.status == "match" for c in checks)


def test_changing_one_code_changes_the_classification():
    evidence = DATA.evidence.copy()
    row = (evidence["site"] == "Embedded") & (evidence["theme"] == "system_proactivity")
    evidence.loc[row, "code"] = "reactive"
    assert typology(evidence=evidence)["Embedded"] == "neglectful"
    evidence.loc[
        (evidence["site"] == "Small") & (evidence["theme"] == "control_over_members"), "code"
    ] = "monitored_conditions"
    assert typology(evidence=evidence)["Small"] == "authoritarian"


def test_thresholds_are_parameters_and_a_score_on_the_threshold_is_low():
    assert typology(proactivity=0.7)["Embedded"] == "neglectful"
    assert typology(proactivity=2 / 3)["Embedded"] == "neglectful"
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
    styles = cs.classify(dims, 0.5, 0.5)["style"].tolist()
    assert styles == ["authoritative", "indulgent", "neglectful", "authoritarian"]


def test_threshold_ranges_by_hand():
    dims = cs.dimension_scores(scored())
    ranges = cs.threshold_ranges(dims, DATA.typology).set_index("dimension")
    # control: published high = Expanding (1); lows = 1/3, 0, 0 -> [1/3, 1)
    assert ranges.loc["control", "lowest"] == pytest.approx(1 / 3)
    assert ranges.loc["control", "below"] == pytest.approx(1.0)
    # proactivity: highs = Expanding 1, Embedded 2/3; lows = 0, 1/3 -> [1/3, 2/3)
    assert ranges.loc["system_proactivity", "lowest"] == pytest.approx(1 / 3)
    assert ranges.loc["system_proactivity", "below"] == pytest.approx(2 / 3)
    assert ranges["reproducible"].all()
    convex = cs.threshold_ranges(cs.dimension_scores(scored("convex")), DATA.typology)
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
    table = cs.score(evidence, cs.parse_scoring_map("linear", codebook))
    with pytest.raises(ValueError, match="typology: codes without a score .*Small"):
        cs.dimension_scores(table)


# --------------------------------------------------------------------------- framework matrix


def test_framework_matrix_and_footnotes_line_up():
    chosen = cs.select(scored(), DATA.themes, list(cs.SITES), ALL_THEMES)
    matrix = cs.framework_matrix(chosen, DATA.themes)
    assert list(matrix.columns) == ["theme", "group", "label", *cs.SITES]
    assert list(matrix["theme"]) == ALL_THEMES
    notes = cs.footnotes(chosen)
    assert list(notes["footnote"]) == list(range(1, 85))
    cell = matrix.set_index("theme").loc["ccg_relationship", "Struggling"]
    number = int(re.search(r"\[(\d+)\]$", cell).group(1))
    note = notes.set_index("footnote").loc[number]
    assert (note["site"], note["theme"], note["code"]) == ("Struggling", "ccg_relationship", "poor")
    assert note["source"] == f"{cs.MCDONALD}:456"


def test_select_orders_sites_as_given_and_themes_as_catalogued():
    chosen = cs.select(scored(), DATA.themes, ["Small", "Expanding"], ["money", "history"])
    assert list(chosen["theme"]) == ["history", "history", "money", "money"]
    assert list(chosen["site"]) == ["Small", "Expanding", "Small", "Expanding"]
    matrix = cs.framework_matrix(chosen, DATA.themes)
    assert list(matrix.columns[-2:]) == ["Small", "Expanding"]


@pytest.mark.parametrize(
    ("sites", "themes", "message"),
    [
        (["Expanding", "Bigtown"], ALL_THEMES, "sites: unknown value.*Bigtown"),
        ([], ALL_THEMES, "sites: empty"),
        ("Expanding", ALL_THEMES, "sites: expected a list"),
        (["Small", "Small"], ALL_THEMES, "sites: .*more than once"),
        (list(cs.SITES), ["history", "weather"], "themes: unknown value.*weather"),
    ],
)
def test_unknown_site_or_theme_parameter_is_named(sites, themes, message):
    with pytest.raises(ValueError, match=message):
        cs.select(scored(), DATA.themes, sites, themes)


def test_heatmap_has_one_row_per_theme_and_one_column_per_site():
    chosen = cs.select(scored(), DATA.themes, ["Embedded", "Small"], ["money", "temporal_focus"])
    fig = cs.plot_heatmap(chosen, DATA.themes)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Embedded", "Small"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Money (income base)",
        "Temporal focus (Table 5)",
    ]
    texts = {t.get_text() for t in ax.texts}
    assert "divergent [4]" not in texts  # Struggling is not selected
    assert any(t.startswith("short to medium") for t in texts)


# --------------------------------------------------------------------------- QCA input


def test_crisp_sets_use_a_strict_threshold():
    crisp = cs.crisp_sets(scored(), ["history", "iagp_outcome", "competition_for_members"], 0.5)
    assert crisp.loc["Expanding", "history"] == 0  # some_prior scores exactly 0.5
    assert crisp.loc["Embedded", "history"] == 1
    assert list(crisp["iagp_outcome"]) == [1, 1, 0, 0]
    assert list(crisp["competition_for_members"]) == [1, 0, 0, 1]
    with pytest.raises(ValueError, match="qca: codes without a score.*Struggling"):
        cs.crisp_sets(scored(), ["temporal_focus"], 0.5)
    with pytest.raises(ValueError, match="qca_threshold"):
        cs.crisp_sets(scored(), ["history"], -0.1)


def test_qca_parameters_are_validated():
    assert cs.check_qca_parameters("financial_stability", ["money"]) == ["money"]
    with pytest.raises(ValueError, match="qca_outcome: 'services_won'"):
        cs.check_qca_parameters("services_won", ["money"])
    with pytest.raises(ValueError, match="qca_conditions: unknown value.*iagp_outcome"):
        cs.check_qca_parameters("financial_stability", ["iagp_outcome"])


# --------------------------------------------------------------------------- bad input files


def _rewrite(tmp_path, name, change):
    """A copy of data file ``name`` with ``change`` applied (a function of the raw frame)."""
    path = tmp_path / f"{name}.csv"
    frame = pd.read_csv(cs.data_path(name), dtype=str, keep_default_na=False)
    changed = change(frame)
    (frame if changed is None else changed).to_csv(path, index=False)
    return path


def _set(column, index, value):
    """A change that puts ``value`` in one cell (``index`` is the 0-based data row)."""

    def change(frame):
        frame.loc[index, column] = value

    return change


def _read_evidence(path):
    return cs.read_evidence(path, codebook=DATA.codebook, themes=DATA.themes)


def test_unknown_site_in_evidence_names_file_line_and_column(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("site", 5, "Bigtown"),
    )
    with pytest.raises(DataError, match=r"(?s)evidence\.csv.*line 7, column 'site': 'Bigtown'"):
        _read_evidence(path)


def test_unknown_theme_in_evidence_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("theme", 0, "weather"),
    )
    with pytest.raises(DataError, match=r"line 2, column 'theme': unknown theme 'weather'"):
        _read_evidence(path)


def test_code_outside_its_scale_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("code", 3, "excellent"),
    )
    with pytest.raises(
        DataError, match=r"line 5, column 'code': 'excellent' is not on the 'history' scale"
    ):
        _read_evidence(path)


def test_missing_excerpt_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("excerpt", 10, ""),
    )
    with pytest.raises(DataError, match=r"line 12, column 'excerpt': missing value"):
        _read_evidence(path)


def test_overlong_excerpt_is_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("excerpt", 2, "x" * 201),
    )
    with pytest.raises(DataError, match=r"line 4, column 'excerpt'.*str_length"):
        _read_evidence(path)


def test_bad_source_lines_are_named(tmp_path):
    path = _rewrite(
        tmp_path,
        "evidence",
        _set("source_lines", 1, "p.12"),
    )
    with pytest.raises(DataError, match=r"line 3, column 'source_lines': 'p.12'"):
        _read_evidence(path)


def test_missing_judgement_is_reported(tmp_path):
    path = _rewrite(tmp_path, "evidence", lambda f: f.drop(index=[0, 1]))
    with pytest.raises(
        DataError, match=r"no judgement for \(site, theme\).*'Expanding', 'history'"
    ):
        _read_evidence(path)


def test_duplicate_judgement_is_reported(tmp_path):
    def duplicate(frame):
        frame.loc[len(frame)] = frame.loc[0]

    path = _rewrite(tmp_path, "evidence", duplicate)
    with pytest.raises(DataError, match=r"duplicated key \['site', 'theme'\] on lines \[2, 86\]"):
        _read_evidence(path)


def test_codebook_rank_gap_is_named(tmp_path):
    path = _rewrite(tmp_path, "codebook", _set("rank", 1, "3"))
    with pytest.raises(
        DataError, match=r"(?s)codebook\.csv.*column 'rank': theme 'history' has ranks \[0, 2, 3\]"
    ):
        cs.read_codebook(path, themes=DATA.themes)


def test_lost_cell_without_a_note_is_an_error(tmp_path):
    path = _rewrite(tmp_path, "table1", _set("note", 0, ""))
    with pytest.raises(DataError, match=r"line 2, column 'n': missing value without a note"):
        cs.read_table1(path)


def test_negative_count_is_named(tmp_path):
    path = _rewrite(tmp_path, "table2", _set("n", 0, "-3"))
    with pytest.raises(DataError, match=r"line 2, column 'n': -3"):
        cs.read_table2(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        _read_evidence(tmp_path / "nope.csv")


def test_data_path_rejects_unknown_names():
    with pytest.raises(KeyError, match="unknown case-study data file 'tables'"):
        cs.data_path("tables")


# --------------------------------------------------------------------------- Nuffield


def test_nuffield_practices_parse_counts_and_years():
    practices = cs.nuffield_practices(DATA.nuffield)
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
        cs.nuffield_practices(bad)


def test_nuffield_organisations_on_the_spectrum_of_forms():
    placed = cs.nuffield_forms(DATA.nuffield, DATA.forms).set_index("organisation")
    assert placed.loc["AT Medics", "form"] == "multisite"
    assert placed.loc["Modality Partnership", "form"] == "super-partnership"
    assert placed.loc["GP Care", "form"] == placed.loc["Harness Healthcare", "form"] == "federation"
    assert list(DATA.forms.sort_values("tightness")["form"]) == list(cs.FORMS)
    matrix = cs.nuffield_matrix(DATA.nuffield).set_index("attribute")
    assert list(matrix.columns) == list(cs.NUFFIELD_ORGS)
    assert matrix.loc["list_size", "Modality Partnership"] == "87,556 patients"
    assert matrix.loc["practices", "GP Care"] == "80 (2008); 100 (April 2016)"


def test_module_works_from_a_copy_of_the_data(tmp_path, monkeypatch):
    shutil.copytree(cs.data_path("themes").parents[1], tmp_path / "data" / "casestudy")
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    copy = cs.load()
    assert copy.evidence.equals(DATA.evidence)
