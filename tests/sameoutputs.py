"""Two executions of one notebook with the same code, parameters and inputs must write the
same bytes: CSV tables, PNG and SVG figures (analysis.core.figures strips dates and software
versions from their metadata; no pixel tolerance is used).

Used by tests/e2e/test_determinism.py, which re-executes some notebooks of the session's
real run, and by the tests that execute the other notebooks on their own with the default
parameters, which compare what they wrote with the session's real run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.files import sha256_file

SUFFIXES = (".csv", ".png", ".svg")


def files(folder: Path, suffix: str) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob(f"*{suffix}"))}


def first_difference(a: Path, b: Path) -> str:
    """Where two text files first differ, for the failure message."""
    left, right = a.read_text().splitlines(), b.read_text().splitlines()
    for number, (x, y) in enumerate(zip(left, right, strict=False), start=1):
        if x != y:
            return f"line {number}: {x[:120]!r} != {y[:120]!r}"
    return f"{len(left)} lines against {len(right)}"


def pixel_difference(a: Path, b: Path) -> str:
    """Why two PNGs differ: size, pixels, or only the bytes (metadata, compression)."""
    import matplotlib.image as mpimg

    x, y = mpimg.imread(a), mpimg.imread(b)
    if x.shape != y.shape:
        return f"image sizes differ: {x.shape} against {y.shape}"
    changed = int(np.any(x != y, axis=-1).sum()) if x.ndim == 3 else int((x != y).sum())
    return f"{changed} pixels differ" if changed else "same pixels, different bytes (metadata?)"


def output_differences(first: Path, second: Path, suffixes=SUFFIXES) -> list[str]:
    """Every table or figure of run folder ``first`` that ``second`` lacks or writes with
    other bytes (and every one ``second`` has that ``first`` lacks), one line each."""
    different = []
    for suffix in suffixes:
        mine, theirs = files(first, suffix), files(second, suffix)
        different += [f"{rel}: only in {first}" for rel in mine.keys() - theirs.keys()]
        different += [f"{rel}: only in {second}" for rel in theirs.keys() - mine.keys()]
        for rel in sorted(mine.keys() & theirs.keys()):
            if sha256_file(mine[rel]) != sha256_file(theirs[rel]):
                different.append(f"{rel}: {_why(mine[rel], theirs[rel])}")
    return different


def _why(a: Path, b: Path) -> str:
    if a.suffix == ".csv":
        return first_difference(a, b)
    if a.suffix == ".png":
        return pixel_difference(a, b)
    return "bytes differ"


def assert_same_outputs(first: Path, second: Path) -> None:
    """The two run folders hold the same tables and figures, byte for byte."""
    assert files(first, ".csv"), f"{first}: no tables"
    different = output_differences(first, second)
    assert not different, "outputs differ between two executions:\n" + "\n".join(different)
