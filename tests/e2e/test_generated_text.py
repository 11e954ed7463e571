"""Every sentence of the build that states a result is its tables', and every figure's caption
names only what the figure draws. Generic over the pipeline: any notebook that writes
``tables/sentences.csv`` is checked, and any captioned figure.

Read from the session's real build (``real_build``); nothing is executed again.
"""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from analysis.compendium import pipeline as pl
from analysis.core.drawn import caption_problems
from analysis.core.sentences import check_sentences, read_tables

pytestmark = pytest.mark.e2e
PIPELINE = pl.load()
SENTENCES = "tables/sentences.csv"
WITH_SENTENCES = [n for n in PIPELINE.order() if SENTENCES in PIPELINE.notebook(n).outputs]


def _sentences(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "sentences.csv", keep_default_na=False, na_values=[""])


def test_the_chapters_that_state_results_write_their_sentences():
    assert {"surveys", "case_studies", "reproduction"} <= set(WITH_SENTENCES)


@pytest.mark.parametrize("name", WITH_SENTENCES)
def test_every_number_in_the_text_is_its_tables(real_build, name):
    folder = real_build / "runs" / name / "default" / "tables"
    sentences = _sentences(folder)
    assert len(sentences), f"{name} writes no sentence"
    assert check_sentences(sentences, read_tables(folder)) == []


def _tamper(frame: pd.DataFrame, where: dict, column: str) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        mask &= frame[key].astype(str) == str(value)
    value = frame.loc[mask, column].iloc[0]
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    changed = frame.astype({column: object})
    changed.loc[mask, column] = f"{value} (changed)" if pd.isna(number) else number * 2 + 1
    return changed


@pytest.mark.parametrize("name", WITH_SENTENCES)
def test_a_changed_table_value_is_caught(real_build, name, tmp_path):
    folder = tmp_path / "tables"
    shutil.copytree(real_build / "runs" / name / "default" / "tables", folder)
    sentences = _sentences(folder)
    cited = sentences.iloc[len(sentences) // 2]  # any cited cell: one in the middle
    path = folder / f"{cited['table']}.csv"
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    _tamper(frame, json.loads(cited["where"]), cited["column"]).to_csv(path, index=False)
    problems = check_sentences(sentences, read_tables(folder))
    assert problems and any(f"sentence {cited['key']!r}" in p for p in problems)


def test_every_caption_names_only_what_its_figure_draws(real_build):
    checked = 0
    for name in PIPELINE.order():
        folder = real_build / "runs" / name / "default"
        figures = [
            o.split("/", 1)[1].rsplit(".", 1)[0]
            for o in PIPELINE.notebook(name).outputs
            if o.startswith("figures/")
        ]
        executed = json.loads((folder / f"{name}.ipynb").read_text(encoding="utf-8"))
        for cell in executed["cells"]:
            caption = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption")
            if not caption:
                continue
            source = "".join(cell["source"])
            stems = [f for f in figures if re.search(rf"[\"/]{re.escape(f)}\"", source)]
            assert len(stems) == 1, f"{name}: a captioned cell saves {stems}, not one figure"
            drawn = json.loads((folder / "figures" / f"{stems[0]}.json").read_text())
            assert caption_problems(caption, drawn) == [], f"{name}: {stems[0]}"
            checked += 1
    assert checked >= 15
