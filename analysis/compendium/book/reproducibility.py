"""The Reproducibility page: environment, commit, and every notebook's parameters, timings
and hashes, all read from the run manifest (``build/manifest.json``)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from analysis.compendium import pipeline as pl
from analysis.compendium.book.collect import read_json
from analysis.compendium.book.markdown import collapsed, inline_code, markdown_table
from analysis.compendium.lockfile import lock_line
from analysis.paths import build_dir


def _rerun_example(pipeline: pl.Pipeline) -> str:
    """A rerun with a non-default parameter that works: the quickest notebook (by its last
    run's time) with a parameter whose other value is safe by its declaration alone (another
    of its choices, or a shorter list of them; never a number picked from a range, which may
    clash with another parameter or the data). A test runs it as written."""
    manifest = read_json(build_dir() / "manifest.json") or {"notebooks": {}}

    def seconds(name: str) -> float:
        return float((manifest["notebooks"].get(name) or {}).get("seconds", float("inf")))

    for name in sorted(pipeline.order(), key=seconds):
        for param in pipeline.notebook(name).parameters.values():
            value = _other_value(param)
            if value is not None:
                return f"compendium run {name} -p {param.name}={value}"
    return "compendium run NOTEBOOK -p NAME=VALUE"


def _other_value(param: pl.Parameter) -> str | None:
    """A valid non-default value of a parameter, as typed on the command line."""
    if param.type == "bool":
        return str(not param.default).lower()
    if param.type == "str" and param.choices and len(param.choices) > 1:
        return next(str(c) for c in param.choices if c != param.default)
    if param.type.startswith("list[") and param.choices and len(param.default or []) > 1:
        return "'" + json.dumps(list(param.default)[:-1]) + "'"
    return None


def _value(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return inline_code(text if len(text) <= 90 else text[:87] + "...")


def reproducibility_page(pipeline: pl.Pipeline) -> str:
    """Environment, commit, and every notebook's parameters, timings and hashes."""
    manifest = read_json(build_dir() / "manifest.json") or {"notebooks": {}}
    env = manifest.get("environment", {})
    lines = [
        "# Reproducibility",
        "",
        "Everything on this page is read from the run manifest (`build/manifest.json`) "
        "written by `compendium run`; nothing is typed by hand.",
        "",
        f"- Git commit: `{manifest.get('git_commit', 'unknown')}` "
        "(`-dirty`: the working tree had uncommitted changes)",
        f"- Manifest written (UTC): {manifest.get('written', 'unknown')}",
        f"- Python: {env.get('python', 'unknown')} on {env.get('platform', 'unknown')}",
        lock_line(),
        "",
        "## Package versions",
        "",
    ]
    packages = env.get("packages", {})
    table = markdown_table(pd.DataFrame(packages.items(), columns=["package", "version"]))
    lines.append(collapsed(f"{len(packages)} packages", table))
    lines += ["## Notebook runs", ""]
    rows = []
    for name in pipeline.order():
        run = manifest["notebooks"].get(name)
        if not run:
            rows.append([name, "not run", "", ""])
            continue
        rows.append(
            [name, f"{run['seconds']:.1f} s", run["finished"], f"`{run['cache_key'][:12]}`"]
        )
    columns = ["notebook", "duration", "finished (UTC)", "cache key"]
    lines.append(markdown_table(pd.DataFrame(rows, columns=columns)))
    lines += ["## Parameters", ""]
    for name in pipeline.order():
        run = manifest["notebooks"].get(name) or {}
        notebook = pipeline.notebook(name)
        lines += [f"### {notebook.title}", ""]
        if not notebook.parameters:
            lines += ["No parameters.", ""]
            continue
        values = run.get("parameters", {})
        table = [
            [f"{inline_code(p.name)} ({p.type})", _value(values.get(p.name, "not run")), p.help]
            for p in notebook.parameters.values()
        ]
        frame = pd.DataFrame(table, columns=["parameter (type)", "value in this book", "meaning"])
        lines.append(markdown_table(frame))
    lines += ["## Input and output hashes (SHA-256)", ""]
    rows = []
    for name in pipeline.order():
        run = manifest["notebooks"].get(name)
        if not run:
            continue
        for ref, digest in run["cache"]["inputs"].items():
            rows.append([name, "input", inline_code(ref), f"`{digest[:16]}`"])
        for out, digest in run["outputs"].items():
            rows.append([name, "output", inline_code(out), f"`{digest[:16]}`"])
    if rows:
        columns = ["notebook", "kind", "file", "sha256 (first 16)"]
        table = markdown_table(pd.DataFrame(rows, columns=columns))
        lines.append(collapsed(f"{len(rows)} files of {len(manifest['notebooks'])} runs", table))
    lines += [
        "## Rerunning",
        "",
        "```bash",
        "make all            # install, execute every stale notebook, build this book",
        "make test           # the test suite, including a headless-browser check of this book",
        "compendium list     # every notebook and its parameters",
        "compendium status   # what is fresh or stale, and why",
        _rerun_example(pipeline),
        "```",
        "",
        "A non-default parameter set writes to its own folder, `build/runs/<notebook>/p-<hash>/`, "
        "and never overwrites the default results shown in this book.",
        "",
    ]
    return "\n".join(lines)
