"""A tiny project (pipeline file, notebooks, data) for testing the pipeline machinery fast."""

from __future__ import annotations

import textwrap
from pathlib import Path

import nbformat

SETUP = """\
from pathlib import Path
import time
import pandas as pd
from analysis.paths import data_dir, resolve_output_dir
out = resolve_output_dir(output_dir, "{name}")
(out / "tables").mkdir(exist_ok=True)
"""

NOTEBOOKS = {
    "alpha": (
        'n = 3\nlabel = "x"\nscale = 1.0\nmode = "a"\noutput_dir = ""',
        """\
frame = pd.read_csv(data_dir() / "input.csv")
frame["value"] = frame["value"] * scale * n
frame["label"] = label + mode
frame.to_csv(out / "tables" / "out.csv", index=False)
""",
    ),
    "beta": (
        'output_dir = ""',
        """\
from analysis.paths import run_dir
upstream = pd.read_csv(run_dir("alpha") / "tables" / "out.csv")
pd.DataFrame({"total": [upstream["value"].sum()]}).to_csv(out / "tables" / "sum.csv", index=False)
""",
    ),
    "gamma": (
        'fail = False\nsleep = 0.0\noutput_dir = ""',
        """\
time.sleep(sleep)
if fail:
    raise ValueError("gamma was asked to fail")
pd.DataFrame({"ok": [1]}).to_csv(out / "tables" / "gamma.csv", index=False)
""",
    ),
}

PIPELINE = """\
book:
  title: Mini
  front: [intro]
  back: []
notebooks:
  alpha:
    title: Alpha
    source: notebooks/alpha.ipynb
    timeout: 60
    parameters:
      n: {type: int, default: 3, min: 1, max: 100}
      label: {type: str, default: x}
      scale: {type: float, default: 1.0}
      mode: {type: str, default: a, choices: [a, b]}
    inputs: [data/input.csv]
    outputs: [tables/out.csv]
  beta:
    title: Beta
    source: notebooks/beta.ipynb
    inputs: ["alpha:tables/out.csv"]
    outputs: [tables/sum.csv]
  gamma:
    title: Gamma
    source: notebooks/gamma.ipynb
    timeout: 60
    parameters:
      fail: {type: bool, default: false}
      sleep: {type: float, default: 0.0, min: 0}
    outputs: [tables/gamma.csv]
"""


def make_notebook(parameters: str, body: str, name: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["kernelspec"]["language"] = "python"
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}"),
        params,
        nbformat.v4.new_code_cell(SETUP.format(name=name)),
        nbformat.v4.new_code_cell(textwrap.dedent(body)),
    ]
    return nb


def create(root: Path) -> Path:
    """Write the mini project under ``root`` and return it."""
    (root / "notebooks").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "book").mkdir()
    (root / "book" / "intro.md").write_text("# Mini\n")
    (root / "data" / "input.csv").write_text("value\n1\n2\n3\n")
    (root / "pipeline.yml").write_text(PIPELINE)
    for name, (parameters, body) in NOTEBOOKS.items():
        nbformat.write(make_notebook(parameters, body, name), root / "notebooks" / f"{name}.ipynb")
    return root
