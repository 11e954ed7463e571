"""The book's cache key and its persistent Sphinx folder: rebuild only what changed.

The book is cached like a notebook, and the built site is checked against the sha256 of each
of its files recorded beside it, so a hand edit of the published HTML is rebuilt away. Its
key digests everything the HTML is made from: each
chapter's executed notebook, tables and figures; the run manifest (less the time it was
written); the hand-written pages of ``book/`` (with ``references.bib`` and ``_static/``);
``pipeline.yml`` (the table of contents and configuration); the data catalogues (the data
page); the benchmark results (the performance page); the notebooks' sources and data inputs
(the landing page says whether each run is fresh); the package's code; and the versions of
the tools that render them. When the key equals the one recorded beside the built site,
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
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.compendium import pipeline as pl
from analysis.compendium.cache import file_digest, input_digest, package_folder
from analysis.files import atomic_path, sha256_file
from analysis.paths import build_dir, data_dir, repo_root

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


def _package_digest() -> str:
    """Every module of the package: the page generators, the schemas the data page lists and
    the code whose change makes a run stale (the landing page says which runs are)."""
    digest = hashlib.sha256()
    root = package_folder()
    for file in sorted(root.rglob("*.py")):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _run_inputs(pipeline: pl.Pipeline) -> dict[str, str]:
    """Notebook sources, declared data inputs, sweep results and path-parameter files: with
    the package code, ``pipeline.yml`` and the runs, what decides whether each run is fresh."""
    files: dict[str, str] = {}
    for notebook in pipeline.notebooks.values():
        files[str(notebook.source)] = file_digest(repo_root() / notebook.source)
        for ref in notebook.cache_inputs:
            if ":" not in ref or ref.startswith(pl.SWEEP_REF):
                files[ref] = input_digest(ref)
        for name, param in notebook.parameters.items():
            if param.type == "path" and param.default:
                files[f"{notebook.name}:{name}"] = file_digest(pl.resolve_path(param.default))
    return files


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
            "manifest": file_digest(folder / "run.json"),
            "notebook": file_digest(folder / f"{name}.ipynb"),
            "tables": file_digest(folder / "tables"),
            "figures": file_digest(folder / "figures"),
        }
    return out


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
        (``book/``), ``references``, ``pipeline`` (with the code below, this fixes the table
        of contents and Jupyter Book configuration), ``catalogues``, ``bench``,
        ``run_inputs``, ``code`` and ``tools``.

    Notes
    -----
    Nothing here imports the builder (:mod:`.assemble`, :mod:`.build`: nbformat, and through it
    jsonschema, take seconds to import) or parses code: the check that nothing changed stays
    cheap. The price is a deliberate over-approximation: any change to the package's code
    rebuilds the book (Sphinx then re-reads only the pages whose sources differ).
    """
    bench = [build_dir() / "bench" / "results.json", repo_root() / "book" / "bench"]
    return {
        "runs": _runs(pipeline),
        "manifest": _manifest_digest(),
        "pages": file_digest(repo_root() / "book"),
        "references": file_digest(repo_root() / "book" / "references.bib"),
        "pipeline": file_digest(pipeline.path),
        "catalogues": {
            str(p.relative_to(data_dir())): file_digest(p)
            for p in sorted(data_dir().glob("*/datasets.yml"))
        },
        "bench": {str(path): file_digest(path) for path in bench},
        "run_inputs": _run_inputs(pipeline),
        "code": _package_digest(),
        "tools": _versions(),
    }


def book_key(components: dict[str, Any]) -> str:
    """One digest of the components."""
    return _digest(components)


def html_dir() -> Path:
    """The built site, ``build/book/html`` (as :func:`.collect.book_html_dir`)."""
    return build_dir() / "book" / "html"


def is_fresh(pipeline: pl.Pipeline) -> bool:
    """True when the built site is that of the current key: ``compendium book`` has nothing
    to do."""
    return up_to_date(book_components(pipeline), html_dir())


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


