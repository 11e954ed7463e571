"""The README's route for next year's membership file, run as written in a copy of the project:
a new layout takes a mapping file only, then the networks chapter runs on the folder."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from analysis.bench.tools import copy_project, project_env
from analysis.indicators.sources import structures as st
from analysis.paths import repo_root

SECTION = "### The networks chapter: next year's membership and indicator files"


def _section() -> str:
    text = (repo_root() / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start)]


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", _section(), flags=re.S)


def _as_written(line: str) -> list[str]:
    """A README command with ``.venv/bin/`` meaning this interpreter's folder."""
    return line.replace(".venv/bin/", str(Path(sys.executable).parent) + "/").split()


@pytest.mark.e2e
def test_next_years_layout_takes_a_mapping_file_and_the_chapter_runs_on_it(tmp_path):
    project = copy_project(repo_root(), tmp_path / "project")
    env = project_env(project, tmp_path / "build")
    folder = project / "mydata" / "membership"
    folder.mkdir(parents=True)
    for path in st.stored_files():
        shutil.copy(path, folder)
    # next year's file: the 2023-24 practices under a renamed PCN column (a new layout)
    table = pq.read_table(st.stored_files()[-1]).rename_columns(
        [
            "PCN_CODE" if c == "PCN_ODS_CODE" else c
            for c in pq.read_schema(st.stored_files()[-1]).names
        ]
    )
    pq.write_table(table, folder / "structures_2024_2025.parquet")
    check, run = (_as_written(line) for line in _blocks("bash")[0].strip().splitlines())

    refused = subprocess.run(check, cwd=project, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "layout matches no structures mapping" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    mapping = _blocks("yaml")[0].replace("PCN_ODS_CODE", "PCN_CODE")  # step 2: change the name
    (project / "data/indicators/mappings/structures_2024.yml").write_text(mapping)
    checked = subprocess.run(check, cwd=project, env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "structures_2024.yml" in checked.stdout and "2023-2024" in checked.stdout

    result = subprocess.run(run, cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    out = tmp_path / "build" / "runs" / "networks_real"
    (paramset,) = [p for p in out.iterdir() if p.name.startswith("p-")]
    years = pd.read_csv(paramset / "tables" / "membership_years.csv")
    assert years["year"].tolist() == [2019, 2020, 2021, 2022, 2023, 2024]
    files = pd.read_csv(paramset / "tables" / "files.csv")
    assert files.loc[files["year"] == 2024, "layout"].tolist() == ["structures_2024.yml"]
