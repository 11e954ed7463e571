"""The method chapters of the real pipeline run: stated results, defaults and the methods page.

Every sentence the quality-indicator and simulation chapters state is re-read from the tables
they wrote; the quality-indicator defaults of pipeline.yml are the methods the simulation's
calibration chose; the methods page shows the simulation's sentences on the decisive
scenarios, pasted at build time.
"""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest

from analysis.compendium import pipeline as pl
from analysis.core.sentences import check_sentences

pytestmark = pytest.mark.e2e
CHAPTERS = ("quality_indicators", "simulation")


def _tables(folder) -> dict[str, pd.DataFrame]:
    return {
        path.stem: pd.read_csv(path, keep_default_na=False, na_values=[""])
        for path in (folder / "tables").glob("*.csv")
        if path.stem != "sentences"
    }


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_stated_result_is_its_tables(real_build, chapter):
    folder = real_build / "runs" / chapter / "default"
    sentences = pd.read_csv(folder / "tables" / "sentences.csv", keep_default_na=False)
    assert len(sentences) >= 5
    assert check_sentences(sentences, _tables(folder)) == []
    executed = (folder / f"{chapter}.ipynb").read_text()
    for text in sentences.drop_duplicates("key")["text"]:
        assert text[:60] in executed.replace('\\"', '"')  # the chapter shows what it states


def test_quality_indicator_defaults_are_the_simulations_choices(real_build):
    choices = pd.read_csv(
        real_build / "runs" / "simulation" / "default" / "tables" / "simulation_choices.csv"
    )
    defaults = pl.load().notebook("quality_indicators").defaults
    for options in choices["options"]:
        for pair in options.split(", "):
            name, value = pair.split(" = ")
            assert str(defaults[name]) == value, f"{name}: default {defaults[name]}, chosen {value}"


def test_methods_page_states_the_deciding_scenarios(real_build):
    page = (real_build / "book" / "html" / "methods.html").read_text()
    text = re.sub(r"<[^>]+>", "", html.unescape(page))
    assert "compendium:sentences" not in page
    sentences = pd.read_csv(
        real_build / "runs" / "simulation" / "default" / "tables" / "sentences.csv",
        keep_default_na=False,
    ).drop_duplicates("key")
    for sentence in sentences.loc[sentences["key"].str.startswith("choice_"), "text"]:
        assert re.sub(r"[`*]", "", sentence)[:50] in text
