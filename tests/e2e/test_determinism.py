"""Two clean runs of the real pipeline give byte-identical tables and figures.

Both runs are made by tests/guardedrun.py from one snapshot of the repository, into two
build folders (run ``a`` is shared with the isolation and bad-input tests). CSV tables must
be byte-identical, and so must the PNG and SVG figures (analysis.core.figures strips dates and
software versions from the metadata; no pixel tolerance is used).
"""

from __future__ import annotations

import json
from pathlib import Path

import guardedrun
import numpy as np
import pytest

from analysis.compendium import pipeline as pl
from analysis.files import sha256_file

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PIPELINE = pl.load()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    # Run b first: under xdist another worker is most likely making the shared run a now.
    second = guardedrun.guarded_build(tmp_path_factory, "b")
    first = guardedrun.guarded_build(tmp_path_factory, "a")
    first.check()
    second.check()
    return first.build, second.build


def _manifest(build: Path, name: str) -> dict:
    return json.loads((build / "runs" / name / "default" / "run.json").read_text())


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


@pytest.fixture(scope="module")
def pairs(runs) -> list[tuple[str, Path, Path]]:
    first, second = runs
    return [
        (name, first / "runs" / name / "default", second / "runs" / name / "default")
        for name in PIPELINE.order()
    ]


def test_the_two_runs_had_the_same_cache_keys(runs):
    """Same code, parameters and inputs: any difference below is non-determinism."""
    first, second = runs
    for name in PIPELINE.order():
        assert _manifest(first, name)["cache_key"] == _manifest(second, name)["cache_key"]


def test_both_runs_declare_the_same_outputs(pairs):
    for name, a, b in pairs:
        outputs = PIPELINE.notebook(name).outputs
        assert _manifest(a.parent.parent.parent, name)["outputs"].keys() == set(outputs)
        for output in outputs:
            assert (a / output).is_file() and (b / output).is_file(), f"{name}: {output}"


def test_csv_tables_are_byte_identical(pairs):
    different = []
    for name, a, b in pairs:
        tables = files(a, ".csv")
        assert tables.keys() == files(b, ".csv").keys(), f"{name}: different tables"
        for rel, path in tables.items():
            if sha256_file(path) != sha256_file(b / rel):
                different.append(f"{name}/{rel}: {first_difference(path, b / rel)}")
    assert not different, "tables differ between two clean runs:\n" + "\n".join(different)
    assert sum(len(files(a, ".csv")) for _, a, _ in pairs) > 0


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_figures_are_byte_identical(pairs, suffix):
    different = []
    for name, a, b in pairs:
        figures = files(a / "figures", suffix) if (a / "figures").is_dir() else {}
        for rel, path in figures.items():
            other = b / "figures" / rel
            if sha256_file(path) != sha256_file(other):
                why = pixel_difference(path, other) if suffix == ".png" else "bytes differ"
                different.append(f"{name}/figures/{rel}: {why}")
    assert not different, "figures differ between two clean runs:\n" + "\n".join(different)


def test_run_manifests_record_identical_output_hashes(pairs):
    for name, a, b in pairs:
        first = _manifest(a.parent.parent.parent, name)["outputs"]
        second = _manifest(b.parent.parent.parent, name)["outputs"]
        assert first == second, f"{name}: output hashes differ"
