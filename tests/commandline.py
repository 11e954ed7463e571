"""Running a command's ``main`` until argparse stops it: its help and usage errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest


def parser_exit(main: Callable, argv: Sequence[str], capsys) -> tuple[int, str, str]:
    """Run ``main(argv)``, which must end in argparse's SystemExit; its code, stdout and stderr."""
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    captured = capsys.readouterr()
    return stopped.value.code, captured.out, captured.err


def help_text(main: Callable, capsys) -> str:
    """The command's ``--help``, which must exit 0, with its whitespace made single spaces."""
    code, out, _ = parser_exit(main, ["--help"], capsys)
    assert code == 0
    return " ".join(out.split())
