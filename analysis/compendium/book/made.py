"""How each table and figure of the book was made, and each figure's size as drawn.

Every code cell of a chapter that shows a table or a figure is followed in the book by a
short provenance line: the ``analysis`` functions that computed it (linked to their source
on the book's *Code* page), the notebook and cell, the command that reruns it, and a
dropdown with the chapter's inputs (sha256 and data tier). The functions are read from the
notebook's code, without running or importing it: the calls the cell makes into
``analysis`` (rendering and file writing left aside) and the calls of the earlier cells that
assigned the names the cell reads. The *Code* page shows each such function's source, read
from its file.

:func:`figure_index` records, for the book's ``responsive_figures`` extension, each figure's
width as drawn (from the PNG's size and resolution) and its phone version.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.paths import repo_root

#: Calls that lay a result out or write it, not compute it.
RENDERING = (
    "analysis.core.tables.",
    "analysis.casestudy.display.",
    "analysis.core.figures.",
    "analysis.core.datasets.write_csv",
    "analysis.parameters.",
    "analysis.paths.",
    "analysis.core.sentences.",
)
NARROW_SUFFIX = ".narrow.png"
CSS_PX_PER_INCH = 100
SHOWN_FUNCTIONS = 3


def code_label(qualname: str) -> str:
    """The cross-reference label of a function's section on the *Code* page."""
    return "code-" + re.sub(r"[^a-z0-9]+", "-", qualname.lower()).strip("-")


@dataclass
class CellCode:
    """What one code cell assigns, reads and calls into ``analysis`` (qualified names)."""

    assigned: set[str] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)


def _imports(trees: list[ast.Module | None]) -> tuple[dict[str, str], dict[str, str]]:
    """Names bound to ``analysis`` objects and to ``analysis`` modules by the notebook."""
    objects: dict[str, str] = {}
    modules: dict[str, str] = {}
    for tree in trees:
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("analysis"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    bound = alias.asname or alias.name
                    is_module = (repo_root() / (target.replace(".", "/") + ".py")).is_file()
                    (modules if is_module else objects)[bound] = target
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("analysis") and alias.asname:
                        modules[alias.asname] = alias.name
    return objects, modules


def _qualified(func: ast.expr, objects: dict[str, str], modules: dict[str, str]) -> str | None:
    if isinstance(func, ast.Name):
        return objects.get(func.id)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.value.id in modules:
            return f"{modules[func.value.id]}.{func.attr}"
    return None


def read_cells(sources: list[str]) -> list[CellCode]:
    """The :class:`CellCode` of each code cell's source (an unparsable cell reads nothing)."""
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(source))
        except SyntaxError:
            trees.append(None)
    objects, modules = _imports(trees)
    cells = []
    for tree in trees:
        cell = CellCode()
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Name):
                (cell.assigned if isinstance(node.ctx, ast.Store) else cell.loaded).add(node.id)
            elif isinstance(node, ast.Call):
                name = _qualified(node.func, objects, modules)
                if name and name not in cell.calls:
                    cell.calls.append(name)
        cells.append(cell)
    return cells


def _computing(calls: list[str]) -> list[str]:
    return [c for c in calls if not c.startswith(RENDERING)]


def made_by(cells: list[CellCode], index: int) -> list[str]:
    """The ``analysis`` functions behind cell ``index``: its own computing calls, then those
    of the latest earlier cell that assigned each name it reads (one step back)."""
    cell = cells[index]
    found = list(_computing(cell.calls))
    for name in sorted(cell.loaded - cell.assigned):
        for earlier in reversed(cells[:index]):
            if name in earlier.assigned:
                found += [c for c in _computing(earlier.calls) if c not in found]
                break
    return found


def function_source(qualname: str, depth: int = 0) -> tuple[str, int, int, str] | None:
    """``(file, first line, last line, source)`` of a module-level function or class (one
    the module imports from another module of ``analysis`` is followed there)."""
    module, _, name = qualname.rpartition(".")
    path = repo_root() / (module.replace(".", "/") + ".py")
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = text.splitlines()[first - 1 : node.end_lineno]
            rel = str(path.relative_to(repo_root()))
            return rel, first, int(node.end_lineno or first), "\n".join(lines)
    for node in tree.body:  # a name the module imports from another (a re-export)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("analysis"):
            for alias in node.names:
                if (alias.asname or alias.name) == name and depth < 3:
                    return function_source(f"{node.module}.{alias.name}", depth=depth + 1)
    return None


