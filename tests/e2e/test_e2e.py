"""End to end: every declared notebook executed through the pipeline, then the book built."""

from __future__ import annotations

import json

import pytest

from analysis.compendium import pipeline as pl

pytestmark = pytest.mark.e2e
PIPELINE = pl.load()


def test_every_notebook_ran_with_its_declared_outputs(real_build):
    manifest = json.loads((real_build / "manifest.json").read_text())
    assert set(manifest["notebooks"]) == set(PIPELINE.notebooks)
    for name, notebook in PIPELINE.notebooks.items():
        run = manifest["notebooks"][name]
        assert run["parameters"] == notebook.defaults
        folder = real_build / "runs" / name / "default"
        for output in notebook.outputs:
            assert (folder / output).stat().st_size > 0, f"{name}: {output} is empty"
        executed = json.loads((folder / f"{name}.ipynb").read_text())
        errors = [
            o
            for c in executed["cells"]
            for o in c.get("outputs", [])
            if o["output_type"] == "error"
        ]
        assert not errors, f"{name} has error outputs"


def test_book_has_a_chapter_per_notebook_with_parameters(real_build):
    html = real_build / "book" / "html"
    assert (html / "index.html").exists()
    for name, notebook in PIPELINE.notebooks.items():
        page = (html / "chapters" / f"{name}.html").read_text()
        assert notebook.title.split(":")[0] in page
        for parameter in notebook.parameters:
            assert parameter in page, f"{name}: parameter {parameter} not shown"


def _stamps(build) -> dict[str, int]:
    """Modification times of every file of the default runs."""
    return {str(p): p.stat().st_mtime_ns for p in (build / "runs").rglob("*") if p.is_file()}


def test_noop_rerun_executes_nothing(real_state):
    """The snapshot's CLI run again on its own build: every notebook cached, nothing written.

    No time is asserted here (the machine is shared); `make bench` measures the no-op rerun.
    """
    import subprocess

    import guardedrun

    build = real_state.build
    before = _stamps(build)
    env = guardedrun.guarded_env(real_state.root, build, real_state.log)
    result = subprocess.run(
        [*guardedrun.CLI, "run"], capture_output=True, text=True, env=env, cwd=real_state.root
    )
    assert result.returncode == 0, result.stderr
    assert "executed" not in result.stderr.replace("0 executed", "")
    assert f"{len(PIPELINE.notebooks)} cached" in result.stderr
    assert _stamps(build) == before, "a no-op rerun rewrote run files"


def test_unchanged_book_is_not_rebuilt(real_state):
    """`compendium book` again with nothing changed: the cache key matches, no Sphinx run."""
    import subprocess

    import guardedrun

    build = real_state.build
    watched = [build / "book" / "html" / "index.html", build / "book-build.log"]
    before = [p.stat().st_mtime_ns for p in watched]
    env = guardedrun.guarded_env(real_state.root, build, real_state.log)
    result = subprocess.run(
        [*guardedrun.CLI, "book"], capture_output=True, text=True, env=env, cwd=real_state.root
    )
    assert result.returncode == 0, result.stderr
    assert [p.stat().st_mtime_ns for p in watched] == before


def test_plain_papermill_from_elsewhere_gives_the_pipeline_results(real_build, tmp_path):
    """A notebook run by hand (plain papermill, another working directory) behaves the same."""
    import os
    import subprocess
    import sys

    manifest = json.loads((real_build / "manifest.json").read_text())
    name = min(manifest["notebooks"], key=lambda n: manifest["notebooks"][n]["seconds"])
    notebook = PIPELINE.notebook(name)
    env = {**os.environ, "COMPENDIUM_BUILD": str(real_build)}
    papermill = [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3"]
    source = pl.repo_root() / notebook.source
    result = subprocess.run(
        [*papermill, str(source), str(tmp_path / "out.ipynb")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manual = real_build / "manual" / name / "default"  # the hand run's own parameter set
    assert json.loads((manual / "run.json").read_text())["runner"].startswith("hand")
    pipeline_run = real_build / "runs" / name / "default"
    tables = [out for out in notebook.outputs if out.endswith(".csv")]
    assert tables
    for table in tables:
        assert (manual / table).read_bytes() == (pipeline_run / table).read_bytes(), table


def test_the_books_rerun_example_runs_as_written(real_state, tmp_path):
    """The Reproducibility page's `compendium run ... -p ...` example, run as written on a
    copy of the session's build: it executes (a non-default set, in its own folder)."""
    import shlex
    import shutil
    import subprocess

    import guardedrun

    page = (real_state.build / "book-src" / "reproducibility.md").read_text(encoding="utf-8")
    examples = [
        line
        for line in page.splitlines()
        if line.startswith("compendium run ") and " -p " in line and "NOTEBOOK" not in line
    ]
    assert len(examples) == 1, examples
    build = tmp_path / "build"
    for folder in ("runs", "sweeps"):
        if (real_state.build / folder).is_dir():
            shutil.copytree(real_state.build / folder, build / folder)
    shutil.copy2(real_state.build / "manifest.json", build / "manifest.json")
    env = guardedrun.guarded_env(real_state.root, build, real_state.log)
    command = [*guardedrun.CLI, *shlex.split(examples[0])[1:]]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=real_state.root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "executed" in result.stderr and "results for this parameter set" in result.stderr
