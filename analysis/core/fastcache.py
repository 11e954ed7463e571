"""A validated table read once, then served from a Parquet copy keyed by content.

:func:`cached_read` reads a file through a reader that parses and validates it, writes the
validated frame to ``build/cache/<sha256>.parquet`` and, next time the same bytes are read by
the same reader code with the same extra inputs, returns the Parquet copy without parsing or
validating again. The key digests the file's bytes, the source of the module that defines
the reader and of any modules the caller names (so a change to parsing or validation
invalidates the entries) and any extra inputs (a catalogue the validation depends on). A file that
fails validation raises as before and leaves no entry; a damaged entry is read again from
the file and replaced.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

import pandas as pd

from analysis.files import atomic_path, sha256_file
from analysis.paths import CACHE_SUBDIR, build_dir


def cache_dir() -> Path:
    """Where entries live: ``<build>/cache``."""
    return build_dir() / CACHE_SUBDIR


def _code_digest(reader: Callable, modules: Iterable[ModuleType]) -> str:
    """Digest of the source files of the module defining ``reader`` and of ``modules``."""
    target = inspect.unwrap(getattr(reader, "func", reader))  # functools.partial too
    parts = []
    for code in (target, *modules):
        try:
            parts.append(sha256_file(inspect.getfile(code)))
        except (TypeError, OSError):
            parts.append(getattr(code, "__qualname__", repr(code)))
    return ",".join(parts)


def _extra_digest(value: object) -> str:
    if isinstance(value, pd.DataFrame | pd.Series):
        return str(int(pd.util.hash_pandas_object(value, index=True).sum()))
    return repr(value)


def cache_key(
    path: str | os.PathLike,
    reader: Callable[[Path], pd.DataFrame],
    extra: Iterable = (),
    modules: Iterable[ModuleType] = (),
) -> str:
    """The entry's key: SHA-256 over the file's bytes, the code and ``extra``."""
    digest = hashlib.sha256()
    code = _code_digest(reader, modules)
    for part in (sha256_file(path), code, *map(_extra_digest, extra)):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def cached_read(
    path: str | os.PathLike,
    reader: Callable[[Path], pd.DataFrame],
    *,
    extra: Iterable = (),
    modules: Iterable[ModuleType] = (),
    folder: Path | None = None,
) -> pd.DataFrame:
    """Read ``path`` with ``reader`` once; later calls with the same content skip it.

    Parameters
    ----------
    path
        The file to read.
    reader
        Parses and validates the file; called only on a cache miss.
    extra
        Further inputs the reader's result depends on (DataFrames are hashed by content).
    modules
        Further modules whose code the result depends on (validation rules, say); the
        module defining ``reader`` always counts.
    folder
        Cache folder; ``<build>/cache`` when omitted.

    Returns
    -------
    pandas.DataFrame
        The reader's frame, from the file on a miss or from its Parquet copy on a hit.
    """
    path = Path(path)
    key = cache_key(path, reader, list(extra), list(modules))
    entry = (folder or cache_dir()) / f"{key}.parquet"
    if entry.is_file():
        try:
            return pd.read_parquet(entry)
        except (OSError, ValueError):
            pass  # damaged entry: read the file again and replace it
    frame = reader(path)
    try:
        with atomic_path(entry) as tmp:
            frame.to_parquet(tmp, index=True)
    except OSError:
        pass  # a read-only build folder only loses the speed-up
    return frame
