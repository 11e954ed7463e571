"""Cache keys: what a notebook's results depend on, digested so a rerun can be skipped.

A run is fresh when its notebook's code cells, resolved parameters, declared input files
(and files named by ``path`` parameters) and the package code it imports are all unchanged.
The package part covers exactly the modules the notebook imports, followed through every
``import`` inside the package, so editing one strand re-executes that strand's notebooks
and not the others, and editing the engine re-executes nothing.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import stat
import threading
from functools import cache
from pathlib import Path
from typing import Any

from analysis.compendium.pipeline import (
    Notebook,
    PipelineError,
    canonical_json,
    input_path,
    is_pattern,
    resolve_path,
)
from analysis.files import sha256_file
from analysis.paths import repo_root

PACKAGE = "analysis"


# A ``path`` parameter names data to hash into the cache key; beyond these bounds the
# hashing would take minutes, so the run refuses with a message instead.
MAX_FOLDER_FILES = 20_000
MAX_HASHED_BYTES = 8 << 30
PSEUDO_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))


@cache
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def _readable_kind(path: Path, st: os.stat_result) -> None:
    resolved = path.resolve()
    if any(resolved == p or p in resolved.parents for p in PSEUDO_FILESYSTEMS):
        raise PipelineError(f"{path}: a system file, not data; expected a regular file or folder")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise PipelineError(
            f"{path}: not a regular file or folder (a device, pipe or socket); "
            "expected a data file or a folder of data files"
        )


def file_digest(path: Path) -> str:
    """SHA-256 of a file or folder, or ``missing``; memoised on (path, size, mtime).

    Only regular files and folders are hashed; anything else (a device, a pipe, a file
    under /proc) raises :class:`PipelineError` naming it, as does an unreadable file.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    except OSError as err:
        raise PipelineError(f"{path}: cannot be read ({err.strerror})") from None
    _readable_kind(path, st)
    if stat.S_ISDIR(st.st_mode):
        return directory_digest(path)
    if st.st_size > MAX_HASHED_BYTES:
        raise PipelineError(f"{path}: {st.st_size} bytes, above the {MAX_HASHED_BYTES} hashed")
    try:
        return _file_digest(path, st.st_size, st.st_mtime_ns)
    except OSError as err:
        raise PipelineError(f"{path}: cannot be read ({err.strerror})") from None


def _walk_error(err: OSError) -> None:
    raise PipelineError(f"{err.filename}: cannot be read ({err.strerror})")


def directory_digest(folder: Path) -> str:
    """One digest over every file in a folder (names and contents), within the bounds."""
    files: list[Path] = []
    total = 0
    for base, dirs, names in os.walk(folder, onerror=_walk_error):
        dirs.sort()
        for name in names:
            file = Path(base) / name
            try:
                st = file.stat()
            except OSError as err:
                raise PipelineError(f"{file}: cannot be read ({err.strerror})") from None
            _readable_kind(file, st)
            files.append(file)
            total += st.st_size
            if len(files) > MAX_FOLDER_FILES or total > MAX_HASHED_BYTES:
                raise PipelineError(
                    f"{folder}: more than {MAX_FOLDER_FILES} files or {MAX_HASHED_BYTES} bytes; "
                    "a path parameter names one data file or a folder of data files"
                )
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(str(file.relative_to(folder)).encode())
        digest.update(file_digest(file).encode())
    return digest.hexdigest()


def pattern_files(ref: str) -> list[Path]:
    """The files a pattern input (``data/x/qof_*.yml``) matches now, sorted."""
    folder = input_path(ref)
    return sorted(p for p in folder.glob(Path(ref).name) if p.is_file())


