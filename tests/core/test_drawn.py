"""A figure's record of what it draws, and captions checked against it (pure, fast)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import pytest

from analysis.core.drawn import caption_problems, colour_name, describe
from analysis.core.figures import save_figure


@pytest.fixture
def trend():
    fig, ax = plt.subplots()
    ax.plot([2009, 2010], [0.1, 0.2], color="black", label="England")
    ax.plot([2009, 2010], [0.2, 0.3], color="tab:red", label="ORG01")
    ax.set_xlabel("year")
    ax.set_ylabel("pooled rate")
    ax.legend()
    yield fig
    plt.close(fig)


def test_the_record_lists_labels_axes_and_colours(trend, tmp_path):
    save_figure(trend, tmp_path / "trend", tier="synthetic")
    drawn = json.loads((tmp_path / "trend.json").read_text())
    panel = drawn["axes"][0]
    assert (panel["xlabel"], panel["ylabel"]) == ("year", "pooled rate")
    assert panel["legend"] == ["England", "ORG01"] and panel["series"] == ["England", "ORG01"]
    assert drawn["colours"] == {"England": "black", "ORG01": "red"}
    # The tier stamp is the figure's provenance, not something it plots.
    assert not any("SYNTHETIC" in t for t in drawn["texts"])


def test_a_caption_naming_what_is_drawn_passes(trend):
    drawn = describe(trend)
    caption = "Synthetic: pooled rate by year of ORG01 against England (black); x: year."
    assert caption_problems(caption, drawn) == []


@pytest.mark.parametrize(
    ("caption", "problem"),
    [
        ("rate by year against Scotland (black)", "names the series 'Scotland' (black)"),
        ("rate by year against England (blue)", "'England' blue, but it is drawn black"),
        ("each organisation's rate; x: percentile", "names the x axis 'percentile'"),
        ("annual ratios; y: ratio", "names the y axis 'ratio'"),
    ],
)
def test_a_caption_describing_another_plot_fails(trend, caption, problem):
    problems = caption_problems(caption, describe(trend))
    assert len(problems) == 1 and problem in problems[0]


def test_colour_names_are_the_nearest():
    assert colour_name("#b00020") == "red" and colour_name((0.1, 0.1, 0.1)) == "black"
    assert colour_name("#9e9e9e") == "grey" and colour_name(None) == ""
