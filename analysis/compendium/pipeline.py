"""The declared pipeline: ``pipeline.yml`` read, checked and turned into a plan.

Everything about which notebooks exist, their parameters, inputs and outputs is read
from the one pipeline file. This module is pure: it validates, orders and computes
cache keys; :mod:`analysis.compendium.runner` executes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

from analysis import safeyaml
from analysis.errors import CompendiumError
from analysis.parameters import (  # noqa: F401 - the engine's parameter API, re-exported
    LIST_TYPES,
    PARAMETER_KEYS,
    RESERVED_PARAMETERS,
    SCALAR_TYPES,
    Parameter,
    canonical_json,
    coerce_value,
    parse_parameter,
    resolve_path,
)
from analysis.parameters import paramset_name as _paramset_name
from analysis.paths import repo_root, run_dir, sweep_results

PIPELINE_FILE = "pipeline.yml"
NOTEBOOK_KEYS = {
    "title", "source", "timeout", "parameters", "inputs", "sweeps", "outputs", "validate"
}  # fmt: skip
NOTEBOOK_NAME = re.compile(r"[a-z][a-z0-9_]*")
SWEEP_REF = "sweep:"  # a sweep's gathered results as a cache input: sweep:<name>


class PipelineError(CompendiumError, ValueError):
    """The pipeline file, a parameter or a notebook name is not valid. The message says where."""


# --------------------------------------------------------------------------- reading


class _LineLoader(safeyaml.MarkedLoader):
    """A YAML loader that remembers the line of every mapping key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key, line = loader.construct_object(key_node), key_node.start_mark.line + 1
        if key in seen:
            # PyYAML silently keeps the last of two equal keys; a repeated notebook or
            # parameter would replace the first without a word.
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} appears twice (lines {seen[key]} and {line})",
                key_node.start_mark,
            )
        seen[key] = line
    # Not deep: a list value is filled in before yaml.load returns, and only keys are read here.
    mapping = _LineDict(loader.construct_mapping(node))
    mapping.lines = {loader.construct_object(key): key.start_mark.line + 1 for key, _ in node.value}
    mapping.line = node.start_mark.line + 1
    return mapping


class _LineDict(dict):
    lines: dict[str, int]
    line: int


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(mapping: Any, key: str | None = None) -> int:
    if key is not None and isinstance(mapping, _LineDict) and key in mapping.lines:
        return mapping.lines[key]
    return getattr(mapping, "line", 0)


@dataclass(frozen=True)
class Notebook:
    """One declared notebook."""

    name: str
    title: str
    source: Path
    timeout: int
    parameters: dict[str, Parameter]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    sweeps: tuple[str, ...] = ()
    validate: tuple[str, ...] = ()
    """A command that checks the run's inputs before its kernel starts (``python -m ...``;
    the runner adds ``--notebook NAME --parameters JSON``): exit 0, or 2 with every problem."""

    @property
    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}

    @property
    def cache_inputs(self) -> tuple[str, ...]:
        """Every file the run reads: the declared inputs, then ``sweep:<name>`` per sweep."""
        return (*self.inputs, *(SWEEP_REF + name for name in self.sweeps))


@dataclass(frozen=True)
class Pipeline:
    """The whole declared pipeline, notebooks in their declared order."""

    path: Path
    book: dict[str, Any]
    notebooks: dict[str, Notebook] = field(default_factory=dict)

    def notebook(self, name: str) -> Notebook:
        if name not in self.notebooks:
            known = ", ".join(self.notebooks) or "none"
            raise PipelineError(f"unknown notebook {name!r}; the pipeline declares: {known}")
        return self.notebooks[name]

    def upstream(self, name: str) -> list[str]:
        """Notebooks whose outputs ``name`` reads."""
        return sorted({ref.split(":", 1)[0] for ref in self.notebook(name).inputs if ":" in ref})

    def order(self, names: list[str] | None = None) -> list[str]:
        """Notebooks in an order that respects their declared inputs and outputs."""
        graph = {n: set(self.upstream(n)) for n in self.notebooks}
        try:
            ordered = list(TopologicalSorter(graph).static_order())
        except CycleError as err:
            cycle = " -> ".join(err.args[1])
            raise PipelineError(f"{self.path}: notebooks form a cycle: {cycle}") from None
        wanted = set(names) if names else set(self.notebooks)
        return [n for n in ordered if n in wanted]


def _fail(path: Path, line: int, message: str) -> PipelineError:
    return PipelineError(safeyaml.located(path, line, message))


def _parse_parameter(path: Path, nb: str, name: str, raw: Any, line: int) -> Parameter:
    try:
        return parse_parameter(name, raw)
    except ValueError as err:
        raise _fail(path, line, f"notebook {nb!r}, parameter {name!r}: {err}") from None


