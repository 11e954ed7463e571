"""The declared pipeline: ``pipeline.yml`` read, checked and turned into a plan.

Everything about which notebooks exist, their parameters, inputs and outputs is read
from the one pipeline file. This module is pure: it validates, orders and computes
cache keys; :mod:`analysis.compendium.runner` executes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import CompendiumError
from analysis.paths import DEFAULT_PARAMSET, repo_root, run_dir

PIPELINE_FILE = "pipeline.yml"
RESERVED_PARAMETERS = ("output_dir",)
SCALAR_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "path": str}
LIST_TYPES = {f"list[{name}]": name for name in ("str", "int", "float")}
PARAMETER_KEYS = {"type", "default", "help", "choices", "min", "max"}
NOTEBOOK_KEYS = {"title", "source", "timeout", "parameters", "inputs", "outputs"}


class PipelineError(CompendiumError, ValueError):
    """The pipeline file, a parameter or a notebook name is not valid. The message says where."""


# --------------------------------------------------------------------------- reading


class _LineLoader(yaml.SafeLoader):
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
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
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
class Parameter:
    """One declared notebook parameter."""

    name: str
    type: str
    default: Any
    help: str = ""
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None


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

    @property
    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}


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
    return PipelineError(f"{path}:{line}: {message}")


def _parse_parameter(path: Path, nb: str, name: str, raw: Any, line: int) -> Parameter:
    where = f"notebook {nb!r}, parameter {name!r}"
    if name in RESERVED_PARAMETERS:
        raise _fail(path, line, f"{where}: {name!r} is reserved (the runner injects it)")
    if not isinstance(raw, dict) or "type" not in raw or "default" not in raw:
        raise _fail(path, line, f"{where}: expected a mapping with at least 'type' and 'default'")
    unknown = [key for key in raw if key not in PARAMETER_KEYS]
    if unknown:
        raise _fail(
            path, line, f"{where}: unknown key(s) {unknown}; expected {sorted(PARAMETER_KEYS)}"
        )
    if raw["type"] not in SCALAR_TYPES and raw["type"] not in LIST_TYPES:
        expected = sorted([*SCALAR_TYPES, *LIST_TYPES])
        raise _fail(
            path, line, f"{where}: unknown type {raw['type']!r}; expected one of {expected}"
        )
    choices = raw.get("choices")
    param = Parameter(
        name=name,
        type=raw["type"],
        default=raw["default"],
        help=str(raw.get("help", "")),
        choices=tuple(choices) if choices is not None else None,
        min=raw.get("min"),
        max=raw.get("max"),
    )
    try:
        coerced = coerce_value(param, raw["default"], check_path=False)
    except ValueError as err:
        raise _fail(path, line, f"{where}: default {raw['default']!r} is invalid: {err}") from None
    return Parameter(**{**param.__dict__, "default": coerced})


def _parse_notebook(path: Path, name: str, raw: Any, line: int) -> Notebook:
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
    timeout = raw.get("timeout", 600)
    if not isinstance(timeout, int) or timeout <= 0:
        raise _fail(path, _line(raw, "timeout"), f"notebook {name!r}: timeout must be seconds > 0")
    return Notebook(
        name=name,
        title=str(raw["title"]),
        source=Path(raw["source"]),
        timeout=timeout,
        parameters=parameters,
        inputs=tuple(raw.get("inputs") or ()),
        outputs=tuple(raw["outputs"]),
    )


def _check_references(pipeline: Pipeline, raw: dict) -> None:
    for nb in pipeline.notebooks.values():
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


def load(path: str | Path | None = None) -> Pipeline:
    """Read and check the pipeline file; errors name the file and line."""
    path = Path(path) if path else repo_root() / PIPELINE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise PipelineError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        raw = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(err, "problem", None) or str(err)
        raise _fail(path, line, f"malformed YAML: {problem}") from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("notebooks"), dict)
        or not raw["notebooks"]
    ):
        raise _fail(path, 1, "expected a mapping with a non-empty 'notebooks' mapping")
    book = raw.get("book") or {}
    notebooks = {
        name: _parse_notebook(path, name, nb_raw, _line(raw["notebooks"], name))
        for name, nb_raw in raw["notebooks"].items()
    }
    pipeline = Pipeline(path=path, book=dict(book), notebooks=notebooks)
    _check_references(pipeline, raw)
    pipeline.order()
    return pipeline


# --------------------------------------------------------------------------- parameters


def _coerce_scalar(kind: str, value: Any) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ValueError(f"expected true or false, got {value!r}")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _check_bounds(param: Parameter, value: Any) -> None:
    if param.choices is not None and value not in param.choices:
        raise ValueError(f"{value!r} is not one of {list(param.choices)}")
    if param.min is not None and value < param.min:
        raise ValueError(f"{value!r} is below the minimum {param.min}")
    if param.max is not None and value > param.max:
        raise ValueError(f"{value!r} is above the maximum {param.max}")


def coerce_value(param: Parameter, value: Any, check_path: bool = True) -> Any:
    """Check ``value`` against the parameter's type, choices and bounds; return it typed."""
    if param.type in LIST_TYPES:
        if not isinstance(value, list):
            raise ValueError(f"expected a list ({param.type}), got {value!r}")
        items = [_coerce_scalar(LIST_TYPES[param.type], item) for item in value]
        for item in items:
            _check_bounds(param, item)
        return items
    typed = _coerce_scalar(param.type, value)
    _check_bounds(param, typed)
    if param.type == "path" and check_path and typed:
        resolved = resolve_path(typed)
        if not resolved.exists():
            raise ValueError(f"path {typed!r} does not exist (looked for {resolved})")
    return typed


def resolve_path(value: str) -> Path:
    """A ``path`` parameter: absolute, or relative to the repository root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else repo_root() / path


def parse_assignment(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line; the value is read as YAML (``0.01``, ``[a, b]``)."""
    if "=" not in text:
        raise PipelineError(f"parameter {text!r}: expected NAME=VALUE")
    name, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if value is None:
        value = raw
    return name.strip(), value


def resolve_parameters(notebook: Notebook, overrides: dict[str, Any]) -> dict[str, Any]:
    """Defaults updated by ``overrides``, each validated; errors name notebook and parameter."""
    resolved = dict(notebook.defaults)
    for name, value in overrides.items():
        if name not in notebook.parameters:
            known = ", ".join(notebook.parameters) or "none"
            close = difflib.get_close_matches(name, list(notebook.parameters), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PipelineError(
                f"notebook {notebook.name!r}: unknown parameter {name!r}{hint}; it takes: {known}"
            )
        param = notebook.parameters[name]
        try:
            resolved[name] = coerce_value(param, value)
        except ValueError as err:
            raise PipelineError(
                f"notebook {notebook.name!r}, parameter {name!r} ({param.type}): {err}"
            ) from None
    return resolved


def paramset_name(notebook: Notebook, parameters: dict[str, Any]) -> str:
    """``default`` for the declared defaults, else ``p-<hash>`` of the resolved parameters."""
    if parameters == notebook.defaults:
        return DEFAULT_PARAMSET
    return "p-" + hashlib.sha256(canonical_json(parameters).encode()).hexdigest()[:10]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# --------------------------------------------------------------------------- cache keys


def input_path(ref: str) -> Path:
    """A declared input as a file: ``data/...`` in the repository, or another notebook's output."""
    if ":" in ref:
        upstream, output = ref.split(":", 1)
        return run_dir(upstream) / output
    return repo_root() / ref
