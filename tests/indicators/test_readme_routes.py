"""The README's routes into the quality-indicator chapter work first time, as written.

Every ``bash`` block of the sections "A Fingertips export" and "An organisation-level table"
is run unchanged, in order, in a project whose data, notebooks and pipeline are the
repository's (linked) and whose ``mydata/`` and build folder are the test's own.
"""

from __future__ import annotations

import os
import re
import subprocess

import pandas as pd
import pytest

from analysis.paths import repo_root

ROOT = repo_root()
PCN_TABLE = ROOT / "data/indicators/real/qof_indicators/pcn_data_matrix.csv.gz"


def route(heading: str) -> list[str]:
    """The ``bash`` blocks of the README section under ``### heading``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"### {heading}\n")
    end = min(i for i in (text.find("\n### ", start + 4), text.find("\n## ", start)) if i > 0)
    return re.findall(r"```bash\n(.*?)```", text[start:end], flags=re.S)


def run_as_written(blocks: list[str], project) -> subprocess.CompletedProcess:
    for name in ("data", "notebooks", "pipeline.yml", ".venv", "book"):
        (project / name).symlink_to(ROOT / name)
    env = {**os.environ, "COMPENDIUM_ROOT": str(project), "COMPENDIUM_BUILD": str(project / "b")}
    script = "set -euo pipefail\n" + "\n".join(blocks)
    return subprocess.run(
        ["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )


def _run_folder(project):
    (folder,) = [p for p in (project / "b/runs/quality_indicators").glob("p-*") if p.is_dir()]
    return folder


def test_the_routes_are_in_the_readme():
    fingertips = route("A Fingertips export")
    assert len(fingertips) == 1 and fingertips[0].count(".venv/bin/") == 3
    assert "compendium run quality_indicators -p data_source=mydata/smoking" in fingertips[0]
    table = route("An organisation-level table")
    assert len(table) == 1 and "-p data_source=mydata/pcn" in table[0]


@pytest.mark.e2e
def test_the_fingertips_route_runs_as_written(tmp_path):
    done = run_as_written(route("A Fingertips export"), tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "set aside: 4453 row(s), other area type" in done.stdout
    tables = _run_folder(tmp_path) / "tables"
    level = pd.read_csv(tables / "level.csv")
    assert set(level["indicator_id"]) == {"SMOK_PREV"} and (level["data_tier"] == "user").all()
    assert level["organisation_id"].nunique() > 1_200  # every PCN of 2021-22 with members
    assert set(level["classification"].dropna()) <= {"higher", "lower", "not different"}
    # The export's own England row is the comparator where it has one (2022-23, not 2023-24).
    comparator = level.groupby("year")["comparator"].unique().map(list).to_dict()
    assert comparator == {2022: ["published England value"], 2023: ["sum of practices"]}
    said = pd.read_csv(tables / "sentences.csv")
    summary = said[said["key"].str.startswith("summary-")]  # the methods' sentences are apart
    assert len(summary) and summary["text"].str.contains("higher and").all()


@pytest.mark.e2e
@pytest.mark.skipif(not PCN_TABLE.exists(), reason=f"{PCN_TABLE} is not in this checkout")
def test_the_organisation_level_route_runs_as_written(tmp_path):
    done = run_as_written(route("An organisation-level table"), tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tables = _run_folder(tmp_path) / "tables"
    level = pd.read_csv(tables / "level.csv")
    assert level["organisation_id"].nunique() == 1_263 and (level["data_tier"] == "real").all()
    assert level["n_practices"].eq(1).all()  # each PCN its own single unit
    assert pd.read_csv(tables / "trend.csv").empty
