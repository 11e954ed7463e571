"""Which lock file the environment was installed from, and whether it still matches it.

Shown on the book's Reproducibility page; the lock itself is made by ``make lock``.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from analysis.paths import repo_root


def lock_pins(text: str) -> dict[str, str]:
    """``{normalised name: version}`` of every ``name==version`` line of a pip lock file."""
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def lock_differences(pins: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Each locked package whose installed version differs, as ``name installed X, locked Y``."""
    return [
        f"{name} installed {installed.get(name, 'nothing')}, locked {version}"
        for name, version in sorted(pins.items())
        if installed.get(name) != version
    ]


def lock_line(lock: Path | None = None) -> str:
    """Which lock file the environment was installed from, and whether it still matches it."""
    from importlib import metadata

    version = f"{sys.version_info.major}{sys.version_info.minor}"
    lock = lock or repo_root() / "requirements" / f"lock-py{version}.txt"
    if not lock.is_file():
        return (
            f"- Environment lock: none for Python {version[0]}.{version[1:]} "
            f"(no `{lock.name}`), so nothing pins this environment beyond `pyproject.toml`'s "
            "ranges; the versions used are listed below"
        )
    pins = lock_pins(lock.read_text(encoding="utf-8"))
    installed = {
        re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower(): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"]
    }
    differ = lock_differences(pins, installed)
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    where = lock.relative_to(repo_root()) if lock.is_relative_to(repo_root()) else lock
    verdict = f"all {len(pins)} installed versions match it"
    if differ:
        shown = "; ".join(differ[:10]) + ("; ..." if len(differ) > 10 else "")
        verdict = f"{len(differ)} of {len(pins)} differ: {shown}"
    return (
        f"- Environment lock: `{where}` (sha256 `{digest[:16]}`, {len(pins)} packages "
        f"pinned with hashes; `make install` installs it); checked when this book was built: "
        f"{verdict}"
    )
