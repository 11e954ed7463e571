"""Reading a YAML file the project depends on, within bounds, with errors naming file:line.

Every YAML file the compendium reads (``pipeline.yml``, the data catalogues, mapping
files) is small and plain. Before PyYAML builds anything, the text is checked: valid
UTF-8, no NUL, at most :data:`MAX_BYTES`, no aliases (``*name``, the "billion laughs"),
nesting at most :data:`MAX_DEPTH` deep. The checks walk PyYAML's event stream, which
neither recurses nor expands aliases.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from analysis.errors import CompendiumError

MAX_BYTES = 1 << 20
MAX_DEPTH = 12


class YamlError(CompendiumError, ValueError):
    """A YAML file is unreadable, malformed or outside the bounds; the message says where."""


def located(path: str | os.PathLike, line: int, message: str) -> str:
    """``path:line: message``; a line of 0 (not known) is left out rather than shown."""
    return f"{path}:{line}: {message}" if line else f"{path}: {message}"


def _fail(path: Path, line: int, message: str) -> YamlError:
    return YamlError(located(path, line, message))


def read_text(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> str:
    """The file's text: at most ``max_bytes``, valid UTF-8, without NUL."""
    path = Path(path)
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise YamlError(f"{path}: not a regular file (a folder, device or pipe)")
        size = st.st_size
        if size > max_bytes:
            raise _fail(path, 0, f"{size} bytes, above the {max_bytes} expected of this file")
        raw = path.read_bytes()
    except OSError as err:
        raise YamlError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        message = f"byte {raw[err.start]:#04x} is not valid UTF-8; save as UTF-8"
        raise _fail(path, line, message) from None
    if "\x00" in text:
        raise _fail(path, text[: text.index("\x00")].count("\n") + 1, "contains a NUL byte")
    return text


def check_shape(path: str | os.PathLike, text: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse aliases and nesting deeper than ``max_depth``; malformed YAML names its line."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                raise _fail(Path(path), line, "YAML aliases (*name) are not allowed here")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise _fail(Path(path), line, f"nested deeper than {max_depth} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as err:
        raise malformed(path, err) from None


#: What PyYAML's constructors raise besides YAMLError: a tagged value they cannot build
#: (``!!int abc`` ValueError, ``!!timestamp abc`` AttributeError, ``!!bool maybe`` KeyError),
#: an unhashable key (TypeError) or nesting beyond Python's recursion limit.
CONSTRUCTION_ERRORS = (TypeError, ValueError, AttributeError, KeyError, RecursionError)


class Unbuildable(yaml.YAMLError):
    """A value PyYAML parsed but cannot build (one of :data:`CONSTRUCTION_ERRORS`), at a line."""

    def __init__(self, line: int, cause: BaseException) -> None:
        super().__init__(f"line {line}: {cause}")
        self.line, self.cause = line, cause

    def describe(self, source: str | os.PathLike) -> str:
        """``source:line: unsupported YAML structure (...)``."""
        return str(_fail(Path(source), self.line, f"unsupported YAML structure ({self.cause})"))


class MarkedLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, except that a value it cannot build raises :class:`Unbuildable`
    with the line of that value (PyYAML's own constructors raise without a position)."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except CONSTRUCTION_ERRORS as err:
            raise Unbuildable(node.start_mark.line + 1, err) from None


def load_checked(text: str, source: str | os.PathLike, loader: type = MarkedLoader) -> Any:
    """``yaml.load`` of checked ``text`` with ``loader`` (a :class:`MarkedLoader`); every
    failure is one :class:`YamlError` naming ``source`` and, where known, the line."""
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - loader is a SafeLoader subclass
    except Unbuildable as err:
        raise YamlError(err.describe(source)) from None
    except yaml.YAMLError as err:
        raise malformed(source, err) from None
    except CONSTRUCTION_ERRORS as err:  # raised while a collection is filled in: no node
        raise _fail(Path(source), 0, f"unsupported YAML structure ({err})") from None


def malformed(path: str | os.PathLike, err: yaml.YAMLError) -> YamlError:
    """The YAML parser's complaint as one message naming the file and line."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return _fail(Path(path), mark.line + 1 if mark else 0, f"malformed YAML: {problem}")


def load_text(text: str, source: str, max_bytes: int = MAX_BYTES) -> Any:
    """Check and parse YAML ``text`` that is not a file (a command-line value), within the
    same bounds; ``source`` names it in messages."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise YamlError(f"{source}: above the {max_bytes} bytes expected")
    if "\x00" in text:
        raise YamlError(f"{source}: contains a NUL character")
    check_shape(source, text)
    return load_checked(text, source)


def load_yaml(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> Any:
    """Read, check and parse a YAML file (``yaml.safe_load`` within the bounds above)."""
    text = read_text(path, max_bytes)
    check_shape(path, text)
    return load_checked(text, path)