def _relative_file(value: Any, what: str) -> str:
    """A path inside the project: relative, without ``..``; else a ValueError saying so."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a relative path, got {value!r}")
    parts = Path(value).parts
    if Path(value).is_absolute() or ".." in parts or "\x00" in value:
        raise ValueError(f"{what} {value!r} must be a relative path inside the project, no '..'")
    return value


def is_pattern(ref: str) -> bool:
    """True for a data input naming files by a pattern (``data/x/qof_*.yml``)."""
    return ":" not in ref and any(char in ref for char in "*?[")


def _check_reference(ref: str, what: str) -> None:
    if ":" in ref:
        upstream, output = ref.split(":", 1)
        if not NOTEBOOK_NAME.fullmatch(upstream):
            raise ValueError(f"{what} {ref!r}: {upstream!r} is not a notebook name")
        _relative_file(output, what)
    else:
        _relative_file(ref, what)
        if is_pattern(ref) and any(is_pattern(part) for part in Path(ref).parts[:-1]):
            raise ValueError(f"{what} {ref!r}: a pattern may use * ? [ ] in the file name only")


def _parse_notebook(path: Path, name: str, raw: Any, line: int) -> Notebook:
    if not isinstance(name, str) or not NOTEBOOK_NAME.fullmatch(name):
        raise _fail(
            path,
            line,
            f"notebook name {name!r}: expected lower-case letters, digits and _"
            " starting with a letter ([a-z][a-z0-9_]*)",
        )
    if name + ":" == SWEEP_REF:
        raise _fail(path, line, f"notebook name {name!r} is reserved for sweep inputs")
    if not isinstance(raw, dict):
        raise _fail(path, line, f"notebook {name!r}: expected a mapping")
    unknown = [key for key in raw if key not in NOTEBOOK_KEYS]
    if unknown:
        line = _line(raw, unknown[0])
        raise _fail(
            path,
            line,
            f"notebook {name!r}: unknown key(s) {unknown}; expected {sorted(NOTEBOOK_KEYS)}",
        )
    for key in ("title", "source", "outputs"):
        if key not in raw:
            raise _fail(path, line, f"notebook {name!r}: missing required key {key!r}")
    params_raw = raw.get("parameters") or {}
    if not isinstance(params_raw, dict):
        raise _fail(path, _line(raw, "parameters"), f"notebook {name!r}: parameters must be a map")
    parameters = {
        pname: _parse_parameter(path, name, pname, praw, _line(params_raw, pname))
        for pname, praw in params_raw.items()
    }
    for key in ("inputs", "outputs"):
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(path, _line(raw, key), f"notebook {name!r}: {key} must be a list of paths")
        try:
            for item in value:
                if key == "inputs":
                    _check_reference(item, "input")
                else:
                    _relative_file(item, "output")
        except ValueError as err:
            raise _fail(path, _line(raw, key), f"notebook {name!r}: {err}") from None
    sweeps = raw.get("sweeps") or []
    if not isinstance(sweeps, list) or not all(
        isinstance(v, str) and NOTEBOOK_NAME.fullmatch(v) for v in sweeps
    ):
        raise _fail(
            path, _line(raw, "sweeps"), f"notebook {name!r}: sweeps must be a list of sweep names"
        )
    for key in ("title", "source"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise _fail(path, _line(raw, key), f"notebook {name!r}: {key} must be text")
    try:
        _relative_file(raw["source"], "source")
    except ValueError as err:
        raise _fail(path, _line(raw, "source"), f"notebook {name!r}: {err}") from None
    validate = raw.get("validate") or []
    validate = validate.split() if isinstance(validate, str) else validate
    if not isinstance(validate, list) or not all(isinstance(v, str) and v for v in validate):
        raise _fail(
            path,
            _line(raw, "validate"),
            f"notebook {name!r}: validate must be a command, e.g. [python, -m, package.module]",
        )
    timeout = raw.get("timeout", 600)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise _fail(
            path,
            _line(raw, "timeout"),
            f"notebook {name!r}: timeout must be whole seconds > 0, got {timeout!r}",
        )
    return Notebook(
        name=name,
        title=str(raw["title"]),
        source=Path(raw["source"]),
        timeout=timeout,
        parameters=parameters,
        inputs=tuple(raw.get("inputs") or ()),
        outputs=tuple(raw["outputs"]),
        sweeps=tuple(sweeps),
        validate=tuple(validate),
    )


def _check_references(pipeline: Pipeline, raw: dict) -> None:
    declared = raw.get("sweeps") if isinstance(raw.get("sweeps"), dict) else {}
    for nb in pipeline.notebooks.values():
        for name in nb.sweeps:
            if name not in declared:
                raise _fail(
                    pipeline.path,
                    _line(raw["notebooks"][nb.name], "sweeps"),
                    f"notebook {nb.name!r}: sweep {name!r} is not declared under 'sweeps' "
                    f"(declared: {', '.join(declared) or 'none'})",
                )
        line = _line(raw["notebooks"][nb.name], "inputs")
        for ref in nb.inputs:
            if ":" not in ref:
                continue
            upstream, output = ref.split(":", 1)
            if upstream not in pipeline.notebooks:
                raise _fail(
                    pipeline.path,
                    line,
                    f"notebook {nb.name!r}: input {ref!r} names unknown notebook {upstream!r}",
                )
            if output not in pipeline.notebooks[upstream].outputs:
                raise _fail(
                    pipeline.path,
                    line,
                    f"notebook {nb.name!r}: input {ref!r}: "
                    f"{upstream!r} declares no output {output!r}",
                )


def _check_book(path: Path, book: Any, line: int) -> dict:
    if not isinstance(book, dict):
        raise _fail(path, line, f"book must be a mapping, got {book!r}")
    for key in ("title", "author", "copyright"):
        if key in book and not isinstance(book[key], str | int):
            raise _fail(path, _line(book, key), f"book {key} must be text, got {book[key]!r}")
    for key in ("front", "back"):
        pages = book.get(key, [])
        if not isinstance(pages, list) or not all(
            isinstance(p, str) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", p) for p in pages
        ):
            raise _fail(
                path, _line(book, key), f"book {key} must be a list of page names, got {pages!r}"
            )
    if "front" in book and not book["front"]:
        raise _fail(path, _line(book, "front"), "book front must name at least the root page")
    return dict(book)


def check_data_input(ref: str) -> None:
    """A data input (``data/...``: a file, a folder or a pattern); a ValueError saying why not."""
    if ":" in ref:
        raise ValueError(f"input {ref!r}: expected a data file, folder or pattern (data/...)")
    _check_reference(ref, "input")


def read_raw(path: Path) -> Any:
    """The pipeline file's YAML, every mapping remembering its lines.

    A pipeline file is a page of YAML: safeyaml's bounds (size, nesting, no aliases) stop a
    hostile one (an alias bomb, deep nesting, a huge file) before PyYAML spends memory or
    recursion on it.
    """
    try:
        text = safeyaml.read_text(path)
        safeyaml.check_shape(path, text)
    except safeyaml.YamlError as err:
        raise PipelineError(str(err)) from None
    try:
        return safeyaml.load_checked(text, path, loader=_LineLoader)
    except safeyaml.YamlError as err:
        raise PipelineError(str(err)) from None


def load(path: str | Path | None = None) -> Pipeline:
    """Read and check the pipeline file; errors name the file and line."""
    path = Path(path) if path else repo_root() / PIPELINE_FILE
    raw = read_raw(path)
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("notebooks"), dict)
        or not raw["notebooks"]
    ):
        raise _fail(path, 1, "expected a mapping with a non-empty 'notebooks' mapping")
    book = _check_book(path, raw.get("book") or {}, _line(raw, "book"))
    notebooks = {
        name: _parse_notebook(path, name, nb_raw, _line(raw["notebooks"], name))
        for name, nb_raw in raw["notebooks"].items()
    }
    pipeline = Pipeline(path=path, book=book, notebooks=notebooks)
    _check_references(pipeline, raw)
    pipeline.order()
    return pipeline


# --------------------------------------------------------------------------- parameters


def parse_assignment(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line; the value is read as YAML (``0.01``, ``[a, b]``)."""
    if "=" not in text:
        raise PipelineError(f"parameter {text!r}: expected NAME=VALUE")
    name, raw = text.split("=", 1)
    try:
        value = safeyaml.load_text(raw, f"parameter {name.strip()}") if raw.strip() else ""
    except safeyaml.YamlError as err:
        if "aliases" in str(err) or "nested deeper" in str(err) or "NUL" in str(err):
            raise PipelineError(str(err)) from None
        value = raw  # not YAML: taken as text
    if value is None:
        value = raw
    return name.strip(), value