def html_files(html: Path) -> dict[str, list]:
    """Every file of the built site: ``{relative path: [size, mtime_ns, ctime_ns, sha256]}``."""
    out = {}
    for path in sorted(p for p in html.rglob("*") if p.is_file()):
        st = path.stat()
        out[str(path.relative_to(html))] = [
            st.st_size, st.st_mtime_ns, st.st_ctime_ns, sha256_file(path)
        ]  # fmt: skip
    return out


def html_intact(files: Any, html: Path) -> bool:
    """True when the site holds exactly the files recorded, each with its recorded sha256.

    A file whose size and times (the change time included, which no user can set) are as
    recorded is taken as unchanged; any other is hashed, so a hand edit is always seen.
    """
    if not isinstance(files, dict):
        return False
    present = {str(p.relative_to(html)) for p in html.rglob("*") if p.is_file()}
    if present != set(files):
        return False
    for rel, (size, mtime, ctime, digest) in files.items():
        st = (html / rel).stat()
        if (st.st_size, st.st_mtime_ns, st.st_ctime_ns) != (size, mtime, ctime):
            if sha256_file(html / rel) != digest:
                return False
    return True


def up_to_date(components: dict[str, Any], html: Path) -> bool:
    """True when the site exists, was built from exactly these components and is as built
    (every file matches the sha256 recorded beside it)."""
    record = recorded()
    return (
        record is not None
        and record.get("key") == book_key(components)
        and (html / "index.html").is_file()
        and html_intact(record.get("html"), html)
    )


def record(components: dict[str, Any]) -> Path:
    """Record the key of the site just built, and its files' hashes (after it is in place)."""
    document = {
        "key": book_key(components),
        "rebuilt_because": changed_parts(components),
        "components": components,
        "html": html_files(html_dir()),
    }
    with atomic_path(key_path()) as tmp:
        tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return key_path()


def forget() -> None:
    """Drop the recorded key and Sphinx's saved environment (after a failed build)."""
    key_path().unlink(missing_ok=True)
    shutil.rmtree(work_dir() / "_build" / ".doctrees", ignore_errors=True)


# The generated pages that depend on neither the runs nor the benchmark, with the parts of
# the book's key they do depend on: kept between builds, so a changed chapter does not pay
# for them (the data page imports every strand's schemas: about a second).
PAGE_PARTS = {"data": ("catalogues", "run_inputs", "code", "pipeline", "tools")}


def cached_page(name: str, components: dict[str, Any], make: Callable[[], str]) -> str:
    """The text of generated page ``name``: kept from the last build when the parts of the
    book's key it depends on (:data:`PAGE_PARTS`) are unchanged, else made by ``make``."""
    parts = PAGE_PARTS.get(name)
    if parts is None or not all(part in components for part in parts):
        return make()
    key = _digest({"page": name, **{part: components[part] for part in parts}})
    folder = work_dir() / "pages"
    text_file, key_file = folder / f"{name}.md", folder / f"{name}.key"
    try:
        if key_file.read_text(encoding="utf-8") == key:
            return text_file.read_text(encoding="utf-8")
    except OSError:
        pass
    text = make()
    folder.mkdir(parents=True, exist_ok=True)
    key_file.unlink(missing_ok=True)  # the text is written before the key that vouches for it
    text_file.write_text(text, encoding="utf-8")
    key_file.write_text(key, encoding="utf-8")
    return text


def stable_cell_ids(notebook: Path) -> None:
    """Give every cell of an assembled notebook an id derived from its position and content.

    Cells the assembly adds (download links, notes) get random ids from nbformat, which would
    make every chapter look changed to :func:`sync_tree` and Sphinx on every build.
    """
    document = json.loads(notebook.read_text(encoding="utf-8"))
    for number, cell in enumerate(document.get("cells", [])):
        text = pl.canonical_json([cell.get("cell_type"), cell.get("source")])
        cell["id"] = f"c{number}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    notebook.write_text(text, encoding="utf-8")


def sync_sources(source: Path, target: Path) -> list[str]:
    """Stable cell ids in the assembled notebooks, then :func:`sync_tree` into ``target``."""
    for notebook in source.rglob("*.ipynb"):
        stable_cell_ids(notebook)
    return sync_tree(source, target)


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
