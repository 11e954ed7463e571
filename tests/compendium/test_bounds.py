"""Bounds on what configuration drives, and the record of what a run reads.

Unit-level where the mechanism allows (a regular expression, a schema, the coverage of
declared inputs, a command task in a subprocess): each test takes a second or less. The
end-to-end cases (a notebook reading an undeclared file, a hand-edited book) are in the
bad-input corpus.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.compendium import clusters, observe, reads, sweeptask
from analysis.compendium import pipeline as pl
from analysis.compendium import sweep as sw
from analysis.configschema import ConfigError, load_config
from analysis.errors import EXIT_UNAVAILABLE, ServiceError, run_main
from analysis.patterns import ConfigPattern, PatternError

# --------------------------------------------------------------------------- patterns

CATASTROPHIC = r"^(?:(?P<year>.)|.|.|.)*Z"


def test_a_backtracking_pattern_runs_in_linear_time():
    # Python's re takes exponential time on this (minutes at 30 characters): RE2 does not.
    started = time.perf_counter()
    assert ConfigPattern(CATASTROPHIC, ["year"]).search("qof_2019-20" * 200) is None
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "text, message",
    [
        (r"(?P<year>\d{4})(?=-)", "look-around are not supported"),
        (r"(?P<year>\d)\1", "backreferences"),
        (r"\d{4}-\d{2}", r"needs a named group \(\?P<year>...\)"),
        ("(?P<year>" + "x" * 2000 + ")", "above the 1000 allowed"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_saying_why(text, message):
    with pytest.raises(PatternError, match=message):
        ConfigPattern(text, ["year"])


def test_a_pattern_extracts_as_pythons_would():
    pattern = ConfigPattern(r"^(?P<year>\d{4})(?:/\d{2})?$", ["year"])
    assert pattern.extract(["2014/15", "2014", "14/15", "2014/15"], "year") == [
        "2014", "2014", None, "2014"
    ]  # fmt: skip


def test_a_mapping_file_with_a_catastrophic_pattern_loads_and_runs_in_time(tmp_path):
    from analysis.indicators.sources import qof

    mapping = tmp_path / "qof_x.yml"
    mapping.write_text(
        "layout: x\nmax_points: 5\nyear_from_filename: '" + CATASTROPHIC + "'\ncolumns:\n"
        + "".join(f"  {f}: {f.upper()}\n" for f in qof.FIELDS)
    )  # fmt: skip
    loaded = qof.read_mapping(mapping)
    started = time.perf_counter()
    with pytest.raises(qof.DataError, match="the file name does not give a year"):
        qof.file_year(tmp_path / ("a" * 60 + ".csv"), loaded)
    assert time.perf_counter() - started < 1.0


# --------------------------------------------------------------------------- observed reads


def test_the_hook_records_reads_once_and_not_writes(tmp_path):
    log, data, out = tmp_path / "reads.log", tmp_path / "data.csv", tmp_path / "out.csv"
    data.write_text("x\n1\n")
    code = (
        "import sys, os; from analysis.compendium import observe; observe.install(sys.argv[1]);"
        "open(sys.argv[2]).read(); open(sys.argv[2], 'rb').read(); open(sys.argv[3], 'w');"
        "os.close(os.open(sys.argv[2], os.O_RDONLY))"
    )
    subprocess.run([sys.executable, "-c", code, log, data, out], check=True, cwd=tmp_path)
    recorded = observe.read_log(log)
    assert recorded.count(str(data)) == 1
    assert str(out) not in recorded


def test_coverage_of_files_folders_patterns_and_the_package(mini):
    (mini / "data" / "maps").mkdir()
    for name in ("qof_a.yml", "qof_b.yml", "other.yml"):
        (mini / "data" / "maps" / name).write_text("x: 1\n")
    (mini / "data" / "folder").mkdir()
    (mini / "data" / "folder" / "deep.csv").write_text("x\n")
    covered = reads.coverage(["data/input.csv", "data/maps/qof_*.yml"], ["data/folder"])
    read = [
        str(mini / "data" / "input.csv"),
        str(mini / "data" / "maps" / "qof_b.yml"),
        str(mini / "data" / "folder" / "deep.csv"),
        str(mini / "pipeline.yml"),
        reads.__file__,
        "/usr/share/zoneinfo/UTC",  # outside the project: not the key's business
        str(mini / "data" / "maps" / "other.yml"),
        str(mini / "build" / "runs" / "beta" / "default" / "tables" / "sum.csv"),
    ]
    missing = reads.undeclared(read, covered)
    assert [reads.project_relative(p) for p in missing] == [
        "<build>/runs/beta/default/tables/sum.csv",
        "data/maps/other.yml",
    ]
    message = reads.describe("alpha", "notebook", missing)
    assert message.startswith("notebook 'alpha' read <build>/runs/beta/default/tables/sum.csv")
    assert "(and 1 more)" in message and "\n" not in message


def test_a_pattern_input_is_keyed_on_the_files_it_matches(mini):
    from analysis.compendium import cache

    maps = mini / "data" / "maps"
    maps.mkdir()
    (maps / "qof_a.yml").write_text("max_points: 5\n")
    before = cache.input_digest("data/maps/qof_*.yml")
    (maps / "unrelated.txt").write_text("x")
    assert cache.input_digest("data/maps/qof_*.yml") == before
    (maps / "qof_b.yml").write_text("max_points: 6\n")  # a new mapping that matches
    added = cache.input_digest("data/maps/qof_*.yml")
    assert added != before
    (maps / "qof_a.yml").write_text("max_points: .inf\n")
    assert cache.input_digest("data/maps/qof_*.yml") not in (before, added)
    with pytest.raises(ValueError, match="in the file name only"):
        pl.check_data_input("data/*/qof.yml")


# --------------------------------------------------------------------------- sweep tasks

TASK = """\
import argparse, pathlib, subprocess, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--value", type=int)
parser.add_argument("--output")
args = parser.parse_args()
if args.value == 1:  # a child of the task, and the task, running past the timeout
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)  # orphan-marker"])
    time.sleep(30)
