"""Command-line paths: an empty argument is refused by every command that takes a path, before
anything is read or written (``Path("")`` is the working folder, where a command would write)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from commandline import parser_exit

from analysis.bench import command as bench
from analysis.bench import sweeps as bench_sweeps
from analysis.compendium import cli
from analysis.indicators.sources import fingertips, qofmembership, structures, widetable
from analysis.indicators.synthetic import panel, simulation
from analysis.paths import path_argument

COMMANDS = {
    "widetable --out": (widetable.main, ["t.csv", "--mapping", "m.yml", "--out", ""]),
    "widetable --mapping": (widetable.main, ["t.csv", "--mapping", " ", "--out", "o"]),
    "widetable table": (widetable.main, ["", "--mapping", "m.yml", "--out", "o"]),
    "fingertips --out": (fingertips.main, ["e.csv", "--out", ""]),
    "fingertips --mapping": (fingertips.main, ["e.csv", "--mapping", "", "--out", "o"]),
    "qofmembership --out": (qofmembership.main, ["q.csv", "--out", ""]),
    "qofmembership files": (qofmembership.main, ["q.csv", "", "--out", "o.csv"]),
    "synthetic panel --out": (panel.main, ["--write", "--out", ""]),
    "bench --out": (bench.parse_args, ["--out", ""]),
    "bench --root": (bench.parse_args, ["--root", ""]),
    "bench --keep": (bench.parse_args, ["--keep", ""]),
    "bench sweeps --output": (bench_sweeps.main, ["--output", ""]),
    "simulation --output": (simulation.main, ["--batch", "0", "--output", ""]),
    "structures paths": (structures.main, ["data", ""]),
}


@pytest.mark.parametrize("case", COMMANDS)
def test_an_empty_path_argument_is_refused_and_nothing_is_written(
    case, tmp_path, monkeypatch, capsys
):
    main, argv = COMMANDS[case]
    monkeypatch.chdir(tmp_path)
    code, out, err = parser_exit(main, argv, capsys)
    assert code == 2
    argument = case.split()[-1]  # argparse names an option by its flag, a positional by name
    [line] = err.splitlines()  # one line, no usage block
    command = line.split(": ")[1]
    assert main.__module__.startswith(command.removeprefix("python -m "))
    assert line == (
        f"error: {command}: argument {argument}: an empty path; expected a file or folder "
        f"name (see {command} --help)"
    )
    assert out == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--pipeline", "", "list"], "compendium: argument --pipeline"),
        (["sweep", "simulation", "--config", ""], "compendium sweep: argument --config"),
    ],
)
def test_the_compendium_command_refuses_an_empty_path_in_one_line(
    argv, said, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"error: {said}: an empty path; expected a file or folder name "
        f"(see {said.split(':')[0]} --help)"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["out", "a/b.csv", " x ", "."])
def test_a_path_argument_is_the_path_as_given(text):
    assert path_argument(text) == Path(text)


def test_an_empty_or_blank_path_argument_is_an_argparse_type_error():
    for text in ("", " ", "\t"):
        with pytest.raises(argparse.ArgumentTypeError) as err:
            path_argument(text)
        assert str(err.value) == "an empty path; expected a file or folder name"
