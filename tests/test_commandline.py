"""The ``python -m`` commands' parser: a usage error is one line naming the command and where
its help is, exit 2, and every command named in a parser is one ``python -m`` can run."""

from __future__ import annotations

import ast
import importlib.util

import pytest
from commandline import parser_exit

from analysis.commandline import CommandParser
from analysis.paths import repo_root


def _parser() -> CommandParser:
    parser = CommandParser("analysis.example", description="An example command.")
    parser.add_argument("--count", type=int, required=True)
    return parser


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: --count"),
        (["--count", "x"], "argument --count: invalid int value: 'x'"),
        (["--count", "1", "--extra"], "unrecognized arguments: --extra"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_command_and_its_help(argv, message, capsys):
    code, out, err = parser_exit(_parser().parse_args, argv, capsys)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"error: python -m analysis.example: {message} (see python -m analysis.example --help)"
    ]


def test_the_help_names_the_command_as_it_is_run(capsys):
    code, out, _ = parser_exit(_parser().parse_args, ["--help"], capsys)
    assert code == 0
    assert out.startswith("usage: python -m analysis.example [-h] --count COUNT\n")
    assert _parser().parse_args(["--count", "3"]).count == 3


def _commands() -> dict[str, str]:
    """Each module of the package that builds a CommandParser -> the module it names."""
    named = {}
    for path in sorted((repo_root() / "analysis").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "CommandParser"
            ):
                module = ".".join(path.relative_to(repo_root()).with_suffix("").parts)
                named[module] = node.args[0].value
    return named


def test_every_command_names_a_module_python_can_run():
    commands = _commands()
    assert len(commands) >= 12  # the commands of the sources, chapters, strands and bench
    for module, command in commands.items():
        assert module == command or module.startswith(f"{command}."), (module, command)
        spec = importlib.util.find_spec(command)
        assert spec is not None and spec.origin, command
        if spec.submodule_search_locations:  # a package runs as its __main__
            spec = importlib.util.find_spec(f"{command}.__main__")
            assert spec is not None, f"{command} is a package without __main__"
        else:
            source = open(spec.origin, encoding="utf-8").read()
            assert 'if __name__ == "__main__":' in source, f"{command} does not run as a command"
