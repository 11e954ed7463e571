"""Citing passages of the source documents by file and line range."""

from __future__ import annotations

import re
from pathlib import Path

from analysis.paths import sources_dir


def parse_lines(spec: str) -> tuple[int, int]:
    """``"120-125"`` or ``"120"`` as an inclusive (first, last) pair of 1-based lines."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(spec))
    if not match:
        raise ValueError(f"line range {spec!r} is not 'N' or 'N-M'")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise ValueError(f"line range {spec!r} ends before it starts")
    return first, last


def normalise(text: str) -> str:
    """Lower-case, unify quotes and dashes, collapse whitespace: for matching excerpts."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-")
    return re.sub(r"\s+", " ", text).strip().lower()


def passage(source_file: str, lines: str, root: Path | None = None) -> str:
    """The text of ``lines`` in ``source_file`` (raises if the range is beyond the file)."""
    path = (root or sources_dir()) / source_file
    all_lines = path.read_text(encoding="utf-8").splitlines()
    first, last = parse_lines(lines)
    if last > len(all_lines):
        raise ValueError(f"{source_file}: lines {lines} beyond its {len(all_lines)} lines")
    return "\n".join(all_lines[first - 1 : last])


def excerpt_found(excerpt: str, source_file: str, lines: str, root: Path | None = None) -> bool:
    """True when ``excerpt`` appears (normalised) within the cited lines."""
    return normalise(excerpt) in normalise(passage(source_file, lines, root))
