"""What makes a cached run stale, stated as the behaviour a user relies on.

No notebook is executed: runs are recorded the way the runner records them (a ``run.json``
holding the cache components, plus the declared outputs) and read back through the
runner's own ``plan_notebook``. Package-digest tests use a small synthetic package so an
edit never touches the real one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis.compendium import cache, execute
from analysis.compendium import pipeline as pl


@pytest.fixture(autouse=True)
def fresh_memo():
    """Digests are memoised per process; start and end every test without old entries."""
    cache._file_digest.cache_clear()
    cache._closure_digests.cache_clear()
    yield
    cache._file_digest.cache_clear()
    cache._closure_digests.cache_clear()


def record_run(notebook: pl.Notebook, parameters: dict | None = None) -> None:
    """A completed run as the runner leaves it: its outputs and a manifest with its key."""
    parameters = pl.resolve_parameters(notebook, parameters or {})
    folder = pl.run_dir(notebook.name, pl.paramset_name(notebook, parameters))
    for out in notebook.outputs:
        (folder / out).parent.mkdir(parents=True, exist_ok=True)
        (folder / out).write_text("x\n1\n")
    components = cache.cache_components(notebook, parameters)
    (folder / execute.MANIFEST).write_text(json.dumps({"cache": components}))


def reasons(notebook: pl.Notebook, parameters: dict | None = None) -> list[str]:
    return execute.plan_notebook(notebook, parameters).reasons


# --------------------------------------------------------------------------- outputs


def test_a_deleted_output_makes_its_run_stale(mini):
    alpha = pl.load().notebook("alpha")
    assert reasons(alpha) == ["never run"]
    record_run(alpha)
    assert reasons(alpha) == []
    (pl.run_dir("alpha") / "tables" / "out.csv").unlink()
    assert reasons(alpha) == ["output missing: tables/out.csv"]


def test_every_missing_output_is_named_in_declared_order(mini):
    gamma = pl.load().notebook("gamma")
    two = pl.Notebook(**{**gamma.__dict__, "outputs": ("tables/b.csv", "tables/a.csv")})
    record_run(two)
    assert reasons(two) == []
    for out in two.outputs:
        (pl.run_dir("gamma") / out).unlink()
    assert reasons(two) == ["output missing: tables/b.csv, tables/a.csv"]


# --------------------------------------------------------------------------- path parameters


@pytest.fixture
def with_path(mini):
    """Notebook alpha with an extra ``path`` parameter pointing at a file of the project."""
    (mini / "data" / "extra.csv").write_text("a\n1\n")
    alpha = pl.load().notebook("alpha")
    src = pl.Parameter("src", "path", "data/extra.csv")
    return pl.Notebook(**{**alpha.__dict__, "parameters": {**alpha.parameters, "src": src}})


def test_an_edited_path_file_invalidates(mini, with_path):
    record_run(with_path)
    assert reasons(with_path) == []
    (mini / "data" / "extra.csv").write_text("a\n1\n2\n")
    assert reasons(with_path) == ["input file changed: parameter:src"]
    # Restoring the content makes the run fresh again: the digest is of the content.
    (mini / "data" / "extra.csv").write_text("a\n1\n")
    assert reasons(with_path) == []


def test_pointing_a_path_parameter_elsewhere_or_nowhere_invalidates(mini, with_path):
    (mini / "data" / "other.csv").write_text("a\n7\n")
    components = cache.cache_components(with_path, with_path.defaults | {"src": "data/other.csv"})
    assert components["inputs"]["parameter:src"] == hashlib.sha256(b"a\n7\n").hexdigest()
    recorded = {"cache": components}
    same_text = with_path.defaults | {"src": "data/other.csv"}
    assert (
        cache.stale_reasons(with_path, cache.cache_components(with_path, same_text), recorded) == []
    )
    cleared = cache.cache_components(with_path, with_path.defaults | {"src": ""})
    assert "parameter:src" not in cleared["inputs"]
    assert cache.stale_reasons(with_path, cleared, recorded) == [
        "parameter changed",
        "input file changed: parameter:src",
    ]


def test_only_path_parameters_are_digested_as_files(mini):
    alpha = pl.load().notebook("alpha")
    # 'label' is a str parameter whose value happens to name a file: it is not an input.
    components = cache.cache_components(alpha, alpha.defaults | {"label": "data/input.csv"})
    assert set(components["inputs"]) == {"data/input.csv"}


# --------------------------------------------------------------------------- parameters


def test_parameter_order_never_changes_a_hash(mini):
    alpha = pl.load().notebook("alpha")
    forward = {"n": 4, "label": "y", "scale": 2.0, "mode": "b"}
    backward = dict(reversed(list(forward.items())))
    assert list(forward) != list(backward)
    assert pl.paramset_name(alpha, forward) == pl.paramset_name(alpha, backward)
    one = cache.cache_components(alpha, forward)
    two = cache.cache_components(alpha, backward)
    assert one == two
    assert cache.cache_key(one) == cache.cache_key(two)
    assert cache.cache_key(dict(reversed(list(one.items())))) == cache.cache_key(one)
    assert pl.canonical_json({"b": {"y": 1, "x": 2}, "a": 1}) == '{"a":1,"b":{"x":2,"y":1}}'


def test_a_changed_parameter_value_is_named(mini):
    alpha = pl.load().notebook("alpha")
    record_run(alpha, {"n": 4})
    assert reasons(alpha, {"n": 4}) == []
    # n=5 is another parameter set (another folder): never run, not a stale n=4
    assert reasons(alpha, {"n": 5}) == ["never run"]
    recorded = {"cache": cache.cache_components(alpha, alpha.defaults | {"n": 4})}
    now = cache.cache_components(alpha, alpha.defaults | {"n": 5})
    assert cache.stale_reasons(alpha, now, recorded) == ["parameter changed"]


# --------------------------------------------------------------------------- directory inputs


@pytest.fixture
def folder_input(mini):
    folder = mini / "data" / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("a\n1\n")
    (folder / "sub" / "b.csv").write_text("b\n2\n")
    alpha = pl.load().notebook("alpha")
    return pl.Notebook(**{**alpha.__dict__, "inputs": ("data/input.csv", "data/folder")})


def test_a_directory_input_changes_when_a_file_inside_changes(mini, folder_input):
    folder = mini / "data" / "folder"
    record_run(folder_input)
    assert reasons(folder_input) == []
    (folder / "sub" / "b.csv").write_text("b\n3\n")
    assert reasons(folder_input) == ["input file changed: data/folder"]
    (folder / "sub" / "b.csv").write_text("b\n2\n")
    assert reasons(folder_input) == []
    (folder / "c.csv").write_text("")
    assert reasons(folder_input) == ["input file changed: data/folder"]
    (folder / "c.csv").unlink()
    (folder / "a.csv").rename(folder / "z.csv")  # same content, another name
    assert reasons(folder_input) == ["input file changed: data/folder"]


def test_directory_digest_is_of_names_and_contents_not_timestamps(mini, folder_input):
    folder = mini / "data" / "folder"
    before = cache.file_digest(folder)
    assert before == cache.directory_digest(folder)
    copy = mini / "data" / "copy"
    shutil.copytree(folder, copy, copy_function=shutil.copy)  # fresh timestamps
    assert cache.file_digest(copy) == before
    with pytest.raises(pl.PipelineError, match="sub_missing: cannot be read"):
        cache.directory_digest(mini / "data" / "sub_missing")
    assert cache.file_digest(mini / "data" / "nope") == "missing"
    # A file's digest is its SHA-256.
    assert cache.file_digest(folder / "a.csv") == hashlib.sha256(b"a\n1\n").hexdigest()


def test_a_removed_input_is_named(mini, folder_input):
    recorded = {"cache": cache.cache_components(folder_input, folder_input.defaults)}
    alpha = pl.load().notebook("alpha")
    now = cache.cache_components(alpha, alpha.defaults)
    assert cache.stale_reasons(alpha, now, recorded) == ["input file changed: data/folder"]


def test_changed_inputs_are_listed_sorted(mini):
    alpha = pl.load().notebook("alpha")
    many = pl.Notebook(**{**alpha.__dict__, "inputs": ("data/z.csv", "data/input.csv")})
    (mini / "data" / "z.csv").write_text("z\n")
    recorded = {"cache": cache.cache_components(many, many.defaults)}
    (mini / "data" / "z.csv").write_text("z\n1\n")
    (mini / "data" / "input.csv").write_text("value\n9\n")
    now = cache.cache_components(many, many.defaults)
    assert cache.stale_reasons(many, now, recorded) == [
        "input file changed: data/input.csv, data/z.csv"
    ]


def test_all_reasons_in_order_and_a_manifest_without_a_key(mini):
    alpha = pl.load().notebook("alpha")
    components = cache.cache_components(alpha, alpha.defaults)
    everything = [
        "source changed",
        "parameter changed",
        "input file changed: data/input.csv",
        "package code changed",
    ]
    assert cache.stale_reasons(alpha, components, {}) == everything
    missing = {"_folder": str(mini / "nowhere")}
    assert cache.stale_reasons(alpha, components, missing) == [
        *everything,
        "output missing: tables/out.csv",
    ]


# --------------------------------------------------------------------------- notebook source


def _write_notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nbformat.write(nb, path)


def test_code_cells_stored_as_lines_or_as_one_string_digest_the_same(mini):
    code = "import numpy\nx = 1\n"
    path = mini / "notebooks" / "t.ipynb"
    _write_notebook(path, [nbformat.v4.new_code_cell(code)])
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = code  # one string, as some tools store it
    path.write_text(json.dumps(nb))
    whole = cache.source_digest(path.relative_to(mini))
    nb["cells"][0]["source"] = code.splitlines(keepends=True)  # lines, as nbformat stores it
    path.write_text(json.dumps(nb))
    assert cache.source_digest(path.relative_to(mini)) == whole
    expected = hashlib.sha256(pl.canonical_json([code]).encode()).hexdigest()
    assert whole == expected
    # A raw cell is not code.
    nb["cells"].append({"cell_type": "raw", "metadata": {}, "source": "print(2)"})
    path.write_text(json.dumps(nb))
    assert cache.source_digest(path.relative_to(mini)) == whole


@pytest.mark.parametrize("content", ["not json", '{"nbformat": 4}', ""])
def test_an_unreadable_notebook_is_named(mini, content):
    (mini / "notebooks" / "bad.ipynb").write_text(content)
    with pytest.raises(pl.PipelineError, match=r"^notebooks/bad.ipynb: not a readable notebook"):
        cache.source_digest(Path("notebooks/bad.ipynb"))
    with pytest.raises(pl.PipelineError, match="not a readable notebook"):
        cache.source_digest(Path("notebooks/absent.ipynb"))


# --------------------------------------------------------------------------- package code

PACKAGE = {
    "__init__.py": "",
    "paths.py": "import os\n",
    "core/__init__.py": "",
    "core/stats.py": "import numpy\n",
    "core/helpers.py": "import math\n",
    "indicators/__init__.py": "",
    "indicators/panel.py": "from analysis.core import stats\n",
    "survey/__init__.py": "",
    "survey/tables.py": "import analysis.core.helpers as h\n",
    "compendium/__init__.py": "",
    "compendium/runner.py": "from analysis.compendium import pipeline\n",
    "compendium/pipeline.py": "",
}

NOTEBOOK_IMPORTS = {
    "ind": "from analysis.indicators import panel",
    "stats": "import analysis.core.stats as st",
    "survey": "from analysis.survey.tables import h",
    "paths": "from analysis.paths import data_dir",
    "outside": "import numpy\nimport analysisx",
}


@pytest.fixture
def package(mini, tmp_path, monkeypatch):
    """A synthetic ``analysis`` package and one notebook per import pattern."""
    root = tmp_path / "pkg" / "analysis"
    for name, text in PACKAGE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.setattr(cache, "package_folder", lambda: root)
    for name, code in NOTEBOOK_IMPORTS.items():
        _write_notebook(
            mini / "notebooks" / f"{name}.ipynb",
            [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell(code)],
        )
    return root


def _digests():
    return {
        name: cache.package_digest(Path(f"notebooks/{name}.ipynb")) for name in NOTEBOOK_IMPORTS
    }


@pytest.mark.parametrize(
    ("module", "affected"),
    [
        ("core/stats.py", {"ind", "stats"}),
        ("indicators/panel.py", {"ind"}),
        ("core/helpers.py", {"survey"}),
        ("core/__init__.py", {"ind", "stats", "survey"}),
        ("__init__.py", {"ind", "stats", "survey", "paths"}),
        ("compendium/runner.py", set()),
        ("compendium/pipeline.py", set()),
    ],
)
def test_an_edited_module_invalidates_exactly_the_notebooks_that_import_it(
    package, module, affected
):
    before = _digests()
    path = package / module
    path.write_text(path.read_text() + "\n# edited\n")
    after = _digests()
    assert {name for name in before if before[name] != after[name]} == affected


def test_package_digest_is_of_the_imported_files(package):
    # 'outside' imports no analysis module: its digest is of no files at all.
    assert cache.package_digest(Path("notebooks/outside.ipynb")) == {}
    expected = {
        name: hashlib.sha256((package / name).read_bytes()).hexdigest()
        for name in ("__init__.py", "paths.py")
    }
    assert cache.package_digest(Path("notebooks/paths.ipynb")) == expected


def test_import_closure_of_the_synthetic_package(package):
    closure = cache.module_closure({"analysis.indicators.panel"})
    assert [str(p.relative_to(package)) for p in closure] == [
        "__init__.py",
        "core/__init__.py",
        "core/stats.py",
        "indicators/__init__.py",
        "indicators/panel.py",
    ]
    assert cache.module_closure({"numpy", "analysis.nope"}) == [package / "__init__.py"]
    assert cache.module_closure(set()) == []


def test_which_imports_count():
    code = (
        "import analysis.core.stats as s\n"
        "from analysis.casestudy.qca import truth_table\n"
        "from . import sibling\n"
        "import analysisx, numpy\n"
        "from numpy import analysis\n"
    )
    assert cache.imported_modules(code) == {
        "analysis.core.stats",
        "analysis.casestudy.qca",
        "analysis.casestudy.qca.truth_table",
    }
    assert cache.imported_modules("import analysis\nfrom (") == set()
    assert cache.imported_modules("import analysis") == {"analysis"}


# ------------------------------------------------------------------ edits a timestamp misses


def _keep_mtime(path: Path, text: str) -> None:
    """Rewrite a file but keep its timestamp, as ``cp -p`` or ``rsync -t`` would."""
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_edits_of_the_same_size_or_with_the_old_timestamp_still_invalidate(mini, with_path):
    extra = mini / "data" / "extra.csv"
    record_run(with_path)
    extra.write_text("a\n9\n")  # same size, new timestamp
    assert reasons(with_path) == ["input file changed: parameter:src"]
    record_run(with_path)
    _keep_mtime(extra, "a\n10\n")  # new size, old timestamp
    assert reasons(with_path) == ["input file changed: parameter:src"]


def test_package_edits_of_the_same_size_or_with_the_old_timestamp_invalidate(package):
    before = _digests()
    stats = package / "core" / "stats.py"
    stats.write_text("import numpz\n")  # same size as "import numpy\n"
    same_size = _digests()
    assert {n for n in before if before[n] != same_size[n]} == {"ind", "stats"}
    _keep_mtime(stats, "import numpy as np\n")
    kept = _digests()
    assert {n for n in before if kept[n] != same_size[n]} == {"ind", "stats"}


def test_directory_digest_is_independent_of_creation_order(mini):
    names = ["b.csv", "a.csv", "sub/c.csv", "sub/a.csv", "z.csv"]
    one, two = mini / "data" / "one", mini / "data" / "two"
    for folder, order in ((one, names), (two, list(reversed(names)))):
        (folder / "sub").mkdir(parents=True)
        for name in order:
            (folder / name).write_text(name)
    assert cache.directory_digest(one) == cache.directory_digest(two)
    expected = hashlib.sha256()
    for name in sorted(names):
        expected.update(name.encode())
        expected.update(hashlib.sha256(name.encode()).hexdigest().encode())
    assert cache.directory_digest(one) == expected.hexdigest()


def test_a_renamed_module_invalidates_the_notebooks_that_imported_it(package):
    before = _digests()
    # A rename keeps size and timestamp; the notebook now imports a module that is gone.
    (package / "core" / "helpers.py").rename(package / "core" / "helpers2.py")
    after = _digests()
    assert {n for n in before if before[n] != after[n]} == {"survey"}


def test_the_recorded_cache_key_differs_when_any_component_differs(mini):
    alpha = pl.load().notebook("alpha")
    components = cache.cache_components(alpha, alpha.defaults)
    key = cache.cache_key(components)
    assert key == hashlib.sha256(pl.canonical_json(components).encode()).hexdigest()
    for part in ("source", "parameters", "package"):
        assert cache.cache_key({**components, part: "other"}) != key
    assert cache.cache_key({**components, "inputs": {}}) != key


def test_code_is_parsed_one_thread_at_a_time(monkeypatch):
    # CPython 3.11's parser fails when two threads parse at once (python/cpython#106905):
    # a sweep's thread computes task keys while the runner plans notebooks.
    import ast

    held = []
    parse = ast.parse

    def checked(code, *args, **kwargs):
        held.append(cache.AST_LOCK.locked())
        return parse(code, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", checked)
    assert cache.imported_modules("from analysis.core import stats") == {
        "analysis.core",
        "analysis.core.stats",
    }
    assert held == [True]
