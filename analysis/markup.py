"""Escaping text that came from data before it reaches Markdown or HTML.

A value read from a data file, a file name or a parameter is text, never markup: shown in
a Markdown cell or an HTML page it must not add tags, scripts, links or MyST roles. Code
that puts such a value into Markdown calls :func:`escape_markdown`; the book applies
:func:`neutralise_markdown` and :func:`sanitise_html` to every output cell it publishes, so
a value that slipped through unescaped is still shown as text.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

# Every ASCII punctuation character may be backslash-escaped in CommonMark (and MyST).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:^=\"'])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_DANGEROUS_ELEMENTS = {"script", "iframe", "object", "embed", "frame", "frameset", "base", "meta"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}
_SAFE_URL = re.compile(r"^\s*(https?:|mailto:|#|data:image/(png|svg\+xml|jpeg);|[^:]*$)", re.I)


def escape_markdown(text: object) -> str:
    """``text`` as literal Markdown: HTML escaped, punctuation backslash-escaped.

    Examples
    --------
    >>> escape_markdown("<b>x</b> *y*")
    '&lt;b&gt;x&lt;/b&gt; \\\\*y\\\\*'
    """
    escaped = html.escape(str(text), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped).replace("\n", " ")


_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
_RAW_FENCE = re.compile(r"^```\s*\{(raw|eval-rst)\}", re.I)


def neutralise_markdown(markdown: str, keep_code: bool = False) -> str:
    """Markdown with every raw HTML tag turned into text (``<`` becomes ``&lt;``).

    With ``keep_code``, code spans and fenced blocks are left alone (a MyST role such as
    ``{ref}`text <label>``` holds a ``<`` that is not HTML), except a ``{raw}`` or
    ``{eval-rst}`` fence, which would pass its content through as markup.
    """
    if not keep_code:
        return _TAG_START.sub("&lt;", markdown)
    parts = _CODE.split(markdown)
    return "".join(
        part if i % 2 and not _RAW_FENCE.match(part) else _TAG_START.sub("&lt;", part)
        for i, part in enumerate(parts)
    )


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.skipping: list[str] = []

    def _attrs(self, attrs: list[tuple[str, str | None]]) -> str:
        kept = []
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on") or name == "srcdoc":
                continue
            if name in _URL_ATTRIBUTES and value is not None and not _SAFE_URL.match(value):
                continue
            kept.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
        return "".join(" " + a for a in kept)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _DANGEROUS_ELEMENTS:
            self.skipping.append(tag)
        elif not self.skipping:
            self.out.append(f"<{tag}{self._attrs(attrs)}>")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag not in _DANGEROUS_ELEMENTS and not self.skipping:
            self.out.append(f"<{tag}{self._attrs(attrs)}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DANGEROUS_ELEMENTS:
            if self.skipping:
                self.skipping.pop()
        elif not self.skipping:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        if not self.skipping:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if not self.skipping:
            self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        return None

    def handle_decl(self, decl: str) -> None:
        return None

    def unknown_decl(self, data: str) -> None:
        return None


def sanitise_html(markup: str) -> str:
    """HTML without scripts, frames, event handlers or ``javascript:`` links.

    Tables, styles and text are kept as they are (pandas tables, Styler output); the
    dangerous elements are dropped with their content.
    """
    parser = _Sanitiser()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)