def resolve_parameters(notebook: Notebook, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults updated by ``overrides``, each validated; errors name notebook and parameter."""
    resolved = dict(notebook.defaults)
    problems = []
    for name, value in overrides.items():
        if name not in notebook.parameters:
            known = ", ".join(notebook.parameters) or "none"
            close = difflib.get_close_matches(name, notebook.parameters)  # best first
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"notebook {notebook.name!r}: unknown parameter {name!r}{hint}; it takes: {known}"
            )
            continue
        param = notebook.parameters[name]
        try:
            resolved[name] = coerce_value(param, value)
        except ValueError as err:
            problems.append(f"notebook {notebook.name!r}, parameter {name!r} ({param.type}): {err}")
    if len(problems) > 1:  # every bad parameter at once, one line each
        raise PipelineError(f"{len(problems)} parameter problem(s):\n  " + "\n  ".join(problems))
    if problems:
        raise PipelineError(problems[0])
    return resolved


def paramset_name(notebook: Notebook, parameters: dict[str, Any]) -> str:
    """``default`` for the declared defaults, else ``p-<hash>`` of the resolved parameters."""
    return _paramset_name(notebook.defaults, parameters)


# --------------------------------------------------------------------------- cache keys


def input_path(ref: str) -> Path:
    """A declared input as a file: ``data/...`` in the repository, another notebook's output
    (``<notebook>:<output>``) or a sweep's gathered results (``sweep:<name>``, from a
    notebook's ``sweeps``). A pattern (``data/x/qof_*.yml``) gives its folder."""
    if is_pattern(ref):
        return repo_root() / Path(ref).parent
    if ref.startswith(SWEEP_REF):
        return sweep_results(ref[len(SWEEP_REF) :])
    if ":" in ref:
        upstream, output = ref.split(":", 1)
        return run_dir(upstream) / output
    return repo_root() / ref
