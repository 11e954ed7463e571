"""What a run reads: every file a notebook's kernel or a sweep task opens, recorded as it runs.

A cache key is complete only if it covers every file the results depend on. Declared inputs
say what a notebook *should* read; this module records what it *did* read, so the engine can
refuse a run that read a project file its key does not cover (:func:`undeclared_reads`).

:func:`install` adds a Python audit hook (PEP 578) for the ``open`` event, raised by
``open()``, ``io.open_code``, ``os.open`` and everything built on them (pandas, gzip, YAML,
imports). Each distinct path opened for reading is appended once, as an absolute path, to a
log file through a descriptor opened beforehand (``os.write`` raises no event). The hook costs
a comparison per audit event and a line per distinct file. It also asks Linux to kill the
process when its parent dies (``PR_SET_PDEATHSIG``), so a kernel or task process never
outlives the runner that started it.

The runner installs it in every kernel at start-up (``IPKernelApp.exec_lines``); a sweep's
``python`` command runs as ``python -m analysis.compendium.observe LOG -- ARGS``. Files opened
by native code that bypasses Python's ``open`` (a C++ Parquet reader given a path, a
subprocess) are not seen.

Kept free of imports beyond the standard library's: a kernel imports it before anything else.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

READS_LOG = ".reads.log"
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when the thread that started it exits; if the
    parent (``parent``, default the current one) is already gone, exit now."""
    expected = os.getppid() if parent is None else parent
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: no such guarantee
        return
    if os.getppid() != expected:  # the parent died before the request took effect
        os._exit(1)


def _reads(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return "r" in mode or "+" in mode
    if isinstance(flags, int):
        return flags & os.O_ACCMODE in (os.O_RDONLY, os.O_RDWR)
    return True


def install(log: str = READS_LOG, *, parent: int | None = None) -> None:
    """Record every file this process opens for reading in ``log`` (one absolute path a
    line, each once), and die with the parent process."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    seen: set[str] = set()
    fspath, abspath, write = os.fspath, os.path.abspath, os.write

    def hook(event: str, args: tuple) -> None:
        if event != "open":
            return
        try:
            path, mode, flags = args
            if isinstance(path, int) or path is None or not _reads(mode, flags):
                return
            full = abspath(os.fsdecode(fspath(path)))
            if full not in seen:
                seen.add(full)
                write(fd, (full + "\n").encode("utf-8", "surrogateescape"))
        except Exception:  # noqa: BLE001, S110 - a hook must never break the code it watches
            pass

    sys.addaudithook(hook)
    die_with_parent(parent)


def kernel_startup(log: str = READS_LOG) -> str:
    """The line a kernel runs at start-up (``IPKernelApp.exec_lines``) to install the hook,
    binding no name in the notebook's namespace."""
    return f"__import__('analysis.compendium.observe').compendium.observe.install({log!r})"


def read_log(path: str | os.PathLike) -> list[str]:
    """The paths a run recorded (empty when the log is absent)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]
    except FileNotFoundError:
        return []


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.compendium.observe LOG -- (-m MODULE | SCRIPT) ARGS...``: run a
    command's Python code with its reads recorded in LOG."""
    import runpy

    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write("usage: python -m analysis.compendium.observe LOG -- -m MODULE ARGS\n")
        return 2
    log, command = args[0], args[2:]
    install(log)
    if command[0] == "-m" and len(command) > 1:
        sys.argv = [command[1], *command[2:]]
        runpy.run_module(command[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = command
        runpy.run_path(command[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
