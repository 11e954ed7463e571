"""Cache keys do not depend on the locale: notebooks and package modules are read as UTF-8.

A user whose locale is not UTF-8 (``LANG=C`` with Python's UTF-8 coercion off, or a Latin-1
locale) must get the same keys as CI, or every run would be stale on their machine, or fail
to read a notebook holding an accented name. The locale is set where it can be: in a fresh
interpreter, which imports the same package as this test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

import analysis
from analysis.compendium import cache

ASCII_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}
TEXT = "# Pénurie de médecins: «taux» ± 2σ\n"


def _in_ascii_locale(code: str, root: Path) -> dict:
    """Run ``code`` in a new interpreter under the C locale; it prints one JSON value."""
    env = {
        **os.environ,
        **ASCII_LOCALE,
        "COMPENDIUM_ROOT": str(root),
        "PYTHONPATH": str(Path(analysis.__file__).resolve().parent.parent),
    }
    prelude = (
        "import json, locale, sys\n"
        "from pathlib import Path\n"
        "from analysis.compendium import cache\n"
        "encoding = locale.getpreferredencoding(False)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + code],
        env=env,
        capture_output=True,
        encoding="utf-8",
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_notebook_digest_is_the_same_under_an_ascii_locale(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(TEXT + "x = 1")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "n.ipynb")
    here = cache.source_digest(Path(tmp_path / "notebooks" / "n.ipynb"))
    there = _in_ascii_locale(
        "print(json.dumps([encoding, cache.source_digest(Path('notebooks/n.ipynb'))]))",
        tmp_path,
    )
    assert there == ["ANSI_X3.4-1968", here]


def test_the_import_closure_is_read_as_utf8_under_an_ascii_locale(tmp_path, monkeypatch):
    package = tmp_path / "analysis"
    package.mkdir()
    (package / "__init__.py").write_text(TEXT + "from analysis import a\n", encoding="utf-8")
    (package / "a.py").write_text(TEXT + "import analysis.b\n", encoding="utf-8")
    (package / "b.py").write_text(TEXT, encoding="utf-8")
    monkeypatch.setattr(cache, "package_folder", lambda: package)
    here = [str(p.relative_to(tmp_path)) for p in cache.module_closure({"analysis.a"})]
    assert here == ["analysis/__init__.py", "analysis/a.py", "analysis/b.py"]
    there = _in_ascii_locale(
        f"cache.package_folder = lambda: Path({str(package)!r})\n"
        "closure = cache.module_closure({'analysis.a'})\n"
        f"print(json.dumps([encoding, [str(p.relative_to({str(tmp_path)!r})) for p in closure]]))",
        tmp_path,
    )
    assert there == ["ANSI_X3.4-1968", here]
