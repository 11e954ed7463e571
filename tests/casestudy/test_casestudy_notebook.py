"""The case-study notebook and its pipeline entry agree with the package and the data."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from analysis.casestudy.conditions import OUTCOMES, QCA_CONDITIONS, check_qca_parameters
from analysis.casestudy.evidence import load, read_themes
from analysis.casestudy.framework import HEATMAP_PARTS, NAMED_MAPS, parse_scoring_map
from analysis.casestudy.parameters import check_choices
from analysis.casestudy.sources import SITES
from analysis.compendium import pipeline as pl
from analysis.core.catalogue import load as load_catalogue
from analysis.paths import repo_root

ENTRY = pl.load().notebook("case_studies")
NB = nbformat.read(repo_root() / ENTRY.source, as_version=4)
CODE = "\n".join(c.source for c in NB.cells if c.cell_type == "code")


def test_parameter_choices_match_the_package_and_the_themes_file():
    params = ENTRY.parameters
    assert params["sites"].choices == SITES
    assert list(params["themes"].choices) == list(read_themes()["theme"])
    assert params["themes"].default == list(params["themes"].choices)
    assert params["qca_outcome"].choices == OUTCOMES
    assert params["qca_conditions"].choices == QCA_CONDITIONS
    assert params["scoring_map"].default in NAMED_MAPS
    for name in ("control_threshold", "proactivity_threshold", "qca_threshold"):
        assert (params[name].min, params[name].max) == (0.0, 1.0)


def test_parameter_defaults_are_valid_for_the_package():
    data = load()
    defaults = ENTRY.defaults
    parse_scoring_map(defaults["scoring_map"], data.codebook)
    check_qca_parameters(defaults["qca_outcome"], defaults["qca_conditions"])
    check_choices("sites", defaults["sites"], SITES)


def test_inputs_are_exactly_the_catalogued_case_study_files():
    catalogued = {f"data/{d.path}" for d in load_catalogue() if d.path.startswith("casestudy/")}
    assert set(ENTRY.inputs) == catalogued
    assert all((repo_root() / path).exists() for path in ENTRY.inputs)


def test_every_declared_output_is_written_by_the_notebook():
    written = set(re.findall(r'out / "tables" / "([\w.]+)"', CODE))
    written |= {f"{name}.png" for name in re.findall(r'show_figure\(fig, "(\w+)"', CODE)}
    declared = {path.split("/", 1)[1] for path in ENTRY.outputs}
    assert written == declared
    assert "tables/reproduction.csv" in ENTRY.outputs


def test_figure_cells_have_tiered_captions_and_show_one_figure():
    figures = [c for c in NB.cells if "mystnb" in c.metadata]
    assert len(figures) == 4
    names = [c.metadata["mystnb"]["figure"]["name"] for c in figures]
    assert len(set(names)) == 4 and all(n.startswith("fig-cs-") for n in names)
    tiers = {}
    for cell in figures:
        shown = re.findall(r'show_figure\(fig, "(\w+)", tier="(\w+)"\)', cell.source)
        assert len(shown) == 1 and cell.source.count("show_figure(") == 1
        name, tier = shown[0]
        tiers[name] = tier
        # The caption's first word is the tier the figure is stamped with.
        assert cell.metadata["mystnb"]["figure"]["caption"].startswith(f"{tier}:")
        assert "hide-input" in cell.metadata["tags"]
    # The compendium's own coding is "coded", never "published"; only the transcribed
    # Nuffield practice counts are published figures.
    assert tiers == {
        **dict.fromkeys(HEATMAP_PARTS, "coded"),
        "typology_quadrant": "coded",
        "nuffield_practices": "published",
    }
    assert {f"figures/{name}.png" for name in HEATMAP_PARTS} <= set(ENTRY.outputs)
    assert "figures/framework_heatmap.png" not in ENTRY.outputs


def test_markdown_cites_only_known_keys_and_says_the_cases_are_description():
    bib = (repo_root() / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    text = "\n".join(c.source for c in NB.cells if c.cell_type == "markdown")
    cited = set(re.findall(r"\{cite\}`([^`]+)`", text))
    assert cited and cited <= keys
    assert "At most four cases, and fewer when a score sits at the threshold" in text
    assert "Four cases support" not in text  # how many enter is generated from the tables


def test_plumbing_cells_are_hidden_and_parameters_cell_is_visible():
    for cell in NB.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        if "parameters" in tags:
            assert "hide-input" not in tags
            assert {n.targets[0].id for n in ast.parse(cell.source).body} == {
                *ENTRY.parameters,
                "output_dir",
            }
        else:
            assert "hide-input" in tags


@pytest.mark.parametrize("cell", [c for c in NB.cells if c.cell_type == "code"])
def test_cells_are_stored_without_outputs(cell):
    assert cell.outputs == [] and cell.execution_count is None
