"""The base of every error the compendium reports to a user, and the one way commands fail.

Kept free of heavy imports so the command line can catch these without loading pandas.
Every command (``compendium`` and each ``python -m analysis...`` entry point) ends through
:func:`run_main`: an expected error is one line on stderr naming what to fix and a non-zero
exit; the traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Callable, Sequence

DEBUG_FLAG = "--debug"
EXIT_ERROR = 2
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a service (scheduler, cluster) cannot be used
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug, not a bad input
EXIT_INTERRUPTED = 130


class CompendiumError(Exception):
    """An input, parameter or run problem whose message tells the user what to fix."""


class ServiceError(CompendiumError):
    """A service the command needs (a Dask scheduler, a SLURM cluster) cannot be reached or
    was lost: not a bad input, so it exits with its own code (69)."""


def describe_os_error(err: OSError) -> str:
    """One line for an operating-system error, saying what to do about it.

    A full disk and a read-only checkout are the two a user meets most; both name the file
    and suggest a build folder elsewhere (``COMPENDIUM_BUILD``).
    """
    if not err.filename:  # a connection or a timeout, not a file
        return f"{type(err).__name__}: {err.strerror or err}"
    where = err.filename
    if err.filename2:
        where = f"{err.filename} -> {err.filename2}"
    if err.errno == errno.ENOSPC or err.errno == errno.EDQUOT:
        return (
            f"{where}: no space left on the device; free some space or set "
            "COMPENDIUM_BUILD to a folder on another disk, then run the command again"
        )
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"{where}: cannot write or read here ({os.strerror(err.errno)}); for a read-only "
            "checkout set COMPENDIUM_BUILD to a writable folder (for example "
            "COMPENDIUM_BUILD=/tmp/compendium-build) and run the command again"
        )
    return f"{where}: {err.strerror or err}"


def one_line(err: BaseException) -> str:
    """The message a user sees for ``err``: its own for expected errors, a short form else."""
    if isinstance(err, CompendiumError):
        return str(err)
    if isinstance(err, UnicodeDecodeError):
        return f"byte {err.object[err.start]:#04x} at offset {err.start} is not valid UTF-8"
    if isinstance(err, OSError):
        return describe_os_error(err)
    if isinstance(err, MemoryError):
        return "out of memory"
    return f"internal error: {type(err).__name__}: {err} (run again with {DEBUG_FLAG} for details)"


def run_main(
    main: Callable[[list[str]], int | None],
    argv: Sequence[str] | None = None,
    *,
    write: Callable[[str], object] | None = None,
) -> int:
    """Run a command's ``main(argv)`` so that it fails in exactly one way.

    Parameters
    ----------
    main
        The command; takes the argument list, returns the exit code.
    argv
        Arguments (default: ``sys.argv[1:]``). ``--debug`` is taken out and shows tracebacks.
    write
        Where the error line goes (default: stderr, printed verbatim: no markup).

    Returns
    -------
    int
        ``main``'s code; 2 for an expected error, 69 for a service that cannot be used,
        70 for a bug, 130 when interrupted.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = DEBUG_FLAG in args
    args = [a for a in args if a != DEBUG_FLAG]
    write = write or (lambda text: sys.stderr.write(text + "\n"))
    try:
        return int(main(args) or 0)
    except KeyboardInterrupt as err:
        write(f"interrupted: {err}" if str(err) else "interrupted")
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except BaseException as err:  # noqa: BLE001 - the one place every failure ends
        if debug:
            traceback.print_exc()
        message = one_line(err)
        write("error: " + message)
        if isinstance(err, ServiceError):
            return EXIT_UNAVAILABLE
        expected = isinstance(err, CompendiumError | OSError | UnicodeDecodeError | MemoryError)
        return EXIT_ERROR if expected else EXIT_INTERNAL
