"""The argument parser of the package's ``python -m`` commands.

argparse answers a bad argument with its usage block and then the message, two lines or more;
every other error of these commands is one line. :class:`CommandParser` keeps the message alone,
on one line that names the command and where its help is, so a usage error reads like the rest.
"""

from __future__ import annotations

import argparse
from typing import NoReturn


class CommandParser(argparse.ArgumentParser):
    """:class:`argparse.ArgumentParser` for the command ``python -m <module>``.

    Parameters
    ----------
    module
        The module run as the command; its name is the command's ``prog`` in help and errors.
    **kwargs
        Passed to :class:`argparse.ArgumentParser` (``description``...).

    Notes
    -----
    A usage error is written to stderr as one line, ``error: python -m <module>: <message>
    (see python -m <module> --help)``, and the command exits with status 2, as argparse does.
    """

    def __init__(self, module: str, **kwargs) -> None:
        super().__init__(prog=f"python -m {module}", **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {usage_error(self.prog, message)}\n")


def usage_error(prog: str, message: str) -> str:
    """``<prog>: <message> (see <prog> --help)``: a bad argument in one line, the words every
    command of the package (``compendium`` too) uses after ``error:``."""
    return f"{prog}: {message} (see {prog} --help)"
