"""Notebook parameters: their declared types, and the checks every run applies to them.

The types live in ``pipeline.yml``; this module reads a parameter's declaration, checks a
value against it and says what is wrong. The engine (``compendium run``) uses it for the
command line, and each notebook calls :func:`check_parameters` in its first code cell, so a
notebook run by hand (JupyterLab, plain papermill) stops at once with the same message
instead of failing deep in the analysis.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.errors import CompendiumError
from analysis.paths import DEFAULT_PARAMSET, manual_output_dir, output_dir_problem, repo_root

SCALAR_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "path": str}
LIST_TYPES = {f"list[{name}]": name for name in ("str", "int", "float")}
PARAMETER_KEYS = {"type", "default", "help", "choices", "min", "max"}
RESERVED_PARAMETERS = ("output_dir",)
MANIFEST = "run.json"
# Set by `compendium --pipeline FILE` so the notebooks it runs check against that file.
PIPELINE_ENV = "COMPENDIUM_PIPELINE"


class ParameterError(CompendiumError, ValueError):
    """A parameter's declaration or value is not valid; the message names the parameter."""


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


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_parameter(name: str, raw: Any) -> Parameter:
    """A parameter's declaration (a ``pipeline.yml`` mapping) checked field by field.

    Raises
    ------
    ValueError
        Saying which field is wrong and what was expected (the caller adds file and line).
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"parameter name {name!r}: expected a Python identifier")
    if name in RESERVED_PARAMETERS:
        raise ValueError(f"{name!r} is reserved (the runner injects it)")
    if not isinstance(raw, dict) or "type" not in raw or "default" not in raw:
        raise ValueError("expected a mapping with at least 'type' and 'default'")
    unknown = [key for key in raw if key not in PARAMETER_KEYS]
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; expected {sorted(PARAMETER_KEYS)}")
    kind = raw["type"]
    if not isinstance(kind, str) or (kind not in SCALAR_TYPES and kind not in LIST_TYPES):
        expected = sorted([*SCALAR_TYPES, *LIST_TYPES])
        raise ValueError(f"unknown type {kind!r}; expected one of {expected}")
    choices = raw.get("choices")
    if choices is not None:
        if not isinstance(choices, list) or not choices:
            raise ValueError(f"choices must be a non-empty list, got {choices!r}")
        item_type = LIST_TYPES.get(kind, kind)
        for choice in choices:
            _coerce_scalar(item_type, choice)
    for bound in ("min", "max"):
        if raw.get(bound) is not None and not _number(raw[bound]):
            raise ValueError(f"{bound} must be a finite number, got {raw[bound]!r}")
    if not isinstance(raw.get("help", ""), str):
        raise ValueError(f"help must be text, got {raw['help']!r}")
    param = Parameter(
        name=name,
        type=kind,
        default=raw["default"],
        help=raw.get("help", ""),
        choices=tuple(choices) if choices is not None else None,
        min=raw.get("min"),
        max=raw.get("max"),
    )
    try:
        coerced = coerce_value(param, raw["default"], check_path=False)
    except ValueError as err:
        raise ValueError(f"default {raw['default']!r} is invalid: {err}") from None
    return Parameter(**{**param.__dict__, "default": coerced})


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
    if "\x00" in value:
        raise ValueError(f"expected text without NUL characters, got {value!r}")
    return value


def _check_bounds(param: Parameter, value: Any) -> None:
    if param.choices is not None and value not in param.choices:
        raise ValueError(f"{value!r} is not one of {list(param.choices)}")
    if param.min is not None and value < param.min:
        raise ValueError(f"{value!r} is below the minimum {param.min}")
    if param.max is not None and value > param.max:
        raise ValueError(f"{value!r} is above the maximum {param.max}")


def resolve_path(value: str) -> Path:
    """A ``path`` parameter: absolute, or relative to the repository root."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else repo_root() / path