if args.value == 2:
    pathlib.Path("data/input.csv").read_text()
pathlib.Path(args.output).write_text("value\\n" + str(args.value) + "\\n")
"""


def _spec(mini: Path, value: int, **extra) -> dict:
    (mini / "task.py").write_text(TASK)
    folder = mini / "build" / "sweeps" / "s" / "tasks" / f"t{value}"
    return {
        "sweep": "s", "name": f"value={value}", "parameters": {"value": value}, "key": "k",
        "folder": str(folder), "output": "out.csv", "command": ["python", str(mini / "task.py")],
        "notebook": "", "pipeline": str(mini / "pipeline.yml"), "inputs": [], "timeout": 60,
        **extra,
    }  # fmt: skip


def _orphans() -> list[str]:
    """Command lines of running processes holding the marker (from /proc: not truncated)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "orphan-marker" in text and cmdline.parent.name != str(os.getpid()):
            found.append(text)
    return found


def test_a_task_past_its_timeout_is_stopped_with_everything_it_started(mini):
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"timed out after 1 s \(the sweep's timeout"):
        sweeptask.run_task(_spec(mini, 1, timeout=1))
    assert time.perf_counter() - started < 10
    time.sleep(0.2)
    assert _orphans() == []
    assert not list((mini / "build" / "sweeps" / "s" / "tasks").glob(".tmp-*"))


def test_a_task_reading_an_undeclared_project_file_fails_naming_it(mini):
    with pytest.raises(RuntimeError, match=r"sweep 's' read data/input\.csv, which is not"):
        sweeptask.run_task(_spec(mini, 2))
    sweeptask.run_task(_spec(mini, 2, inputs=["data/input.csv"]))  # declared: it runs
    assert (mini / "build" / "sweeps" / "s" / "tasks" / "t2" / "out.csv").is_file()
    assert not (mini / "build" / "sweeps" / "s" / "tasks" / "t2" / observe.READS_LOG).exists()


def test_sweep_declarations_are_checked_against_their_schema(mini):
    with (mini / "pipeline.yml").open("a") as handle:
        handle.write(
            "sweeps:\n  s:\n    command: [python, task.py]\n    grid: {value: [[1, [2]]]}\n"
            "    output: out.csv\n"
        )
    with pytest.raises(ConfigError, match=r"pipeline\.yml:\d+: sweeps\.s\.grid\.value\[0\]"):
        sw.load_sweeps(pl.load())
    text = (mini / "pipeline.yml").read_text().replace("[[1, [2]]]", "[1, 2]")
    (mini / "pipeline.yml").write_text(text + "    timeout: 0\n")
    with pytest.raises(ConfigError, match=r"pipeline\.yml:\d+: sweeps\.s\.timeout: 0 is less"):
        sw.load_sweeps(pl.load())


# --------------------------------------------------------------------------- clusters


@pytest.mark.parametrize("workers", [0, -1, True, "2"])
def test_worker_counts_are_whole_and_positive(workers):
    with pytest.raises(clusters.ClusterError, match="--workers: expected a whole number"):
        clusters.make_client(workers=workers)


@pytest.mark.parametrize("address", ["localhost", "tcp://host", "http://h:80", "tcp://h:80/x"])
def test_a_scheduler_address_is_checked_before_connecting(address):
    with pytest.raises(clusters.ClusterError, match="is not a Dask scheduler address"):
        clusters.make_client(scheduler=address)


def test_a_scheduler_nobody_answers_is_a_service_error_not_a_bad_input(monkeypatch, capsys):
    monkeypatch.setattr(clusters, "CONNECT_SECONDS", 1)

    def main(argv):
        clusters.make_client(scheduler="tcp://127.0.0.1:9")

    assert run_main(main, []) == EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered within 1 s" in err
    assert err.count("\n") == 1 and "a file" not in err


SLURM = "queue: short\ncores: 2\nmemory: 4GB\nwalltime: '00:10:00'\n"


