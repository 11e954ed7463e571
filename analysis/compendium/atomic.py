"""Nothing lost: the build folder's lock, folder swaps that an interruption cannot split,
and the recovery of what a killed process left behind.

Every command that changes ``build/`` (``compendium run`` and ``compendium book``) holds one
lock. A result is prepared in a private temporary folder and swapped in with two renames
(old aside, new in) during which Ctrl-C and SIGTERM are deferred; the old copy is removed
last. A process killed outright (SIGKILL, power loss) between the renames leaves an
``.old-<pid>-<name>`` folder, which the next command restores, and only while it holds
the lock.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from analysis.errors import CompendiumError
from analysis.paths import build_dir

LOCK_FILE = ".compendium.lock"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
_OLD = re.compile(r"^\.old-(\d+)-(.+)$")


class LockError(CompendiumError, RuntimeError):
    """Another command holds the build folder."""


class InterruptedRun(CompendiumError, KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped a command; the message says what state it left."""


# --------------------------------------------------------------------------- interruptions

_deferred: list[int] = []
_critical = [0]


def _on_signal(signum: int, frame: object) -> None:
    if _critical[0]:
        _deferred.append(signum)
        return
    raise KeyboardInterrupt


def install_interrupt_handlers() -> None:
    """Ctrl-C and SIGTERM raise KeyboardInterrupt, except inside :func:`uninterruptible`."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Defer Ctrl-C and SIGTERM until the block is done (a swap is never cut in two)."""
    _critical[0] += 1
    try:
        yield
    finally:
        _critical[0] -= 1
        if not _critical[0] and _deferred and threading.current_thread() is threading.main_thread():
            _deferred.clear()
            raise InterruptedRun("the update under way was completed first; outputs are whole")


# --------------------------------------------------------------------------- swaps


def swap_folder(new: Path, final: Path) -> None:
    """Put the finished folder ``new`` at ``final``; the previous one is removed last."""
    old = final.with_name(f"{OLD_PREFIX}{os.getpid()}-{final.name}")
    with uninterruptible():
        if final.exists():
            os.rename(final, old)
        try:
            os.rename(new, final)
        except OSError:
            if old.exists():
                os.rename(old, final)
            raise
    shutil.rmtree(old, ignore_errors=True)


def private_folder(parent: Path, label: str) -> Path:
    """A new empty temporary folder in ``parent`` named after this process."""
    import tempfile

    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-{label}-", dir=parent))


def leftovers(root: Path | None = None) -> list[Path]:
    """Temporary and set-aside folders under the build folder (none after a clean end)."""
    root = root or build_dir()
    if not root.is_dir():
        return []
    found = []
    for parent in (root, root / "book", *root.glob("runs/*"), *root.glob("sweeps/*/tasks")):
        if parent.is_dir():
            found += [p for p in parent.iterdir() if p.name.startswith((TMP_PREFIX, OLD_PREFIX))]
    return sorted(found)


def recover(root: Path | None = None) -> list[str]:
    """Restore swaps a killed process left half done and remove its temporary folders.

    Call only while holding the lock: then no other command is using them. Returns what
    was done, one line each.
    """
    done = []
    for path in leftovers(root):
        match = _OLD.match(path.name)
        if match:
            final = path.with_name(match.group(2))
            if not final.exists():
                os.rename(path, final)
                done.append(f"restored {final} from an interrupted update")
                continue
        shutil.rmtree(path, ignore_errors=True)
        done.append(f"removed {path} left by an interrupted command")
    return done


def consistent(root: Path | None = None) -> bool:
    """True when no swap is half done (every set-aside folder's original is in place)."""
    for path in leftovers(root):
        match = _OLD.match(path.name)
        if match and not path.with_name(match.group(2)).exists():
            return False
    return True


# --------------------------------------------------------------------------- the lock


def _holder_writer(command: str) -> Callable[[int], None]:
    """Write who holds the lock into the lock file, for a second command's refusal."""

    def write(descriptor: int) -> None:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        line = f"pid {os.getpid()} on {socket.gethostname()}, started {started}: {command}"
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, line.encode(), 0)

    return write


@contextlib.contextmanager
def build_lock(command: str) -> Iterator[None]:
    """Hold the build folder's lock; a second command refuses, naming the first.

    The lock is :class:`filelock.FileLock` (``flock`` on ``build/.compendium.lock``, released
    by the system when the process dies), which writes the holder into the file as it
    acquires. On Ctrl-C or SIGTERM inside, raises :class:`InterruptedRun` whose message says
    whether the previous outputs are whole (checked, not assumed).
    """
    folder = build_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    lock = FileLock(path, timeout=0, preserve_lock_file=True, on_acquired=_holder_writer(command))
    try:
        lock.acquire()
    except Timeout:
        holder = path.read_text(encoding="utf-8").strip() or "unknown process"
        raise LockError(f"another run holds {path}: {holder}; wait for it to finish") from None
    try:
        recover(folder)
        try:
            yield
        except KeyboardInterrupt as err:
            if isinstance(err, InterruptedRun):
                raise
            if consistent(folder):
                recover(folder)
                raise InterruptedRun("previous outputs are kept unchanged") from None
            raise InterruptedRun(
                f"an update of {folder} was cut short; run the command again to restore it"
            ) from None
    finally:
        with contextlib.suppress(OSError):
            path.write_text("", encoding="utf-8")  # still held: nobody reads a stale holder
        lock.release()
