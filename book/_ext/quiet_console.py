"""A local Sphinx extension that keeps the book's pages free of JavaScript console errors.

jupyter-book 1.x registers sphinx-thebe's inline configuration script twice on every page
(``const THEBE_JS_URL`` declared twice is a SyntaxError), and pydata-sphinx-theme logs an
error when no default colour mode is set. This drops repeated identical scripts and sets the
light mode.
"""

from __future__ import annotations


def _unique(scripts: list) -> list:
    seen = set()
    kept = []
    for script in scripts:
        attributes = tuple(
            sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())
        )
        # The same inline script is registered once with filename None and once with "".
        key = (str(getattr(script, "filename", script) or ""), attributes)
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    return kept


def _dedupe_registered(app, env):
    builder = app.builder
    for name in ("_js_files", "_orig_js_files"):
        files = getattr(builder, name, None)
        if isinstance(files, list):
            files[:] = _unique(files)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        scripts[:] = _unique(scripts)
    if not context.get("default_mode"):
        context["default_mode"] = "light"


def setup(app):
    app.connect("env-updated", _dedupe_registered)
    app.connect("html-page-context", _dedupe_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