def input_rows(run: dict[str, Any], tiers: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(input, tier, sha256)`` of each input a run recorded; another notebook's output is
    of the tier ``run output``."""
    rows = []
    for ref, digest in run.get("cache", {}).get("inputs", {}).items():
        if ":" in ref:
            tier = "run output" if not ref.startswith("sweep:") else "sweep results"
        else:
            tier = tiers.get(ref.removeprefix("data/"), "not catalogued")
        rows.append((ref, tier, digest))
    return rows


def provenance_markdown(
    functions: list[str], notebook: str, cell: int, inputs: list[tuple[str, str, str]]
) -> str:
    """The provenance line (a dropdown whose title names the functions, the notebook cell
    and the rerun command; its body lists the inputs with their tier and sha256)."""
    links = [
        f"{{ref}}`{f.rsplit('.', 1)[1]} <{code_label(f)}>`"
        if function_source(f)
        else f"`{f.rsplit('.', 1)[1]}`"
        for f in functions
    ]
    shown = ", ".join(links[:SHOWN_FUNCTIONS])
    if len(links) > SHOWN_FUNCTIONS:
        shown += f" and {len(links) - SHOWN_FUNCTIONS} more"
    made = f"made by {shown}" if shown else "laid out from the run's tables"
    tiers = sorted({tier for _, tier, _ in inputs})
    title = (
        f"How this was made: {made} · `notebooks/{notebook}.ipynb` cell {cell} · "
        f"rerun `compendium run {notebook}`"
    )
    body = [f"Inputs of the run ({len(inputs)}; tiers: {', '.join(tiers) or 'none'}):", ""]
    body += [f"- `{ref}`: {tier}, sha256 `{digest[:16]}`" for ref, tier, digest in inputs]
    if len(links) > SHOWN_FUNCTIONS:
        body += ["", "All the functions: " + ", ".join(links) + "."]
    return "\n".join([f":::{{dropdown}} {title}", ":class-container: provenance", *body, ":::"])


def png_info(path: Path) -> dict[str, Any]:
    """A PNG's width and height (pixels), resolution (pixels per inch, None when unstated)
    and text chunks, read from its chunks (no image library needed)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    info: dict[str, Any] = {"dpi": None, "text": {}}
    at = 8
    while at + 8 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if kind == b"IHDR":
            info["width"], info["height"] = struct.unpack(">II", body[:8])
        elif kind == b"pHYs" and body[8:9] == b"\x01":  # unit: the metre
            info["dpi"] = struct.unpack(">I", body[:4])[0] * 0.0254
        elif kind == b"tEXt" and b"\x00" in body:
            key, _, value = body.partition(b"\x00")
            info["text"][key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"IEND":
            break
        at += 12 + length
    return info


def figure_index(chapters: Path) -> dict[str, dict[str, Any]]:
    """For each figure PNG under ``chapters/<name>/figures``: its width in CSS pixels and its
    phone version's (``/chapters/<name>/figures/<stem>.narrow.png``), keyed by the sha256 of
    the PNG's bytes (MyST-NB's name for the image it writes)."""

    def css_width(path: Path) -> int:
        info = png_info(path)
        return round(info["width"] * CSS_PX_PER_INCH / (info["dpi"] or CSS_PX_PER_INCH))

    index = {}
    for png in sorted(chapters.glob("*/figures/*.png")):
        if png.name.endswith(NARROW_SUFFIX):
            continue
        entry: dict[str, Any] = {"width": css_width(png)}
        narrow = png.with_name(png.stem + NARROW_SUFFIX)
        if narrow.is_file():
            entry["narrow"] = "/" + str(narrow.relative_to(chapters.parent))
            entry["narrow_width"] = css_width(narrow)
        index[hashlib.sha256(png.read_bytes()).hexdigest()] = entry
    return index


def write_figure_index(target: Path) -> None:
    """Write ``_figures.json`` for the book's ``responsive_figures`` extension."""
    index = figure_index(target / "chapters")
    (target / "_figures.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


def code_page(functions: list[str]) -> str:
    """Markdown of the *Code* page: the source of every function a provenance line names."""
    lines = [
        "# Code",
        "",
        "The source of every function that a table or figure of this book names in its "
        "*How this was made* line, read from the package at build time, in the order of "
        "the package's modules.",
        "",
    ]
    for qualname in sorted(set(functions)):
        found = function_source(qualname)
        if found is None:
            continue
        path, first, last, source = found
        lines += [
            f"({code_label(qualname)})=",
            f"## `{qualname}`",
            "",
            f"`{path}`, lines {first}-{last}.",
            "",
            "```python",
            source,
            "```",
            "",
        ]
    return "\n".join(lines)


def _shows_result(cell: dict[str, Any]) -> bool:
    """Whether a code cell displays a figure or a publication table."""
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        html = data.get("text/html", "")
        html = "".join(html) if isinstance(html, list) else html
        if "image/png" in data or "pub-table" in html:
            return True
    return False


def provenance_cells(
    nb: dict[str, Any], name: str, run: dict[str, Any], tiers: dict[str, str]
) -> tuple[dict[int, str], list[str]]:
    """The provenance line to add after each cell of ``nb`` that shows a table or figure
    (by the cell's index), and every function they name."""
    code = [
        (i, cell)
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code"
        and "injected-parameters" not in cell.get("metadata", {}).get("tags", [])
    ]
    sources = []
    for _, cell in code:
        source = cell.get("source", "")
        sources.append("".join(source) if isinstance(source, list) else source)
    cells = read_cells(sources)
    inputs = input_rows(run, tiers)
    lines: dict[int, str] = {}
    functions: list[str] = []
    for number, (index, cell) in enumerate(code):
        if not _shows_result(cell):
            continue
        made = made_by(cells, number)
        functions += made
        lines[index] = provenance_markdown(made, name, number + 1, inputs)
    return lines, functions
