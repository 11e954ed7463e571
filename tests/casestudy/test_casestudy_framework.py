"""Scoring maps, the framework matrix with its footnotes, and the heatmap."""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.casestudy.evidence import load
from analysis.casestudy.framework import (
    HEATMAP_PARTS,
    footnotes,
    framework_matrix,
    parse_scoring_map,
    plot_heatmap,
    score,
    select,
)
from analysis.casestudy.sources import MCDONALD, SITES
from analysis.core.figures import TIERS, save_figure

DATA = load()
ALL_THEMES = list(DATA.themes["theme"])


def scored(spec: str = "linear", evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    evidence = DATA.evidence if evidence is None else evidence
    return score(evidence, parse_scoring_map(spec, DATA.codebook))


# --------------------------------------------------------------------------- scoring


def test_linear_scores_are_rank_over_top_rank():
    table = parse_scoring_map("linear", DATA.codebook).set_index(["theme", "code"])
    assert table.loc[("system_proactivity", "reactive"), "score"] == pytest.approx(1 / 3)
    assert table.loc[("history", "some_prior"), "score"] == pytest.approx(0.5)
    assert table.loc[("competition_for_members", "yes"), "score"] == 1.0
    assert math.isnan(table.loc[("temporal_focus", "divergent"), "score"])


def test_named_maps_and_overrides():
    convex = parse_scoring_map("convex", DATA.codebook).set_index(["theme", "code"])
    concave = parse_scoring_map("concave", DATA.codebook).set_index(["theme", "code"])
    key = ("system_proactivity", "sometimes_proactive")
    assert convex.loc[key, "score"] == pytest.approx(4 / 9)
    assert concave.loc[key, "score"] == pytest.approx(math.sqrt(2 / 3))
    spec = "{'base': 'convex', 'temporal_focus:divergent': 0.5, 'history:none_recent': 0.1}"
    mixed = parse_scoring_map(spec, DATA.codebook).set_index(["theme", "code"])
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
        parse_scoring_map(spec, DATA.codebook)


# --------------------------------------------------------------------------- framework matrix


def test_framework_matrix_and_footnotes_line_up():
    chosen = select(scored(), DATA.themes, list(SITES), ALL_THEMES)
    matrix = framework_matrix(chosen, DATA.themes)
    assert list(matrix.columns) == ["theme", "group", "label", *SITES]
    assert list(matrix["theme"]) == ALL_THEMES
    notes = footnotes(chosen)
    assert list(notes["footnote"]) == list(range(1, 85))
    cell = matrix.set_index("theme").loc["ccg_relationship", "Struggling"]
    number = int(re.search(r"\[(\d+)\]$", cell).group(1))
    note = notes.set_index("footnote").loc[number]
    assert (note["site"], note["theme"], note["code"]) == ("Struggling", "ccg_relationship", "poor")
    assert note["source"] == f"{MCDONALD}:456"


def test_select_orders_sites_as_given_and_themes_as_catalogued():
    chosen = select(scored(), DATA.themes, ["Small", "Expanding"], ["money", "history"])
    assert list(chosen["theme"]) == ["history", "history", "money", "money"]
    assert list(chosen["site"]) == ["Small", "Expanding", "Small", "Expanding"]
    matrix = framework_matrix(chosen, DATA.themes)
    assert list(matrix.columns[-2:]) == ["Small", "Expanding"]


@pytest.mark.parametrize(
    ("sites", "themes", "message"),
    [
        (["Expanding", "Bigtown"], ALL_THEMES, "sites: unknown value.*Bigtown"),
        ([], ALL_THEMES, "sites: empty"),
        ("Expanding", ALL_THEMES, "sites: expected a list"),
        (["Small", "Small"], ALL_THEMES, "sites: .*more than once"),
        (list(SITES), ["history", "weather"], "themes: unknown value.*weather"),
    ],
)
def test_unknown_site_or_theme_parameter_is_named(sites, themes, message):
    with pytest.raises(ValueError, match=message):
        select(scored(), DATA.themes, sites, themes)


def test_heatmap_has_one_row_per_theme_and_one_column_per_site():
    chosen = select(scored(), DATA.themes, ["Embedded", "Small"], ["money", "temporal_focus"])
    fig = plot_heatmap(chosen, DATA.themes)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Embedded", "Small"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Money (income base)",
        "Temporal focus (Table 5)",  # 24 characters: not wrapped
    ]
    texts = {t.get_text() for t in ax.texts}
    assert "divergent [4]" not in texts  # Struggling is not selected
    assert any(t.startswith("short to medium") for t in texts)
    plt.close(fig)


def test_heatmap_parts_split_the_themes_into_legible_figures():
    groups = [g for part in HEATMAP_PARTS.values() for g in part]
    assert sorted(groups) == sorted(set(DATA.themes["group"]))  # each group in one part
    chosen = select(scored(), DATA.themes, list(SITES), ALL_THEMES)
    rows = []
    for part in HEATMAP_PARTS.values():
        fig = plot_heatmap(chosen, DATA.themes, groups=part)
        ax = fig.axes[0]
        labels = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
        expected = DATA.themes[DATA.themes["group"].isin(part)]["label"].tolist()
        assert labels == expected
        rows += labels
        assert fig.get_figwidth() <= 7  # the book column, shown without shrinking much
        assert min(t.get_fontsize() for t in ax.texts) >= 8
        lines = [line for t in ax.get_yticklabels() for line in t.get_text().split("\n")]
        assert max(len(line) for line in lines) <= 24  # wrapped theme labels
        plt.close(fig)
    assert len(rows) == len(ALL_THEMES) == 21
    none = select(scored(), DATA.themes, list(SITES), ["money"])
    fig = plot_heatmap(none, DATA.themes, groups=["outcome"])
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "No selected theme in this part of the framework"
    ]
    with pytest.raises(ValueError, match="groups: unknown value.*weather"):
        plot_heatmap(chosen, DATA.themes, groups=["weather"])
    plt.close("all")


def test_coded_figures_are_stamped_as_the_compendiums_own_coding(tmp_path):
    chosen = select(scored(), DATA.themes, ["Embedded"], ["money"])
    fig = plot_heatmap(chosen, DATA.themes)
    save_figure(fig, tmp_path / "heatmap", tier="coded")
    stamp = fig.texts[-1].get_text()
    stamp = " ".join(stamp.split())  # wrapped to the figure's width
    assert "own coding" in stamp and "published figures" in stamp and stamp == TIERS["coded"]
    assert "not published" in stamp
    assert (tmp_path / "heatmap.png").exists() and (tmp_path / "heatmap.svg").exists()
    plt.close(fig)
