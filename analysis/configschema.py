"""Configuration files checked against a JSON Schema before anything runs.

Every configuration file a user edits (mapping files, cluster settings, sweeps) has a schema:
its allowed keys, their types, finite numbers, one column in one role. :func:`load_config`
reads the file through the project's bounded YAML reader (:mod:`analysis.safeyaml`) and
validates it with ``jsonschema``; the first problem is reported as one line naming the file,
the line and the key, and what was expected:

    data/indicators/mappings/qof_2022-23.yml:2: max_points: expected a number, got true

Schemas are plain dictionaries kept beside the code that reads the file. Numbers are checked
as finite (YAML's ``.inf`` and ``.nan`` are refused) wherever a schema says ``"number"``; a
string a schema marks ``"patternGroups": ["year"]`` must be a regular expression RE2 runs in
linear time (:mod:`analysis.patterns`) defining those named groups (``[]``: any pattern).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import CompendiumError
from analysis.safeyaml import load_yaml, read_text


class ConfigError(CompendiumError, ValueError):
    """A configuration file breaks its schema; the message names the file, line and key."""


def _finite_number(checker: Any, instance: Any) -> bool:
    return (
        isinstance(instance, int | float)
        and not isinstance(instance, bool)
        and math.isfinite(instance)
    )


def _import_jsonschema() -> Any:
    """jsonschema, imported without its optional URI-syntax checker ``rfc3987_syntax``.

    That checker compiles 38 grammars on import (two seconds of a notebook's run); no schema
    here checks a URI format, and a missing optional format checker is jsonschema's designed
    fallback. The block is lifted afterwards, so other code may still import the module.
    """
    import sys

    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import jsonschema

        return jsonschema
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import jsonschema
    finally:
        del sys.modules["rfc3987_syntax"]
    return jsonschema


def _pattern_groups(validator: Any, groups: list[str], instance: Any, schema: Any) -> Any:
    """``patternGroups: [year]``: a string must be an RE2 pattern defining these groups."""
    from jsonschema.exceptions import ValidationError

    from analysis.patterns import ConfigPattern, PatternError

    if isinstance(instance, str):
        try:
            ConfigPattern(instance, groups)
        except PatternError as err:
            yield ValidationError(str(err))


def _validator(schema: Mapping[str, Any]) -> Any:
    jsonschema = _import_jsonschema()

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine("number", _finite_number)
    extended = jsonschema.validators.extend(
        base, validators={"patternGroups": _pattern_groups}, type_checker=checker
    )
    return extended(schema)


def key_path(path: Sequence[object]) -> str:
    """``["columns", "list_size"]`` as ``columns.list_size`` (``[0]`` for list items)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _line(text: str, path: Sequence[object]) -> int:
    """The line of the key at ``path`` in the YAML ``text`` (0 when it cannot be found)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return 0
    line = node.start_mark.line + 1 if node is not None else 0
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _describe(error: Any) -> str:
    """jsonschema's complaint in a user's words."""
    validator, expected = error.validator, error.validator_value
    instance = error.instance
    shown = "true" if instance is True else "false" if instance is False else repr(instance)
    if validator == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        if "number" in kinds and isinstance(instance, float) and not math.isfinite(instance):
            return f"expected a finite number, got {instance}"
        return f"expected {' or '.join(kinds)}, got {shown}"
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(instance) - set(allowed))
        return f"unknown key(s) {', '.join(map(str, extra))}; allowed: {', '.join(allowed)}"
    if validator == "required":
        return error.message.replace("is a required property", "is required")
    if validator == "minLength" and expected == 1:
        return "expected a non-empty text"
    if validator == "enum":
        return f"expected one of {', '.join(map(str, expected))}, got {shown}"
    return error.message


def check_config(data: Any, schema: Mapping[str, Any], source: str | os.PathLike) -> Any:
    """Validate already-loaded ``data`` against ``schema``; return it unchanged.

    Raises
    ------
    ConfigError
        At the first problem (jsonschema's best match), naming ``source``, the line where
        the file is YAML on disk, the key path and what was expected.
    """
    jsonschema = _import_jsonschema()

    error = jsonschema.exceptions.best_match(_validator(schema).iter_errors(data))
    if error is None:
        return data
    where = list(error.absolute_path)
    located = where
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)
        located = [*where, extra[0]] if extra else where
    line = 0
    if Path(source).is_file():
        try:
            line = _line(read_text(source), located)
        except CompendiumError:
            line = 0
    prefix = f"{source}:{line}" if line else f"{source}"
    raise ConfigError(f"{prefix}: {key_path(where)}: {_describe(error)}")


def load_config(path: str | os.PathLike, schema: Mapping[str, Any]) -> Any:
    """Read a YAML configuration file within bounds and validate it against ``schema``."""
    return check_config(load_yaml(path), schema, path)


def distinct_values(mapping: Mapping[str, Any], source: str | os.PathLike, what: str) -> None:
    """Refuse a mapping in which one value serves two keys (one column in two roles).

    Keys are shown as ``what.key`` (``key`` alone when ``what`` is empty, for keys that are
    already dotted paths such as ``columns.list_size``), with the line of the second one.
    """
    seen: dict[Any, str] = {}
    for key, value in mapping.items():
        if isinstance(value, list | dict):
            continue
        shown = f"{what}.{key}" if what else str(key)
        if value in seen:
            line = 0
            if Path(source).is_file():
                try:
                    line = _line(read_text(source), shown.split("."))
                except CompendiumError:
                    line = 0
            prefix = f"{source}:{line}" if line else f"{source}"
            raise ConfigError(
                f"{prefix}: {shown} and {seen[value]} both name {value!r}; "
                "one column can have one role only"
            )
        seen[value] = shown
