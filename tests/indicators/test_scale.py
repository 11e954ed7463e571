"""The analysis and its figures at England's scale: 1,300 organisations x 50 indicators.

Generated cheaply and seeded (:func:`analysis.indicators.synthetic.scaling.organisation_table`, a
SYNTHETIC organisation-level table). Nothing may grow with the number of organisations: each
figure has a bounded size and number of panels, whatever the count.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.indicators.methods import selection
from analysis.indicators.methods.results import run_analysis
from analysis.indicators.methods.summary import domain_shares
from analysis.indicators.report import chapter
from analysis.indicators.report import scalefigures as scale
from analysis.indicators.sources import panel
from analysis.indicators.synthetic import scaling

ORGANISATIONS, INDICATORS = 1_300, 50


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tables = scaling.organisation_table(ORGANISATIONS, INDICATORS)
    folder = scaling.write_table_folder(tables, tmp_path_factory.mktemp("england") / "table")
    loaded = panel.load_panel(folder)
    chosen = selection.select(loaded.observations, loaded.catalogue, loaded.organisations)
    data = selection.prepare(
        loaded.observations, loaded.membership, loaded.catalogue, chosen, unit=loaded.unit
    )
    results = run_analysis(data, loaded.catalogue, loaded.organisations, chosen, level=loaded.level)
    return tables, loaded, chosen, data, results


def test_every_organisation_and_indicator_is_analysed(run):
    tables, loaded, chosen, _, results = run
    assert len(chosen.organisations) == ORGANISATIONS and len(chosen.indicators) == INDICATORS
    given = tables["observations"]["value"].notna().sum()
    assert len(results.level) == given  # one row per organisation and indicator with a value
    assert results.dispersion["n_units"].sum() == given
    # The between-organisation variance of each indicator is its values' sample variance.
    values = tables["observations"].dropna(subset=["value"])
    expected = values.groupby("indicator_id")["value"].var(ddof=1)
    got = results.dispersion.set_index("indicator_id")["tau2"]
    np.testing.assert_allclose(got[expected.index], expected, rtol=1e-10)
    shares = domain_shares(results.summary)
    everything = shares[(shares["domain"] == "all") & (shares["adjustment"] == "BH")]
    assert int(everything["n"].iloc[0]) == given
    assert set(results.associations["test"]) == {"Spearman rho (asymptotic)"}


def test_figures_stay_bounded_with_1300_organisations(run):
    _, loaded, chosen, data, results = run
    tier = "synthetic"
    made = []
    for domain in chapter.domains(loaded.catalogue, chosen):
        pages = chapter.funnel_figures(data, results, loaded.catalogue, chosen, tier, domain=domain)
        wanted = loaded.catalogue["domain"].eq(domain).sum()
        assert len(pages) == math.ceil(wanted / scale.PANELS_PER_PAGE)
        made += pages
    made += [
        chapter.trend_figure(results, tier),
        chapter.variation_figure(results, loaded.catalogue, tier),
        chapter.summary_figure(results, tier),
    ]
    for fig in made:
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert len(visible) <= scale.PANELS_PER_PAGE
        assert fig.get_figwidth() <= 7 and fig.get_figheight() <= 0.16 * scale.MAX_BARS + 2
        assert not fig.legends or len(fig.legends[0].legend_handles) <= 5  # no legend per org
    funnel = made[0].axes[0]  # every indicator of the page a cell of one drawing
    cells = loaded.catalogue["domain"].eq(chapter.domains(loaded.catalogue, chosen)[0]).sum()
    labels = [t.get_text() for t in funnel.texts if t.get_gid() == "extreme"]
    assert 0 < len(labels) <= 2 * scale.LABELLED * cells  # the extremes, named
    assert set(labels) <= set(chosen.organisations)
    plt.close("all")


def test_the_trend_figure_of_many_organisations_is_one_bar_per_indicator():
    rng = np.random.default_rng(1)
    rows = pd.DataFrame(
        {
            "organisation_id": np.repeat([f"O{o:04d}" for o in range(1_300)], 50),
            "indicator_id": np.tile([f"I{i:02d}" for i in range(50)], 1_300),
            "domain": "d",
            "comparison": "trend",
            "class_bh": rng.choice(["better", "not different", "worse"], 65_000),
            "class_unadjusted": "not different",
        }
    )
    fig = scale.class_overview(rows, "user", comparisons=("trend",))
    (ax,) = fig.axes
    assert len(ax.get_yticks()) == 50 and fig.get_figheight() < 10
    plt.close(fig)
