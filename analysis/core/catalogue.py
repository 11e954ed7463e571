"""The data catalogue: every file in ``data/`` with its tier, source, licence, schema and hash.

Each strand keeps its own ``data/<strand>/datasets.yml``; this module gathers them.
``python -m analysis.core.catalogue --update`` refreshes the recorded SHA-256 and row counts
after a deliberate change to a data file.
"""

from __future__ import annotations

import gzip
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.commandline import CommandParser
from analysis.core.datasets import DataError, read_table, sha256_file
from analysis.paths import data_dir
from analysis.safeyaml import load_yaml

#: ``compiled``: assembled by the compendium from published names, with some definitions
#: assumed where the sources give none (each row says which); ``real``: real public data.
TIERS = ("published", "compiled", "real", "synthetic", "user")
REQUIRED = ("path", "title", "tier", "source", "licence", "schema", "sha256", "rows")


@dataclass(frozen=True)
class Dataset:
    """One catalogued data file."""

    path: str
    title: str
    tier: str
    source: str
    licence: str
    schema: str
    sha256: str
    rows: int
    unique: tuple[str, ...] = ()
    generator: dict[str, Any] = field(default_factory=dict)
    catalogue: str = ""
    # real public data only: who published it, which release, where it is re-hosted and the
    # SHA-256 of the published bytes (``sha256`` is that of the stored, compressed file)
    publisher: str = ""
    release: str = ""
    rehosted: str = ""
    published_sha256: str = ""

    @property
    def file(self) -> Path:
        return data_dir() / self.path

    def load_schema(self):
        module, _, name = self.schema.partition(":")
        return getattr(importlib.import_module(module), name)

    def read(self):
        """Read and validate the file against its schema."""
        return read_table(self.file, self.load_schema(), unique=self.unique or None)


def catalogue_files(root: Path | None = None) -> list[Path]:
    """Every ``datasets.yml`` under the data folder, sorted."""
    return sorted((root or data_dir()).glob("*/datasets.yml"))


def load(root: Path | None = None) -> list[Dataset]:
    """All catalogued datasets; a malformed entry is an error naming its catalogue file."""
    datasets = []
    for cat in catalogue_files(root):
        entries = (load_yaml(cat) or {}).get("datasets", [])
        for i, entry in enumerate(entries, start=1):
            missing = [k for k in REQUIRED if k not in entry]
            if missing:
                raise DataError(f"{cat}: entry {i} lacks {missing}")
            if entry["tier"] not in TIERS:
                raise DataError(f"{cat}: entry {i} tier {entry['tier']!r} not in {TIERS}")
            entry = dict(entry, unique=tuple(entry.get("unique", ())), catalogue=str(cat))
            datasets.append(Dataset(**entry))
    return datasets


def _data_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        return max(sum(1 for _ in handle) - 1, 0)


def update_hashes(root: Path | None = None) -> int:
    """Rewrite sha256 and rows of entries whose files changed; returns entries changed.

    Only catalogues with a changed entry are rewritten.
    """
    changed = 0
    for cat in catalogue_files(root):
        doc = load_yaml(cat) or {}
        before = changed
        for entry in doc.get("datasets", []):
            path = (root or data_dir()) / entry["path"]
            digest, rows = sha256_file(path), _data_rows(path)
            if entry.get("sha256") != digest or entry.get("rows") != rows:
                entry["sha256"], entry["rows"] = digest, rows
                changed += 1
        if changed > before:
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
            cat.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser("analysis.core.catalogue", description=__doc__)
    parser.add_argument("--update", action="store_true", help="refresh sha256 and row counts")
    args = parser.parse_args(argv)
    if args.update:
        print(f"{update_hashes()} catalogue entries updated")
    for ds in load():
        print(f"{ds.tier:10} {ds.rows:>8} {ds.sha256[:12]} {ds.path}")
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