@pytest.mark.parametrize(
    "text, message",
    [
        (SLURM.replace("cores: 2", "cores: two"), r":2: cores: expected integer, got 'two'"),
        (SLURM.replace("4GB", "lots"), r":3: memory: 'lots' does not match"),
        (SLURM + "acount: x\n", r":5: \(top level\): unknown key\(s\) acount"),
        (SLURM.replace("cores: 2", "cores: .inf"), r":2: cores: expected integer"),
    ],
)
def test_slurm_settings_are_checked_naming_line_and_key(tmp_path, text, message):
    config = tmp_path / "slurm.yml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        clusters.slurm_settings(config)


def test_slurm_without_sbatch_or_refusing_the_job_is_one_line(tmp_path, monkeypatch):
    config = tmp_path / "slurm.yml"
    config.write_text(SLURM)
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    with pytest.raises(ServiceError, match=r"^--cluster slurm: sbatch is not on the PATH"):
        clusters.slurm_cluster(config, jobs=1)
    fake = tmp_path / "sbatch"
    fake.write_text("#!/bin/sh\necho 'sbatch: error: invalid partition specified: short' >&2\n"
                    "exit 1\n")  # fmt: skip
    fake.chmod(0o755)
    with pytest.raises(ServiceError, match=r"refuses the job script: sbatch: error: invalid part"):
        clusters.slurm_cluster(config, jobs=1)


def test_a_local_cluster_prints_no_dashboard_warning_while_port_8787_is_taken():
    import socket
    import warnings

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pytest.skip("port 8787 is in use by something else already")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = clusters.make_client(workers=1)
            clusters.close_client(client)
        assert not [w for w in caught if "already in use" in str(w.message)]
    finally:
        holder.close()


def test_a_config_file_is_read_by_the_bounded_reader(tmp_path):
    bomb = tmp_path / "slurm.yml"
    bomb.write_text("a: &a [x, x]\nb: [*a, *a]\n")
    with pytest.raises(Exception, match=r"slurm\.yml:2: YAML aliases"):
        load_config(bomb, clusters.SLURM_SCHEMA)


def test_kernels_and_tasks_die_with_their_parent(tmp_path):
    # The parent installs the hook in a child (as a kernel does) and is killed outright.
    child = (
        "import sys, time; from analysis.compendium import observe; "
        "observe.install(sys.argv[1]); time.sleep(30)  # orphan-marker"
    )
    parent = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {child!r}, sys.argv[1]]); time.sleep(30)"
    )
    log = tmp_path / "r.log"
    proc = subprocess.Popen([sys.executable, "-c", parent, str(log)])
    deadline = time.time() + 20
    while not log.exists() and time.time() < deadline:  # the child has installed the hook
        time.sleep(0.1)
    assert log.exists() and len(_orphans()) == 2, "the child did not start"
    proc.kill()
    proc.wait()
    deadline = time.time() + 5
    while _orphans() and time.time() < deadline:
        time.sleep(0.1)
    assert _orphans() == [], "the child outlived its killed parent"


def _parses_yaml(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "yaml"
        and node.attr in {"safe_load", "load", "full_load", "unsafe_load", "load_all"}
    )


def test_every_yaml_file_goes_through_the_bounded_reader():
    """Only analysis.safeyaml parses YAML (the pipeline's line-keeping loader goes through it)."""
    package = Path(reads.__file__).resolve().parents[1]
    found = []
    for file in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if _parses_yaml(node):
                found.append(f"{file.relative_to(package)}:{node.lineno}")
    assert {f.split(":")[0] for f in found} == {"safeyaml.py"}, found


def test_a_command_line_value_is_read_within_the_same_bounds():
    with pytest.raises(pl.PipelineError, match=r"parameter x:1: YAML aliases"):
        pl.parse_assignment("x=[&a [1, 1], *a, *a]")
    assert pl.parse_assignment("x=[1, 2]") == ("x", [1, 2])
    assert pl.parse_assignment("x=a: b: c") == ("x", "a: b: c")  # not YAML: text


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize(
    "numerator, denominator, message",
    [
        ("inf", "100", "column 'numerator': not a finite whole number"),
        ("3.5", "100", "column 'numerator': not a finite whole number"),
        ("3", "1e-9", "column 'denominator': not a finite whole number"),
        ("0", "0.5", "column 'denominator': below 1"),
    ],
)
def test_counts_in_a_users_panel_are_finite_whole_numbers(numerator, denominator, message):
    import pandas as pd

    from analysis.indicators.sources.contract import validate_observations
    from analysis.indicators.sources.panel import read_catalogue

    frame = pd.DataFrame(
        {
            "practice_code": ["A81001", "A81002"],
            "year": [2010, 2010],
            "indicator_id": ["PRE02", "PRE02"],
            "numerator": ["2", numerator],
            "denominator": ["10", denominator],
        }
    )
    with pytest.raises(Exception, match=message) as caught:
        validate_observations(frame, read_catalogue(), name="user.csv")
    assert "line(s) 3" in str(caught.value)
    frame.loc[1, ["numerator", "denominator"]] = ["3", "100"]
    assert len(validate_observations(frame, read_catalogue(), name="user.csv")) == 2
