"""The book's Performance page, generated from the kept benchmark results."""

from __future__ import annotations

import pandas as pd

from analysis.compendium import pipeline as pl
from analysis.compendium.book.collect import read_json
from analysis.compendium.book.markdown import markdown_table
from analysis.paths import build_dir


def performance_page(pipeline: pl.Pipeline) -> str:
    """Benchmark results: this build's last ``make bench``, else the run kept in the repository.

    ``build/bench/results.json`` is written by every ``make bench``; a full run also keeps its
    results in ``book/bench/results.json``, so a fresh clone's book shows a measured table.
    """
    from analysis.paths import repo_root

    sources = [
        build_dir() / "bench" / "results.json",
        repo_root() / "book" / "bench" / "results.json",
    ]
    found = next(((p, r) for p in sources if (r := read_json(p))), None)
    lines = ["# Performance", ""]
    if not found:
        lines.append("No benchmark results in this build: run `make bench` to measure.")
        return "\n".join(lines) + "\n"
    path, results = found
    recorded = results.get("recorded", {})
    where = "this build's" if path == sources[0] else "the repository's kept"
    measured = str(recorded.get("commit", "unknown"))
    current = str((read_json(build_dir() / "manifest.json") or {}).get("git_commit", "unknown"))
    same = measured[:12] == current[:12] and measured != "unknown"
    lines += [
        f"Results: {where} `{path.relative_to(path.parents[2])}`, measured "
        f"{recorded.get('date', 'at an unrecorded date')} on "
        f"{recorded.get('machine', 'an unrecorded machine')}.",
        "",
        f"- **Measured at commit:** `{measured}`",
        f"- **This book's runs are at commit:** `{current}`"
        + (
            " (the same)"
            if same
            else " (later or other code: these numbers may not describe it; run `make bench`)"
        ),
        "",
    ]
    if results.get("machine") == "busy":
        lines += ["```{warning}", "These numbers were measured on a busy machine.", "```", ""]
    if results.get("settings", {}).get("quick"):
        lines += [
            "```{note}",
            "These numbers come from a quick smoke run (`--quick`: one repeat, small panels), "
            "not from the benchmark; run `make bench` to measure.",
            "```",
            "",
        ]
    lines.append(results.get("summary", ""))
    notes = results.get("notes", {})
    for section, table in results.get("tables", {}).items():
        lines += ["", f"## {section}", ""]
        if notes.get(section):
            lines += [notes[section], ""]
        lines.append(markdown_table(pd.DataFrame(table)))
    return "\n".join(lines) + "\n"
