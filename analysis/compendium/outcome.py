"""What happened to one step of a run: a notebook, or a sweep the notebooks read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    """What happened to one notebook (or ``sweep:<name>``) in a run."""

    name: str
    status: str  # executed | cached | failed | skipped
    folder: Path | None = None
    seconds: float = 0.0
    message: str = ""
    reasons: list[str] = field(default_factory=list)
