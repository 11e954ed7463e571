"""The benchmark harness: its arithmetic by hand, and one real quick run end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import miniproject
import nbformat
import pytest

from analysis.bench import load as benchload
from analysis.bench import measure, steps, tools
from analysis.bench import results as bench_results
from analysis.bench import targets as tg
from analysis.bench.derive import (
    growth_exponent,
    median,
    pipeline_floor,
    ratio,
    targets,
)
from analysis.bench.tables import report
from analysis.compendium import pipeline as pl
from analysis.compendium.book.performance import performance_page


def test_pipeline_floor_hand_worked():
    # a -> b, c independent; kernel 1 s; compute a 2, b 3, c 4; 2 cores.
    compute = {"a": 2.0, "b": 3.0, "c": 4.0}
    floor = pipeline_floor(compute, 1.0, {"b": ["a"], "a": [], "c": []}, cores=2)
    assert floor == {"work": 12.0, "spread": 6.0, "chain": 7.0, "floor": 7.0}
    # With 4 cores the chain a -> b still takes 7 s; with 1 core all the work, 12 s.
    assert pipeline_floor(compute, 1.0, {"b": ["a"]}, cores=1)["floor"] == 12.0
    assert pipeline_floor(compute, 1.0, {"b": ["a"]}, cores=4)["floor"] == 7.0
    # c reads sweep s, whose two task processes take 5 and 6 s (no kernel): the chain is
    # 6 + 1 + 4 = 11 s; the work 12 + 11 = 23 s, 11.5 s over 2 cores.
    tasks = {"sweep:s/x=1": 5.0, "sweep:s/x=2": 6.0, "sweep:other/y=1": 50.0}
    upstream = {"b": ["a"], "c": ["sweep:s"]}
    with_sweep = pipeline_floor(compute, 1.0, upstream, cores=2, tasks=tasks)
    assert with_sweep["chain"] == 50.0  # the other sweep's task alone is the longest chain
    del tasks["sweep:other/y=1"]
    floor = pipeline_floor(compute, 1.0, upstream, cores=2, tasks=tasks)
    assert floor == {"work": 23.0, "spread": 11.5, "chain": 11.0, "floor": 11.5}


def test_growth_exponent_recovers_power_laws():
    sizes = [1_000, 7_000, 30_000]
    assert growth_exponent(sizes, [2e-3 * n for n in sizes]) == pytest.approx(1.0)
    assert growth_exponent(sizes, [5e-7 * n**2 for n in sizes]) == pytest.approx(2.0)
    assert growth_exponent(sizes, [3.0, 3.0, 3.0]) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(growth_exponent([1_000], [1.0]))


def test_median_and_ratio_handle_missing_values():
    assert median([3.0, 1.0, 2.0, math.nan]) == 2.0
    assert math.isnan(median([]))
    assert ratio(6.0, 3.0) == 2.0
    assert math.isnan(ratio(1.0, 0.0)) and math.isnan(ratio(None, 1.0))


def test_dependants_and_changed_values():
    upstream = {"alpha": [], "beta": ["alpha"], "gamma": [], "delta": ["beta"]}
    assert tools.dependants(upstream, "alpha") == {"alpha", "beta", "delta"}
    assert tools.dependants(upstream, "gamma") == {"gamma"}
    assert steps.changed_value({"type": "str", "default": "a", "choices": ["a", "b"]}) == (
        0,
        "b",
    )
    assert steps.changed_value({"type": "int", "default": 100, "max": 100}) == (1, 99)
    assert steps.changed_value({"type": "float", "default": 0.95, "max": 0.99}) == (
        2,
        pytest.approx(0.97),
    )
    assert steps.changed_value({"type": "list[str]", "default": ["x", "y"]}) == (3, ["x"])
    assert steps.changed_value({"type": "bool", "default": False}) == (4, True)
    assert steps.changed_value({"type": "str", "default": "free text"}) is None


def test_choose_change_prefers_choices_on_the_cheapest_notebook(mini):
    raw = tools.load_pipeline(mini)
    compute = {"alpha": 3.0, "beta": 1.0, "gamma": 2.0}
    # beta has no parameters; gamma's bool `fail` comes last; alpha's `mode` has choices.
    assert steps.choose_change(raw, compute) == ("gamma", "sleep", pytest.approx(0.1))
    assert steps.choose_change(raw, {"alpha": 1.0, "beta": 1.0, "gamma": 2.0}) == (
        "alpha",
        "mode",
        "b",
    )
    assert steps.parse_change("alpha:n=7") == ("alpha", "n", 7)
    with pytest.raises(tools.BenchError, match="NOTEBOOK:NAME=VALUE"):
        steps.parse_change("alpha.n=7")


def test_set_default_changes_only_that_default(mini):
    steps.set_default(mini, "alpha", "mode", "b")
    pipeline = pl.load()
    assert pipeline.notebook("alpha").defaults == {"n": 3, "label": "x", "scale": 1.0, "mode": "b"}
    assert pipeline.notebook("gamma").defaults == {"fail": False, "sleep": 0.0}


def test_copy_project_leaves_out_generated_folders(mini, tmp_path):
    (mini / "build" / "runs").mkdir(parents=True)
    (mini / "build" / "runs" / "x.csv").write_text("x\n")
    (mini / "notebooks" / "__pycache__").mkdir()
    (mini / "notebooks" / "__pycache__" / "y.pyc").write_bytes(b"")
    copy = tools.copy_project(mini, tmp_path / "copy")
    copied = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert copied == sorted(
        ["pipeline.yml", "book/intro.md", "data/input.csv"]
        + [f"notebooks/{n}.ipynb" for n in ("alpha", "beta", "gamma")]
    )


def test_notebook_compute_sums_cell_durations(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("2")]
    nb.cells[0].metadata["papermill"] = {"duration": 1.25}
    nb.cells[1].metadata["papermill"] = {"duration": None}
    nbformat.write(nb, tmp_path / "x.ipynb")
    assert tools.notebook_compute(tmp_path / "x.ipynb") == 1.25


def test_targets_judge_hand_made_measurements():
    raw = {
        "notebooks": ["a", "b"],
        "upstream": {"a": [], "b": []},
        "errors": [],
        "load": [1.0, 2.0],
        "kernel_floor": [1.0, 1.0, 1.0],
        "pipeline": {"cold": [6.0], "serial": [11.0], "noop": [0.5], "compute": [{"a": 4, "b": 4}]},
        "change": {"notebook": "a", "parameter": "p", "value": 1, "expected": ["a"],
                   "runs": [{"seconds": 5.0, "executed": ["a"], "only_changed": True}]},
        "independent": {"notebooks": 4, "serial": [10.0], "parallel": [5.5]},
        "peers": {"papermill": [12.0], "nbconvert": [13.0], "jb_cache_cold": [20.0],
                  "jb_cache_rerun": [3.0], "jb_force": [20.0]},
    }  # fmt: skip
    rows = {r["target"]: r for r in targets(report(raw, cores=2, repeat=1)["derived"])}
    # floor: work (1 + 4) * 2 = 10 over 2 cores = 5; cold 6 s is 1.2 x the floor.
    assert rows["cold run within 1.3 x the floor"]["result"] == "met"
    assert rows["cold run within 1.3 x the floor"]["measured"].startswith("1.20 x")
    assert rows["no-op rerun under 2 s"]["result"] == "met"
    assert rows["a one-parameter change re-runs only that notebook"]["result"] == "met"
    assert rows["parallel speed-up >= 1.6 x on independent notebooks"]["result"] == "met"
    assert rows["faster than every peer on a cold run"]["result"] == "met"
    # The fastest rerun peer (jupyter-book cache, 3 s) is 6 x the 0.5 s no-op.
    far = rows["far faster than every peer on a rerun (>= 5 x)"]
    assert far["result"] == "met" and "6.00 x" in far["measured"]
    raw["pipeline"]["noop"] = [2.5]
    rows = {r["target"]: r for r in targets(report(raw, cores=2, repeat=1)["derived"])}
    assert rows["no-op rerun under 2 s"]["result"] == "missed"
    assert rows["far faster than every peer on a rerun (>= 5 x)"]["result"] == "missed"


@pytest.mark.e2e
@pytest.mark.slow
def test_quick_bench_writes_the_results_the_book_shows(tmp_path, monkeypatch):
    """A real quick run on the mini project: every section of the engine measured (the
    real-data workers and the growing synthetic panels are measured by `make bench`; their
    tables are judged from hand-made measurements above), no errors."""
    root = miniproject.create(tmp_path / "project")
    (root / "book" / "references.bib").write_text("")
    with (root / "pipeline.yml").open("a") as pipeline:
        pipeline.write(
            "sweeps:\n  simulation:\n"
            "    command: [python, -m, analysis.indicators.synthetic.simulation]\n"
            "    grid: {batch: [0, 1]}\n    fixed: {replications: 1}\n"
            "    output: replications.csv\n"
        )
    out = tmp_path / "build" / "bench" / "results.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.bench",
            "--quick",
            "--only",
            "floors,pipeline,parallel,peers,sweep,england",
            "--root",
            str(root),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    results = json.loads(out.read_text())
    assert results["raw"]["errors"] == [], results["raw"]["errors"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert isinstance(results["summary"], str) and "median" in results["summary"]
    assert list(results["tables"]) == [
        "Targets",
        "Our pipeline against the usual ways of running notebooks",
        "Floors",
        "Our pipeline",
        "Targets of reruns, rebuilds and compute time",
        "Targets of one analysis and the sweeps on Dask",
        "Sweeps on Dask",
        "Targets of the REAL networks chapter",
        "England scale: every PCN, every indicator",
        "Machine load",
        "Spread of the repeated runs",
    ]
    assert {row["machine"] for row in results["tables"]["Targets"]} <= {"busy", "quiet"}
    assert results["machine"] in {"busy", "quiet"}
    assert results["machine"] in results["summary"].splitlines()[0].lower() or (
        results["machine"] == "quiet" and "No measurement competed" in results["summary"]
    )
    commands = results["raw"]["commands"]
    assert all(r["load_before"] >= 0 and r["load_during_peak"] >= 0 for c in commands.values()
               for r in c)  # fmt: skip
    assert len(commands["independent"]) == 2  # one serial and one parallel run
    sweep = results["raw"]["sweep"]
    assert sweep["tasks"] == 2
    assert sweep["fixed"]["replications"] == measure.QUICK_SWEEP_REPLICATIONS
    assert all(len(sweep["runs"][k]) == 1 for k in ("serial", "workers_1", "workers_2"))
    assert len(results["tables"]["Sweeps on Dask"]) == 3
    analysis = [r["result"] for r in results["tables"][tg.ANALYSIS]]
    # no synthetic panel measured here: the analysis target cannot be judged
    assert analysis[0] == "n/a" and set(analysis[1:]) <= {"met", "missed"}
    assert "scaling" not in results["raw"] and "realchapter" not in results["raw"]
    assert {row["result"] for row in results["tables"]["Targets of the REAL networks chapter"]} == {
        "n/a"
    }
    rebuilds = results["raw"]["book_rebuilds"]
    assert len(rebuilds["noop"]) == len(rebuilds["one_chapter"]) == 1
    reruns = {r["target"]: r for r in results["tables"][tg.RERUNS]}
    verdicts = {target.split(" ")[0]: row["result"] for target, row in reruns.items()}
    # The mini project has no quality-indicator notebook: that target cannot be judged here.
    assert verdicts.pop("quality-indicator") == "n/a"
    assert len(verdicts) == 4 and set(verdicts.values()) <= {"met", "missed"}
    assert results["recorded"]["commit"] and results["recorded"]["date"]
    for rows in results["tables"].values():
        assert rows and all(isinstance(r, dict) for r in rows)
        assert all(isinstance(v, str) for r in rows for v in r.values())
    verdicts = {row["target"]: row["result"] for row in results["tables"]["Targets"]}
    # only the growth with panel size needs the synthetic panels this run leaves out
    growth = "analysis time grows no worse than linearly with panel size"
    assert len(verdicts) == 8 and verdicts.pop(growth) == "n/a"
    assert "n/a" not in verdicts.values()
    assert set(results["notes"]) <= set(results["tables"]) and results["settings"]["quick"]
    derived = results["derived"]
    assert derived["noop_s"] < derived["cold_s"]
    assert derived["kernel"] > 0 and derived["floor"]["floor"] >= derived["kernel"]
    assert set(derived["compute"]) == {"alpha", "beta", "gamma"}
    assert derived["change_only"] is True
    peers = results["raw"]["peers"]
    assert {k for k, v in peers.items() if v} == {
        "papermill", "nbconvert", "jb_cache_cold", "jb_cache_rerun", "jb_force",
    }  # fmt: skip

    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "build"))
    page = performance_page(pl.load(Path(root) / "pipeline.yml"))
    assert results["summary"].splitlines()[0] in page
    assert "quick smoke run" in page
    assert "this build's" in page and results["recorded"]["commit"] in page
    for section, rows in results["tables"].items():
        assert f"## {section}" in page
        assert "| " + " | ".join(rows[0]) + " |" in page


# --------------------------------------------------------------------------- load and spread


def _record(before: float, peak: float) -> dict:
    return {"command": "x", "load_before": before, "load_during_median": peak / 2,
            "load_during_peak": peak, "seconds": 1.0}  # fmt: skip


def test_busy_means_load_before_or_a_peak_beyond_our_own_processes():
    # Two cores: busy above 1.0 before, or above 2 + 1 = 3.0 at the peak.
    assert not benchload.is_busy(_record(0.9, 3.0), cores=2)
    assert benchload.is_busy(_record(1.1, 0.5), cores=2)
    assert benchload.is_busy(_record(0.2, 3.1), cores=2)
    assert not benchload.is_busy(_record(1.9, 5.9), cores=8)
    load = benchload.section_load([_record(0.2, 2.0), _record(1.5, 2.5)], cores=2)
    assert load == {"commands": 2, "busy": 1, "before_min": 0.2, "before_max": 1.5,
                    "during_median": 1.125, "during_peak": 2.5, "other_max": None}  # fmt: skip
    assert benchload.machine_state({"a": load}) == "busy"
    assert benchload.machine_state({"a": {"commands": 1, "busy": 0}}) == "quiet"
    [row] = benchload.load_rows({"pipeline": load}, cores=2)
    assert row["machine"] == "busy (1 of 2)" and row["load before (min to max)"] == "0.2 to 1.5"


def test_busy_means_other_work_took_a_tenth_of_the_cores_when_it_can_be_measured():
    # 5 CPU-seconds busy on the machine, 3 of them ours, over 2 s on 2 cores: other work 50%.
    assert benchload.other_share(5.0, 3.0, 2.0, 2) == 0.5
    assert benchload.other_share(3.0, 3.5, 2.0, 2) == 0.0  # rounding never goes negative
    assert benchload.other_share(4.2, 0.1, 2.0, 2) == 1.0  # nor past every core
    # The share decides, whatever the lagging load average says.
    quiet = {**_record(1.9, 3.9), "other_cpu_share": 0.05}
    busy = {**_record(0.1, 0.5), "other_cpu_share": 0.15}
    assert not benchload.is_busy(quiet, cores=2) and benchload.is_busy(busy, cores=2)
    load = benchload.section_load([quiet, busy], cores=2)
    assert load["busy"] == 1 and load["other_max"] == 0.15
    [row] = benchload.load_rows({"pipeline": load}, cores=2)
    assert row["other work (largest share of the cores)"] == "15%"


def test_own_cpu_counts_the_commands_we_started():
    # A child that burns 0.8 s of CPU is ours: it must not show as other work.
    before_own, before_machine = benchload.own_cpu_seconds(), benchload.machine_cpu_seconds()
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.8: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert benchload.own_cpu_seconds() - before_own >= 0.75
    if before_machine is not None:  # Linux: the machine was at least that busy
        assert benchload.machine_cpu_seconds() - before_machine >= 0.7


def test_load_log_records_before_and_during_each_command():
    log = benchload.LoadLog()
    with log.measure("sleep"):
        time.sleep(0.6)
    [record] = log.records
    assert record["command"] == "sleep" and record["seconds"] >= 0.6
    assert record["load_during_peak"] >= record["load_during_median"] >= 0
    assert record["other_cpu_share"] is None or 0 <= record["other_cpu_share"] <= 1
    assert log.since(1) == [] and log.since(0) == [record]


def test_spread_and_paired_speedups_by_hand():
    assert benchload.spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}
    assert benchload.spread([]) is None
    assert benchload.paired_speedups([10.0, 12.0], [5.0, 8.0]) == [2.0, 1.5]
    rows = benchload.spread_rows({"independent": {"serial": [10.0, 12.0], "parallel": [5.0, 8.0]}})
    by = {r["measurement"]: r for r in rows}
    pair = by["speed-up on independent notebooks, per pair (x)"]
    assert (pair["median"], pair["min"], pair["max"], pair["runs"]) == ("1.75", "1.50", "2.00", "2")


def test_performance_page_falls_back_to_the_kept_results(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "empty-build"))
    assert "No benchmark results" in performance_page(pl.load())
    kept = mini / "book" / "bench" / "results.json"
    kept.parent.mkdir(parents=True)
    document = {
        "summary": "Measured on a test.",
        "machine": "busy",
        "recorded": {"date": "2026-11-30T12:00:00+00:00", "machine": "box", "commit": "abc123"},
        "tables": {"Targets": [{"target": "t", "measured": "1 s", "result": "met"}]},
    }
    kept.write_text(json.dumps(document))
    page = performance_page(pl.load())
    assert "the repository's kept `book/bench/results.json`" in page
    assert "2026-11-30T12:00:00+00:00 on box." in page
    # The commit measured at, beside the commit of this book's runs (none in this build).
    assert "- **Measured at commit:** `abc123`" in page
    assert "- **This book's runs are at commit:** `unknown`" in page and "may not describe" in page
    assert "measured on a busy machine" in page
    assert "| t | 1 s | met |" in page


def test_rerun_and_rebuild_targets_by_hand():
    raw = {
        "pipeline": {"noop": [0.5, 0.7, 0.6], "serial_compute": [
            {"quality_indicators": 7.9}, {"quality_indicators": 7.5}, {"quality_indicators": 7.7}
        ]},
        "book_rebuilds": {"chapter": "gamma", "noop": [0.9, 1.0, 0.8],
                          "one_chapter": [4.0, 6.0, 5.5]},
        "independent": {"notebooks": 4, "serial": [10.0, 12.0, 11.0], "parallel": [5.0, 8.0, 5.5]},
    }  # fmt: skip
    # the parallel runs' 9.0 s is shown; the runs alone (median 7.7 s) are judged
    derived = {"floor": {"floor": 10.0}, "cold_s": 11.0, "compute": {"quality_indicators": 9.0}}
    rows = {r["target"].split(" ")[0] + r["target"].split(" ")[1]: r for r in
            tg.rerun_rows(raw, derived)}  # fmt: skip
    # make all = 0.6 + 0.9 = 1.5 s < 2 s; one chapter median 5.5 s >= 5 s.
    assert rows["makeall"]["result"] == "met" and rows["makeall"]["measured"].startswith("1.50 s")
    assert rows["compendiumbook"]["result"] == "missed"
    assert "median 5.50 (range 4.00 to 6.00, n=3)" in rows["compendiumbook"]["measured"]
    # 11 / 10 = 1.1 <= 1.15; pairs 2.0, 1.5, 2.0 -> median 2.0 >= 1.7; 7.5 s < 8 s.
    assert rows["coldrun"]["result"] == "met" and rows["coldrun"]["measured"].startswith("1.10 x")
    assert rows["parallelspeed-up"]["result"] == "met"
    assert "median 2.00 (range 1.50 to 2.00, n=3)" in rows["parallelspeed-up"]["measured"]
    assert rows["quality-indicatornotebook's"]["result"] == "met"
    assert rows["quality-indicatornotebook's"]["measured"].startswith(
        "median 7.70 (range 7.50 to 7.90, n=3) s alone"
    )
    assert "9.00 s beside another notebook" in rows["quality-indicatornotebook's"]["measured"]
    raw["pipeline"] = {}
    rows = tg.rerun_rows(raw, {})
    assert [r["result"] for r in rows] == ["n/a", "missed", "n/a", "met", "n/a"]


def test_analysis_and_sweep_targets_and_sweep_table_by_hand():
    raw = {
        "scaling": [{"n_practices": 7000, "runs": [{"analyse": {"seconds": t}} for t in
                                                   (1.2, 1.6, 1.4)]}],
        "sweep": {"tasks": 8, "fixed": {"replications": 8},
                  "runs": {"serial": [16.0, 18.0], "workers_1": [16.0, 17.0],
                           "workers_2": [10.0, 8.5]},
                  "seconds": {"serial": 17.0}, "speedup_pairs": [1.6, 2.0],
                  "dask_overhead_seconds_per_task": 0.002},
    }  # fmt: skip
    rows = tg.analysis_rows(raw)
    # median 1.4 s <= 1.5 s; speed-up median 1.8 >= 1.7; 2 ms < 1% of 17/8 = 2.125 s.
    assert [r["result"] for r in rows] == ["met", "met", "met"]
    assert "median 1.40 (range 1.20 to 1.60, n=3)" in rows[0]["measured"]
    assert "median 1.80 (range 1.60 to 2.00, n=2)" in rows[1]["measured"]
    assert rows[2]["measured"].startswith("2.00 ms per task; a task takes 2.12 s")
    raw["sweep"]["speedup_pairs"] = [1.5, 1.6]
    raw["sweep"]["dask_overhead_seconds_per_task"] = 0.05
    raw["scaling"][0]["runs"][1]["analyse"]["seconds"] = 1.7
    raw["scaling"][0]["runs"][2]["analyse"]["seconds"] = 1.6
    assert [r["result"] for r in tg.analysis_rows(raw)] == ["missed"] * 3
    table = tg.sweep_rows(raw)
    assert [r["how"] for r in table] == [
        "serially, one process per task", "LocalCluster, 1 worker", "LocalCluster, 2 workers",
    ]  # fmt: skip
    # 8 tasks in a median 9.25 s on two workers = 51.9 tasks per minute
    assert table[2]["tasks per minute"] == "51.9"
    assert [r["result"] for r in tg.analysis_rows({})] == ["n/a"] * 3
    assert tg.sweep_rows({}) == []


def test_summary_names_the_missed_targets_of_the_further_tables():
    tables = {
        tg.RERUNS: [{"target": "a", "result": "met"}, {"target": "b", "result": "missed"}],
        tg.ANALYSIS: [{"target": "c", "result": "missed"}, {"target": "d", "result": "n/a"}],
    }
    note = bench_results.missed_note({"tables": tables})
    assert note == "\n\nOther targets missed: b; c (their rows say by how much)."
    tables[tg.RERUNS][1]["result"] = tables[tg.ANALYSIS][0]["result"] = "met"
    assert bench_results.missed_note({"tables": tables}) == ""


def test_real_chapter_targets_are_judged_from_the_workers_medians():
    chapter = {"tables_seconds": 3.0, "figures_seconds": 4.0, "peak_mb": 400.0}
    raw = {
        "realchapter": {
            "panel": [
                {
                    "seconds": s,
                    "peak_mb": 300.0,
                    "practices": 6741,
                    "years": 5,
                    "indicators": 10,
                    "rows": 324060,
                }
                for s in (9.0, 12.0, 11.0)
            ],  # fmt: skip
            "chapter": [chapter, {**chapter, "figures_seconds": 6.0}, chapter],
        }
    }
    panel, figures, memory = tg.real_chapter_rows(raw)
    assert panel["result"] == "missed" and "median 11.00" in panel["measured"]
    assert "6741 practices x 5 years x 10 indicators" in panel["note"]
    assert figures["result"] == "met" and "median 4.00" in figures["measured"]
    assert memory["result"] == "met" and memory["measured"].startswith("400 MB")
    assert all(row["result"] == "n/a" for row in tg.real_chapter_rows({}))


def test_england_rows_judge_time_and_memory_from_fresh_runs():
    runs = [
        {"data": "SYNTHETIC table", "seconds": s, "peak_mb": m, "steps": {"prepare": s / 4}}
        for s, m in ((1.0, 300.0), (4.0, 2500.0), (2.0, 310.0))
    ]
    time_row, memory_row = tg.england_rows({"england": runs})
    assert time_row["result"] == "met" and "median 2.00" in time_row["measured"]
    assert memory_row["result"] == "missed" and memory_row["measured"].startswith("2500 MB")
    assert [r["result"] for r in tg.england_rows({})] == ["n/a", "n/a"]
