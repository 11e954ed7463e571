"""The book's cache key and its persistent Sphinx folder: rebuild only what changed.

The book is cached like a notebook. Its key digests everything the HTML is made from: each
chapter's executed notebook, tables and figures; the run manifest (less the time it was
written); the hand-written pages of ``book/`` (with ``references.bib`` and ``_static/``); the
table of contents and Jupyter Book configuration; the data catalogues and the schema modules
they name (the data page); the benchmark results (the performance page); whether each run is
fresh (the landing page says so); the package code that generates the pages; and the versions
of the tools that render them. When the key equals the one recorded beside the built site,
``compendium book`` builds nothing.

When something did change, the assembled sources are synchronised into a source folder that
outlives the build (:func:`sync_tree`): unchanged files keep their modification times, so
Sphinx's saved environment (``_build/.doctrees``, kept in the same folder) re-reads and
re-writes only the pages that changed. A failed build discards the saved environment, so a
warning in a page that is not re-read next time cannot slip through.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from analysis.compendium import pipeline as pl
from analysis.compendium.cache import file_digest, module_closure, package_folder
from analysis.files import atomic_path
from analysis.paths import build_dir, data_dir, repo_root

BOOK_MODULES = frozenset(
    {"analysis.compendium.book", "analysis.compendium.bookpages", "analysis.compendium.bookcache"}
)
TOOLS = ("jupyter-book", "sphinx", "myst-nb", "myst-parser", "sphinx-book-theme",
         "pydata-sphinx-theme", "sphinxcontrib-bibtex")  # fmt: skip
KEY_FILE = "book-key.json"


def work_dir() -> Path:
    """Sphinx's folder that outlives builds: ``src/`` (synchronised sources) and ``_build/``."""
    return build_dir() / "book-work"


def key_path() -> Path:
    """Where the key of the built site is recorded: beside ``build/book/html``."""
    return build_dir() / "book" / KEY_FILE


def _digest(value: Any) -> str:
    return hashlib.sha256(pl.canonical_json(value).encode()).hexdigest()


def _code_digest(modules: set[str]) -> str:
    digest = hashlib.sha256()
    root = package_folder()
    for file in module_closure(modules):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _catalogues() -> tuple[dict[str, str], set[str]]:
    """Digest of every ``data/<strand>/datasets.yml`` and the schema modules they name."""
    digests, modules = {}, set()
    for path in sorted(data_dir().glob("*/datasets.yml")):
        digests[str(path.relative_to(data_dir()))] = file_digest(path)
        entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("datasets") or []
        modules.update(str(e["schema"]).partition(":")[0] for e in entries if e.get("schema"))
    return digests, modules


def _manifest_digest() -> str:
    """The run manifest without its ``written`` time (a no-op ``compendium run`` rewrites it)."""
    try:
        manifest = json.loads((build_dir() / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "missing"
    manifest.pop("written", None)
    return _digest(manifest)


def _runs(pipeline: pl.Pipeline) -> dict[str, dict[str, str]]:
    out = {}
    for name in pipeline.order():
        folder = pl.run_dir(name)
        out[name] = {
            "notebook": file_digest(folder / f"{name}.ipynb"),
            "tables": file_digest(folder / "tables"),
            "figures": file_digest(folder / "figures"),
        }
    return out


def _freshness(pipeline: pl.Pipeline) -> dict[str, list[str]]:
    """Why each run is stale (empty when fresh): the landing page prints it."""
    from analysis.compendium.runner import status

    return {plan.notebook.name: plan.reasons for plan in status(pipeline)}


def _versions() -> dict[str, str]:
    versions = {}
    for tool in TOOLS:
        try:
            versions[tool] = metadata.version(tool)
        except metadata.PackageNotFoundError:
            versions[tool] = "absent"
    return versions


def book_components(pipeline: pl.Pipeline) -> dict[str, Any]:
    """The parts of the book's cache key, kept apart so a rebuild can say why.

    Parameters
    ----------
    pipeline
        The loaded ``pipeline.yml``.

    Returns
    -------
    dict
        ``runs`` (per chapter: executed notebook, tables, figures), ``manifest``, ``pages``
        (``book/``), ``references``, ``configuration`` (table of contents and Jupyter Book
        configuration), ``pipeline``, ``catalogues``, ``bench``, ``freshness``, ``code`` and
        ``tools``.
    """
    from analysis.compendium.book import config, toc

    catalogues, schema_modules = _catalogues()
    bench = [build_dir() / "bench" / "results.json", repo_root() / "book" / "bench"]
    return {
        "runs": _runs(pipeline),
        "manifest": _manifest_digest(),
        "pages": file_digest(repo_root() / "book"),
        "references": file_digest(repo_root() / "book" / "references.bib"),
        "configuration": _digest({"toc": toc(pipeline), "config": config(pipeline)}),
        "pipeline": file_digest(pipeline.path),
        "catalogues": catalogues,
        "bench": {str(path): file_digest(path) for path in bench},
        "freshness": _freshness(pipeline),
        "code": _code_digest(set(BOOK_MODULES | schema_modules)),
        "tools": _versions(),
    }


def book_key(components: dict[str, Any]) -> str:
    """One digest of the components."""
    return _digest(components)


def recorded() -> dict[str, Any] | None:
    """The key and components the built site was made from, or None."""
    try:
        return json.loads(key_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def changed_parts(components: dict[str, Any]) -> list[str]:
    """Which components differ from the recorded build (every one when there is none)."""
    before = (recorded() or {}).get("components", {})
    return [part for part, value in components.items() if before.get(part) != value]


def up_to_date(components: dict[str, Any], html: Path) -> bool:
    """True when the site exists and was built from exactly these components."""
    record = recorded()
    return (
        record is not None
        and record.get("key") == book_key(components)
        and (html / "index.html").is_file()
    )


def record(components: dict[str, Any]) -> Path:
    """Record the key of the site just built (after the site is in place)."""
    document = {"key": book_key(components), "components": components}
    with atomic_path(key_path()) as tmp:
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return key_path()


def forget() -> None:
    """Drop the recorded key and Sphinx's saved environment (after a failed build)."""
    key_path().unlink(missing_ok=True)
    shutil.rmtree(work_dir() / "_build" / ".doctrees", ignore_errors=True)


def sync_tree(source: Path, target: Path) -> list[str]:
    """Make ``target`` a copy of ``source``, rewriting only files whose bytes differ.

    Unchanged files keep their modification time (Sphinx decides what to re-read by it);
    files no longer in ``source`` are removed. Returns the relative paths written or removed.
    """
    target.mkdir(parents=True, exist_ok=True)
    wanted = {p.relative_to(source) for p in source.rglob("*") if p.is_file()}
    touched = []
    for rel in sorted(wanted):
        new, old = source / rel, target / rel
        if old.is_file() and old.stat().st_size == new.stat().st_size:
            if old.read_bytes() == new.read_bytes():
                continue
        old.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(new, old)  # modified now, so Sphinx sees the change
        touched.append(str(rel))
    for path in sorted(target.rglob("*"), reverse=True):
        rel = path.relative_to(target)
        if path.is_file() and rel not in wanted:
            path.unlink()
            touched.append(str(rel))
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return touched
