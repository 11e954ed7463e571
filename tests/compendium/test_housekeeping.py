"""``compendium status`` lists every parameter set and failed run; ``compendium clean``
removes them and leftover temporary folders, under the lock (no kernel is started here)."""

from __future__ import annotations

import json

from analysis.compendium import atomic
from analysis.compendium import pipeline as pl
from analysis.compendium.cli import main


def _folders(mini):
    runs = mini / "build" / "runs"
    for name, text in [("alpha/p-1234567890", "a"), ("gamma/failed-default", "b" * 2000)]:
        (runs / name / "tables").mkdir(parents=True)
        (runs / name / "tables" / "x.csv").write_text(text)
    (runs / "alpha" / "p-1234567890" / "run.json").write_text(
        json.dumps({"parameters": {"n": 5, "label": "x", "scale": 1.0, "mode": "a"}})
    )
    leftover = runs / "alpha" / ".tmp-999999-default-abc"
    leftover.mkdir()
    (mini / "build" / "sweeps" / "s" / "tasks" / ".tmp-task").mkdir(parents=True)
    return runs


def test_status_lists_every_set_and_failed_run_with_size_and_age(mini, capsys):
    _folders(mini)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    alpha = lines.index(next(line for line in lines if line.startswith("alpha ")))
    assert lines[alpha + 1].split()[0] == "p-1234567890"
    assert "stale (" in lines[alpha + 1] and '{"label":"x","mode":"a","n":5' in lines[alpha + 1]
    failed = next(line for line in lines if "failed-default" in line)
    assert "failed, 2.0 kB, " in failed and " s ago" in failed


def test_clean_as_in_the_readme_removes_failed_runs_and_leftovers_only(mini, capsys):
    runs = _folders(mini)
    assert main(["clean", "--failed"]) == 0
    assert not (runs / "gamma" / "failed-default").exists()
    assert (runs / "alpha" / "p-1234567890").exists()
    assert atomic.leftovers(mini / "build") == []  # temporary folders of killed commands
    assert main(["clean", "alpha", "--set", "p-1234567890"]) == 0
    assert not (runs / "alpha" / "p-1234567890").exists()
    assert main(["clean", "--set", "p-0000000000"]) == 0
    assert "no parameter set p-0000000000 to remove" in capsys.readouterr().err


def test_clean_waits_for_no_one_and_touches_nothing_while_a_run_holds_the_lock(mini):
    runs = _folders(mini)
    with atomic.build_lock("compendium run"):
        assert main(["clean", "--failed"]) == 2
    assert (runs / "gamma" / "failed-default").exists()
    assert pl.load().notebook("alpha")