def input_digest(ref: str) -> str:
    """SHA-256 of a declared input: a file, a folder, or the names and contents of the files
    a pattern matches (so a file added that matches it changes the digest too)."""
    if not is_pattern(ref):
        return file_digest(input_path(ref))
    digest = hashlib.sha256()
    for file in pattern_files(ref):
        digest.update(file.name.encode())
        digest.update(file_digest(file).encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- integrity

MANIFEST = "run.json"


def folder_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file in a run folder (but its ``run.json``), by relative path."""
    return {
        str(p.relative_to(folder)): _file_digest(p, p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST and not p.name.startswith(".")
    }


def integrity_problems(manifest: dict[str, Any]) -> list[str]:
    """Files of a run that differ from the sha256 its ``run.json`` recorded (empty: intact)."""
    folder = Path(manifest["_folder"])
    recorded = manifest.get("files") or manifest.get("outputs") or {}
    problems = []
    for rel, digest in sorted(recorded.items()):
        path = folder / rel
        try:
            actual = _file_digest(path, path.stat().st_size, path.stat().st_mtime_ns)
        except OSError:
            actual = "missing"
        if actual != digest:
            problems.append(f"{path} {'is missing' if actual == 'missing' else 'was modified'}")
    return problems


def tampered_runs(root: Path | None = None) -> list[str]:
    """Every file of any recorded run that no longer matches its ``run.json``."""
    from analysis.paths import build_dir

    problems = []
    for path in sorted((root or build_dir()).glob("runs/*/*/" + MANIFEST)):
        if path.parent.name.startswith((".", "failed-")):
            continue
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            problems.append(f"{path} is unreadable")
            continue
        manifest["_folder"] = str(path.parent)
        problems += integrity_problems(manifest)
    return problems


def _code_cells(source: Path) -> list[str]:
    """The code cells of a stored notebook, read as plain JSON (nbformat costs a second)."""
    try:
        cells = json.loads((repo_root() / source).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError) as err:
        raise PipelineError(f"{source}: not a readable notebook ({err})") from None
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c.get("cell_type") == "code"
    ]


def source_digest(source: Path) -> str:
    """Digest of a notebook's code cells (markdown and outputs do not invalidate results)."""
    return hashlib.sha256(canonical_json(_code_cells(source)).encode()).hexdigest()


def package_folder() -> Path:
    return Path(__file__).resolve().parent.parent


def _module_file(module: str) -> Path | None:
    """The source file of ``analysis.x.y`` (a module or a package's ``__init__``), if any."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = package_folder().joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


# CPython 3.11's parser keeps its recursion depth in state shared between threads: two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (python/cpython#106905). One parse of ours at a time; other libraries' parses
# (ast.literal_eval in a notebook thread's imports) are kept apart by the callers, which
# parse before they start threads (analysis.compendium.sweepsteps).
AST_LOCK = threading.Lock()


def imported_modules(code: str) -> set[str]:
    """The ``analysis`` modules a piece of code imports (``from a import b`` counts ``a.b``
    when ``b`` is a module). Code that does not parse imports nothing we can see."""
    try:
        with AST_LOCK:
            tree = ast.parse(code)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == PACKAGE}


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def module_closure(modules: set[str]) -> list[Path]:
    """Every package file that importing ``modules`` executes: the modules, their parent
    packages' ``__init__`` files, and everything they import in turn."""
    seen: set[Path] = set()
    todo = [parent for module in modules for parent in _with_parents(module)]
    while todo:
        path = _module_file(todo.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        for module in imported_modules(path.read_text(encoding="utf-8")):
            todo.extend(_with_parents(module))
    return sorted(seen)


def package_digest(source: Path) -> dict[str, str]:
    """SHA-256 of each package file the notebook at ``source`` imports, directly or not,
    keyed by its path inside the package (so a stale run can name the module that changed)."""
    modules = set().union(*(imported_modules(code) for code in _code_cells(source)))
    stamp = tuple(
        (str(p), p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(package_folder().rglob("*.py"))
    )
    return dict(_closure_digests(frozenset(modules), stamp))


@cache
def _closure_digests(modules: frozenset[str], stamp: tuple) -> tuple[tuple[str, str], ...]:
    """Memoised on the modules and the package files' (size, mtime): one parse per process."""
    return closure_digests(modules)


def closure_digests(modules: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """``(file relative to the package folder, sha256)`` of every module in the import
    closure of ``modules``, read now (:func:`_closure_digests` memoises it)."""
    root = package_folder()
    return tuple(
        (str(file.relative_to(root)), hashlib.sha256(file.read_bytes()).hexdigest())
        for file in module_closure(set(modules))
    )


def _package_reason(recorded: Any, current: dict[str, str], source_changed: bool) -> str | None:
    """Why the imported package code differs, naming the modules; None when it does not.

    A module that enters or leaves the import closure because the notebook's own imports
    changed is the source change already reported, not a package change.
    """
    if recorded == current:
        return None
    if not isinstance(recorded, dict):
        return "package code changed"
    edited = [f for f in current if f in recorded and recorded[f] != current[f]]
    moved = sorted(set(current) ^ set(recorded))
    if edited or (moved and not source_changed):
        return "package code changed: " + ", ".join(sorted(edited) or moved)
    return None


def cache_components(notebook: Notebook, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parts of a notebook's cache key, kept apart so a stale run can say why."""
    inputs = {ref: input_digest(ref) for ref in notebook.cache_inputs}
    for name, param in notebook.parameters.items():
        if param.type == "path" and parameters.get(name):
            try:
                inputs[f"parameter:{name}"] = file_digest(resolve_path(parameters[name]))
            except PipelineError as err:
                raise PipelineError(
                    f"notebook {notebook.name!r}, parameter {name!r} (path): {err}"
                ) from None
    return {
        "source": source_digest(notebook.source),
        "parameters": canonical_json(parameters),
        "inputs": inputs,
        "package": package_digest(notebook.source),
    }


def input_stamps(notebook: Notebook, parameters: dict[str, Any]) -> dict[str, Any]:
    """(size, mtime, ctime, inode) of every input file: a write leaves a mark even when the
    content is put back, which a digest alone would not see."""
    paths = {ref: input_path(ref) for ref in notebook.cache_inputs}
    for name, param in notebook.parameters.items():
        if param.type == "path" and parameters.get(name):
            paths[f"parameter:{name}"] = resolve_path(parameters[name])
    stamps: dict[str, Any] = {}
    for ref, path in paths.items():
        if is_pattern(ref):
            files = pattern_files(ref)
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
        else:
            files = [path]
        for file in files:
            try:
                st = file.stat()
            except OSError:
                stamps[f"{ref}:{file}"] = "missing"
                continue
            stamps[f"{ref}:{file}"] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    return stamps


def cache_key(components: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(components).encode()).hexdigest()


def stale_reasons(
    notebook: Notebook, components: dict[str, Any], manifest: dict[str, Any] | None
) -> list[str]:
    """Why a run is stale (empty when fresh), comparing with its recorded manifest."""
    if manifest is None:
        return ["never run"]
    recorded = manifest.get("cache", {})
    reasons = []
    if recorded.get("source") != components["source"]:
        reasons.append("source changed")
    if recorded.get("parameters") != components["parameters"]:
        reasons.append("parameter changed")
    old_inputs = recorded.get("inputs", {})
    changed = [ref for ref, digest in components["inputs"].items() if old_inputs.get(ref) != digest]
    changed += [ref for ref in old_inputs if ref not in components["inputs"]]
    if changed:
        reasons.append("input file changed: " + ", ".join(sorted(changed)))
    package = _package_reason(
        recorded.get("package"), components["package"], "source changed" in reasons
    )
    if package:
        reasons.append(package)
    folder = manifest.get("_folder")
    missing = [out for out in notebook.outputs if folder and not (Path(folder) / out).exists()]
    if missing:
        reasons.append("output missing: " + ", ".join(missing))
    elif folder:
        damaged = integrity_problems(manifest)
        if damaged:
            reasons.append("output differs from its run.json sha256: " + "; ".join(damaged[:3]))
    return reasons
