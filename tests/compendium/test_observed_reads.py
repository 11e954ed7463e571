"""Complete cache keys by observation, end to end on the mini project.

One notebook reads every kind of file a notebook can read (a declared data file, mapping
files named by a pattern, a folder given as a ``path`` parameter); editing each kind makes
its run stale, and a run that reads a project file nothing declares fails, naming it, and
keeps the previous results. Two real papermill runs in all.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from analysis.compendium import execute, runner
from analysis.compendium import pipeline as pl

pytestmark = pytest.mark.e2e

BODY = """\
import glob, os
frame = pd.read_csv(data_dir() / "input.csv")
for path in sorted(glob.glob(str(data_dir() / "maps" / "qof_*.yml"))):
    frame[os.path.basename(path)] = open(path).read().count("x")
for path in sorted((data_dir().parent / extra).glob("*.csv")):
    frame[path.name] = len(path.read_text())
if sneak:
    frame["sneak"] = len((data_dir() / "undeclared.csv").read_text())
frame.to_csv(out / "tables" / "out.csv", index=False)
"""


def _project(mini):
    text = (mini / "pipeline.yml").read_text()
    text = text.replace(
        "      mode: {type: str, default: a, choices: [a, b]}\n    inputs: [data/input.csv]",
        "      mode: {type: str, default: a, choices: [a, b]}\n"
        "      extra: {type: path, default: data/extra}\n"
        "      sneak: {type: bool, default: false}\n"
        "    inputs: [data/input.csv, data/maps/qof_*.yml]",
    )
    (mini / "pipeline.yml").write_text(text)
    nb = nbformat.read(mini / "notebooks" / "alpha.ipynb", as_version=4)
    nb.cells[1].source += '\nextra = "data/extra"\nsneak = False'
    nb.cells[3].source = BODY
    nbformat.write(nb, mini / "notebooks" / "alpha.ipynb")
    for folder, name, content in [
        ("maps", "qof_a.yml", "max_points: 5  # x\n"),
        ("maps", "notes.txt", "not a mapping\n"),
        ("extra", "e.csv", "v\n1\n"),
        ("", "undeclared.csv", "v\n1\n"),
    ]:
        (mini / "data" / folder).mkdir(exist_ok=True)
        (mini / "data" / folder / name).write_text(content)


def _reasons(name="alpha"):
    return execute.plan_notebook(pl.load().notebook(name)).reasons


def test_each_kind_of_file_read_makes_the_run_stale_and_undeclared_reads_fail(mini):
    _project(mini)
    first = runner.run(pl.load(), ["alpha"])
    assert [o.status for o in first] == ["executed"], first[0].message
    manifest = json.loads((mini / "build/runs/alpha/default/run.json").read_text())
    assert manifest["reads"] == [
        "data/extra/e.csv", "data/input.csv", "data/maps/qof_a.yml"
    ]  # fmt: skip
    assert _reasons() == []

    edits = {
        "data/input.csv": "value\n1\n2\n4\n",  # a declared file
        "data/maps/qof_a.yml": "max_points: .inf  # x x\n",  # a file a pattern matches
        "data/maps/qof_b.yml": "max_points: 6\n",  # a new file the pattern matches
        "data/extra/e.csv": "v\n2\n",  # a file in a path parameter's folder
        "data/extra/new.csv": "v\n3\n",  # a new file there
    }
    for rel, text in edits.items():
        path = mini / rel
        before = path.read_bytes() if path.exists() else None
        path.write_text(text)
        assert _reasons(), f"editing {rel} left the run fresh"
        path.unlink() if before is None else path.write_bytes(before)
        assert _reasons() == [], f"{rel} put back, yet stale: {_reasons()}"
    (mini / "data/maps/notes.txt").write_text("edited\n")  # matched by nothing it reads
    assert _reasons() == []

    nb = nbformat.read(mini / "notebooks" / "alpha.ipynb", as_version=4)
    nb.cells[3].source += "\n# changed\n"
    nbformat.write(nb, mini / "notebooks" / "alpha.ipynb")  # the notebook's code
    assert "source changed" in _reasons()

    default = (mini / "build/runs/alpha/default/tables/out.csv").read_bytes()
    sneaky = runner.run(pl.load(), ["alpha"], {"sneak": True})
    assert [o.status for o in sneaky] == ["failed"]
    message = sneaky[0].message
    assert message.startswith(
        "notebook 'alpha' read data/undeclared.csv, which is not among its declared inputs"
    )
    assert "\n" not in message.split("; partly executed")[0]
    assert (mini / "build/runs/alpha/default/tables/out.csv").read_bytes() == default
    assert list((mini / "build/runs/alpha").glob("p-*")) == []
