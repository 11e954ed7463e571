"""Kept mutation results, and whether each still describes the code it was run on.

A unit's result is kept in ``build/mutation/units/<unit>.json`` so that units run one at a
time (as the scheduled job runs them) can be gathered into one report. A kept result counts
only while its functions are those it mutated: each result carries a fingerprint of them
(their parsed form, so comments and layout do not count), and a result whose functions have
changed since is reported stale, as a unit never run is.
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import json
import subprocess
from pathlib import Path

from mutation_targets import TARGETS

REST = "rest"
"""The part of a split module made of the functions no named part lists."""


def function_nodes(text: str) -> dict[str, ast.AST]:
    """The functions mutmut mutates in a module's text, in file order: top-level functions
    and methods (``Class.method``)."""
    nodes: dict[str, ast.AST] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            nodes[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    nodes[f"{node.name}.{item.name}"] = item
    return nodes


def unit_functions(name: str, functions: list[str]) -> list[tuple[str, list[str]]]:
    """The parts of module ``name`` and the functions of each: one unnamed part when the
    module is not split, else its named parts and :data:`REST` (every function no part
    names, so a function added to a split module is mutated without an edit)."""
    target = TARGETS[name]
    if not target.parts:
        return [("", list(functions))]
    named: set[str] = set()
    parts = []
    for part, members in target.parts:
        chosen = [f for f in functions if any(fnmatch.fnmatch(f, m) for m in members)]
        named.update(chosen)
        parts.append((part, chosen))
    rest = [f for f in functions if f not in named]
    if rest:
        parts.append((REST, rest))
    return parts


def fingerprint(name: str, part: str, text: str) -> str:
    """sha256 of the parsed functions of one unit (``part`` of module ``name``) in ``text``."""
    nodes = function_nodes(text)
    chosen = dict(unit_functions(name, list(nodes))).get(part, [])
    dumps = [f"{f}\n{ast.dump(nodes[f])}" for f in chosen]
    return hashlib.sha256("\n".join(dumps).encode("utf-8")).hexdigest()


def source_at(commit: str, source: str, root: Path) -> str | None:
    """``source`` as committed at ``commit`` (a ``+edits`` mark ignored); None if unknown."""
    found = subprocess.run(
        ["git", "show", f"{commit.removesuffix('+edits')}:{source}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout if found.returncode == 0 else None


def stale(summary: dict, root: Path) -> str | None:
    """Why a kept result no longer describes the code, or None while it does.

    A result kept before fingerprints were recorded is compared through its commit's copy of
    the module (for a ``+edits`` commit, the committed copy: the edits were to tests)."""
    name, part = summary["module"], summary["part"]
    source = TARGETS[name].source
    kept = summary.get("fingerprint")
    if kept is None:
        text = source_at(summary.get("commit", ""), source, root)
        if text is None:
            return f"kept at {summary.get('commit', 'an unknown commit')}, which git does not know"
        kept = fingerprint(name, part, text)
    now = fingerprint(name, part, (root / source).read_text(encoding="utf-8"))
    if kept != now:
        return f"its functions changed since it ran at {summary.get('commit')}: run it again"
    return None


def kept_path(work: Path, label: str) -> Path:
    return work / "units" / (label.replace(":", "-") + ".json")


def keep(work: Path, label: str, summary: dict) -> None:
    """Keep one unit's result beside the others'."""
    path = kept_path(work, label)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")


def gathered(
    work: Path, root: Path, chosen: list[tuple[str, str | None]]
) -> tuple[list[dict], list[str]]:
    """The last kept result of every chosen unit (a stale one with the reason among its
    failures), and the units never run."""
    found, missing = [], []
    for name, only in chosen:
        nodes = function_nodes((root / TARGETS[name].source).read_text(encoding="utf-8"))
        for part, _ in unit_functions(name, list(nodes)):
            if only is not None and part != only:
                continue
            label = name + (f":{part}" if part else "")
            path = kept_path(work, label)
            if not path.is_file():
                missing.append(label)
                continue
            summary = json.loads(path.read_text(encoding="utf-8"))
            why = stale(summary, root)
            if why:
                summary["failures"] = [*summary["failures"], f"stale: {why}"]
            found.append(summary)
    return found, missing