def existing_path(value: str) -> Path:
    """A ``path`` parameter's target: it must exist and be a regular file or a folder."""
    import stat

    resolved = resolve_path(value)
    try:
        mode = resolved.stat().st_mode
    except FileNotFoundError:
        raise ValueError(f"path {value!r} does not exist (looked for {resolved})") from None
    except OSError as err:
        raise ValueError(f"path {value!r} cannot be read ({err.strerror})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(
            f"path {value!r} is not a regular file or folder (a device, pipe or socket)"
        )
    return resolved


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
        existing_path(typed)
    return typed


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def paramset_name(defaults: dict[str, Any], parameters: dict[str, Any]) -> str:
    """``default`` for the declared defaults, else ``p-<hash>`` of the resolved parameters."""
    if parameters == defaults:
        return DEFAULT_PARAMSET
    return "p-" + hashlib.sha256(canonical_json(parameters).encode()).hexdigest()[:10]


# --------------------------------------------------------------------------- hand runs


def hand_run_dir(notebook: str, paramset: str) -> Path:
    """Where a notebook run by hand writes: ``<build>/manual/<notebook>/<set>``.

    Apart from the pipeline's ``runs/``, and one folder per parameter set, so a hand run
    never overwrites the pipeline's results or another set's.
    """
    return manual_output_dir(notebook, paramset)


def declared_parameters(notebook: str, pipeline: str | os.PathLike | None = None) -> dict:
    """The parameters ``pipeline.yml`` declares for ``notebook``, parsed and checked."""
    from analysis.safeyaml import load_yaml

    path = Path(pipeline or os.environ.get(PIPELINE_ENV) or repo_root() / "pipeline.yml")
    try:
        raw = load_yaml(path)
        declared = raw["notebooks"][notebook].get("parameters") or {}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ParameterError(
            f"{path}: cannot read the parameters of notebook {notebook!r} ({err}); "
            "run `compendium list` to see what is wrong"
        ) from None
    parsed = {}
    for name, spec in declared.items():
        try:
            parsed[name] = parse_parameter(name, spec)
        except ValueError as err:
            where = f"notebook {notebook!r}, parameter {name!r}"
            raise ParameterError(f"{path}: {where}: {err}") from None
    return parsed


def check_parameters(notebook: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Check a notebook's parameter values (its ``globals()``) against ``pipeline.yml``.

    Called in each notebook's first code cell. Under the pipeline (``output_dir`` set) it
    only checks, also that ``output_dir`` lies in the build folder's ``runs/`` or ``manual/``
    (a hand run's ``-p output_dir ../../X`` is refused). Run by hand (``output_dir`` empty)
    it also points ``output_dir`` at the hand run's own parameter-set folder and writes a
    ``run.json`` there saying what ran.

    Parameters
    ----------
    notebook
        The notebook's name in ``pipeline.yml``.
    namespace
        The notebook's ``globals()``; ``output_dir`` in it may be set.

    Returns
    -------
    dict
        The checked values by parameter name.

    Raises
    ------
    ParameterError
        Naming the notebook, the parameter, its declared type and what is wrong.
    """
    declared = declared_parameters(notebook)
    values = {}
    for name, param in declared.items():
        if name not in namespace:
            raise ParameterError(f"notebook {notebook!r}: parameter {name!r} is not set")
        try:
            values[name] = coerce_value(param, namespace[name])
        except ValueError as err:
            raise ParameterError(
                f"notebook {notebook!r}, parameter {name!r} ({param.type}): {err}"
            ) from None
    given = namespace.get("output_dir")
    problem = output_dir_problem(given, notebook) if given else None
    if problem:
        raise ParameterError(problem)
    if not given:
        defaults = {name: p.default for name, p in declared.items()}
        folder = hand_run_dir(notebook, paramset_name(defaults, values))
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            "notebook": notebook,
            "runner": "hand (JupyterLab or plain papermill), not the pipeline",
            "paramset": folder.name,
            "parameters": values,
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "outputs": "not recorded: a hand run is not checked by `compendium status`",
        }
        tmp = folder / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, folder / MANIFEST)
        namespace["output_dir"] = str(folder)
    return values
