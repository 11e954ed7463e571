"""Every rule of the pipeline file, checked directly on small files written here.

Each bad file must fail with its one exact line (file, line of the offending key, what was
expected); each good one must give exactly the declared values. No kernel, no command line:
these run in milliseconds, so a broken rule is caught before the slower tests of the
runner and the notebooks. Line numbers are counted by hand in the texts below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.compendium import pipeline as pl

# Line 1 notebooks:, 2 a:, 3 title, 4 source, 5 outputs.
ONE = """\
notebooks:
  a:
    title: A
    source: notebooks/a.ipynb
    outputs: [t/a.csv]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _load(tmp_path: Path, text: str) -> pl.Pipeline:
    return pl.load(_write(tmp_path, text))


def _fails(tmp_path: Path, text: str, line: int | None, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(pl.PipelineError) as err:
        pl.load(path)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(err.value) == where + message


def _with(*lines: str) -> str:
    """ONE with extra lines of notebook ``a`` (lines 6, 7, ...)."""
    return ONE + "".join(f"    {line}\n" for line in lines)


# --------------------------------------------------------------------------- notebook names

NAME_RULE = "expected lower-case letters, digits and _ starting with a letter ([a-z][a-z0-9_]*)"


@pytest.mark.parametrize("name", ["A", "ab-c", "1a", "_a", "a b"])
def test_a_notebook_name_outside_the_pattern_is_refused_whole(tmp_path, name):
    text = ONE.replace("  a:", f"  {name!r}:".replace("'", '"'))
    _fails(tmp_path, text, 2, f"notebook name {name!r}: {NAME_RULE}")


def test_a_notebook_name_that_is_not_text_is_refused(tmp_path):
    _fails(tmp_path, ONE.replace("  a:", "  12:"), 2, f"notebook name 12: {NAME_RULE}")


def test_the_sweep_prefix_is_not_a_notebook_name(tmp_path):
    text = ONE.replace("  a:", "  sweep:")
    _fails(tmp_path, text, 2, "notebook name 'sweep' is reserved for sweep inputs")
    assert list(_load(tmp_path, ONE.replace("  a:", "  sweeps:")).notebooks) == ["sweeps"]


def test_the_second_notebook_is_named_with_its_own_line(tmp_path):
    text = ONE + "  b: [x]\n"
    _fails(tmp_path, text, 6, "notebook 'b': expected a mapping")


# --------------------------------------------------------------------------- notebook keys


def test_unknown_keys_are_all_listed_at_the_first_ones_line(tmp_path):
    text = _with("zeta: 1", "inptus: []")
    _fails(
        tmp_path,
        text,
        6,
        "notebook 'a': unknown key(s) ['zeta', 'inptus']; expected "
        "['inputs', 'outputs', 'parameters', 'source', 'sweeps', 'timeout', 'title', 'validate']",
    )


def test_a_missing_key_is_named_at_the_notebooks_line(tmp_path):
    text = ONE.replace("    title: A\n", "")
    _fails(tmp_path, text, 2, "notebook 'a': missing required key 'title'")


def test_a_minimal_notebook_gets_every_default(tmp_path):
    nb = _load(tmp_path, ONE).notebook("a")
    assert nb == pl.Notebook(
        name="a",
        title="A",
        source=Path("notebooks/a.ipynb"),
        timeout=600,
        parameters={},
        inputs=(),
        outputs=("t/a.csv",),
        sweeps=(),
        validate=(),
    )
    assert nb.defaults == {}
    assert nb.cache_inputs == ()


def test_empty_optional_keys_are_the_defaults(tmp_path):
    text = _with("parameters:", "inputs:", "sweeps:", "validate:")
    nb = _load(tmp_path, text).notebook("a")
    assert (nb.parameters, nb.inputs, nb.sweeps, nb.validate) == ({}, (), (), ())


def test_every_declared_value_is_kept(tmp_path):
    text = (
        "book: {title: T}\n"
        "sweeps: {s1: {}, s2: {}}\n"
        + ONE
        + "    timeout: 7\n"
        + "    inputs: [data/x.csv, 'data/q/q_*.yml']\n"
        + "    sweeps: [s2, s1]\n"
        + "    validate: python -m pkg.check\n"
        + "    parameters:\n"
        + "      k: {type: int, default: 2}\n"
        + "      w: {type: str, default: v}\n"
    )
    nb = _load(tmp_path, text).notebook("a")
    assert nb.timeout == 7
    assert nb.inputs == ("data/x.csv", "data/q/q_*.yml")
    assert nb.sweeps == ("s2", "s1")
    assert nb.validate == ("python", "-m", "pkg.check")
    assert nb.defaults == {"k": 2, "w": "v"}
    assert nb.parameters["k"] == pl.Parameter("k", "int", 2)
    assert nb.cache_inputs == ("data/x.csv", "data/q/q_*.yml", "sweep:s2", "sweep:s1")


def test_validate_as_a_list_is_kept_as_given(tmp_path):
    nb = _load(tmp_path, _with("validate: [python, -m, 'a b']")).notebook("a")
    assert nb.validate == ("python", "-m", "a b")


@pytest.mark.parametrize("value", ["[python, '']", "{a: b}", "[1]", "[python, [x]]"])
def test_validate_must_be_a_command(tmp_path, value):
    _fails(
        tmp_path,
        _with(f"validate: {value}"),
        6,
        "notebook 'a': validate must be a command, e.g. [python, -m, package.module]",
    )


@pytest.mark.parametrize("value", ["true", "false", "2.0", "'5'", "[5]"])
def test_a_timeout_that_is_not_whole_seconds(tmp_path, value):
    shown = {"true": "True", "false": "False", "2.0": "2.0", "'5'": "'5'", "[5]": "[5]"}[value]
    _fails(
        tmp_path,
        _with(f"timeout: {value}"),
        6,
        f"notebook 'a': timeout must be whole seconds > 0, got {shown}",
    )


@pytest.mark.parametrize(("key", "value"), [("title", "[A]"), ("title", "'  '"), ("source", "5")])
def test_title_and_source_must_be_text(tmp_path, key, value):
    text = ONE.replace(f"    {key}: ", f"    {key}: {value} #")
    line = {"title": 3, "source": 4}[key]
    _fails(tmp_path, text, line, f"notebook 'a': {key} must be text")


@pytest.mark.parametrize("source", ["/abs/a.ipynb", "../a.ipynb", "notebooks/../../a.ipynb"])
def test_a_source_outside_the_project(tmp_path, source):
    text = ONE.replace("notebooks/a.ipynb", source)
    _fails(
        tmp_path,
        text,
        4,
        f"notebook 'a': source {source!r} must be a relative path inside the project, no '..'",
    )


def test_parameters_are_named_with_their_own_line(tmp_path):
    text = _with("parameters:", "  k: {type: int, default: 2}", "  w: {type: int, default: x}")
    _fails(
        tmp_path,
        text,
        8,
        "notebook 'a', parameter 'w': default 'x' is invalid: expected an integer, got 'x'",
    )


# --------------------------------------------------------------------------- inputs, outputs


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("/abs/x.csv", "input '/abs/x.csv' must be a relative path inside the project, no '..'"),
        (
            "data/../x.csv",
            "input 'data/../x.csv' must be a relative path inside the project, no '..'",
        ),
        ("", "input must be a relative path, got ''"),
        ("   ", "input must be a relative path, got '   '"),
        ("Up:t.csv", "input 'Up:t.csv': 'Up' is not a notebook name"),
        ("up-x:t.csv", "input 'up-x:t.csv': 'up-x' is not a notebook name"),
        ("a:/t.csv", "input '/t.csv' must be a relative path inside the project, no '..'"),
        ("a:", "input must be a relative path, got ''"),
        ("data/*/x.csv", "input 'data/*/x.csv': a pattern may use * ? [ ] in the file name only"),
        ("d?/x_*.csv", "input 'd?/x_*.csv': a pattern may use * ? [ ] in the file name only"),
        ("d[1]/x*.csv", "input 'd[1]/x*.csv': a pattern may use * ? [ ] in the file name only"),
    ],
)
def test_a_bad_input_is_named_at_the_inputs_line(tmp_path, ref, reason):
    _fails(tmp_path, _with(f"inputs: [{ref!r}]"), 6, f"notebook 'a': {reason}")


def test_an_output_may_hold_a_colon_but_not_leave_the_project(tmp_path):
    text = ONE.replace("outputs: [t/a.csv]", "outputs: ['t/a:b.csv']")
    assert _load(tmp_path, text).notebook("a").outputs == ("t/a:b.csv",)
    text = ONE.replace("outputs: [t/a.csv]", "outputs: [t/a.csv, ../b.csv]")
    _fails(
        tmp_path,
        text,
        5,
        "notebook 'a': output '../b.csv' must be a relative path inside the project, no '..'",
    )


def test_a_nul_byte_in_a_path_is_refused():
    with pytest.raises(ValueError) as err:
        pl._relative_file("data/a\x00b", "output")
    assert str(err.value) == (
        "output 'data/a\\x00b' must be a relative path inside the project, no '..'"
    )
    with pytest.raises(ValueError, match=r"^output must be a relative path, got None$"):
        pl._relative_file(None, "output")
    assert pl._relative_file("a/b..c", "output") == "a/b..c"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("data/q_*.yml", True),
        ("data/q_?.yml", True),
        ("data/q_[12].yml", True),
        ("data/q.yml", False),
        ("a:t/*.csv", False),
        ("data", False),
    ],
)
def test_patterns_are_data_inputs_with_a_wildcard(ref, expected):
    assert pl.is_pattern(ref) is expected


def test_a_data_input_is_a_file_folder_or_pattern_in_the_project():
    for good in ("data/x.csv", "data/x", "data/x/q_*.yml"):
        assert pl.check_data_input(good) is None
    with pytest.raises(ValueError) as err:
        pl.check_data_input("a:t.csv")
    assert str(err.value) == "input 'a:t.csv': expected a data file, folder or pattern (data/...)"
    with pytest.raises(ValueError) as err:
        pl.check_data_input("data/*/x.csv")
    assert str(err.value) == (
        "input 'data/*/x.csv': a pattern may use * ? [ ] in the file name only"
    )
    with pytest.raises(ValueError) as err:
        pl.check_data_input("/x.csv")
    assert str(err.value) == "input '/x.csv' must be a relative path inside the project, no '..'"


# --------------------------------------------------------------------------- sweeps


@pytest.mark.parametrize("value", ["s1", "[Bad]", "[1]", "['']"])
def test_sweeps_must_be_a_list_of_sweep_names(tmp_path, value):
    _fails(
        tmp_path,
        "sweeps: {s1: {}}\n" + _with(f"sweeps: {value}"),
        7,
        "notebook 'a': sweeps must be a list of sweep names",
    )


def test_an_undeclared_sweep_names_the_declared_ones(tmp_path):
    _fails(
        tmp_path,
        _with("sweeps: [s9]"),
        6,
        "notebook 'a': sweep 's9' is not declared under 'sweeps' (declared: none)",
    )
    _fails(
        tmp_path,
        "sweeps: {s1: {}, s2: {}}\n" + _with("sweeps: [s1, s9]"),
        7,
        "notebook 'a': sweep 's9' is not declared under 'sweeps' (declared: s1, s2)",
    )
    _fails(
        tmp_path,
        "sweeps: [s9]\n" + _with("sweeps: [s9]"),
        7,
        "notebook 'a': sweep 's9' is not declared under 'sweeps' (declared: none)",
    )


# --------------------------------------------------------------------------- references

TWO = (
    ONE
    + """\
  b:
    title: B
    source: notebooks/b.ipynb
    outputs: [t/b.csv]
    inputs: [data/x.csv, 'a:t/a.csv']
"""
)


def test_references_name_the_inputs_line_of_the_reading_notebook(tmp_path):
    _fails(
        tmp_path,
        TWO.replace("'a:t/a.csv'", "'a:t/a.csv', 'c:t/c.csv'"),
        10,
        "notebook 'b': input 'c:t/c.csv' names unknown notebook 'c'",
    )
    _fails(
        tmp_path,
        TWO.replace("'a:t/a.csv'", "'a:t/b.csv'"),
        10,
        "notebook 'b': input 'a:t/b.csv': 'a' declares no output 't/b.csv'",
    )


def test_upstream_notebooks_are_sorted_and_unique(tmp_path):
    text = TWO.replace("'a:t/a.csv'", "'c:t/c.csv', 'a:t/a.csv', 'c:t/d.csv'") + (
        "  c:\n    title: C\n    source: c.ipynb\n    outputs: [t/c.csv, t/d.csv]\n"
    )
    pipeline = _load(tmp_path, text)
    assert pipeline.upstream("b") == ["a", "c"]
    assert pipeline.upstream("a") == []
    assert pipeline.order() == ["a", "c", "b"]
    assert pipeline.order(["b", "c"]) == ["c", "b"]
    assert pipeline.order(None) == ["a", "c", "b"]


def test_a_cycle_is_named_with_its_notebooks(tmp_path):
    text = ONE.replace("outputs: [t/a.csv]", "outputs: [t/a.csv]\n    inputs: ['a:t/a.csv']")
    _fails(tmp_path, text, None, "notebooks form a cycle: a -> a")
    text = TWO + "  c:\n    title: C\n    source: c.ipynb\n    outputs: [t/c.csv]\n"
    text = text.replace("outputs: [t/a.csv]", "outputs: [t/a.csv]\n    inputs: ['b:t/b.csv']")
    path = _write(tmp_path, text)
    with pytest.raises(pl.PipelineError) as err:
        pl.load(path)
    assert str(err.value) in {
        f"{path}: notebooks form a cycle: a -> b -> a",
        f"{path}: notebooks form a cycle: b -> a -> b",
    }


def test_a_pipeline_without_notebooks_names_none():
    empty = pl.Pipeline(path=Path("p.yml"), book={})
    with pytest.raises(pl.PipelineError) as err:
        empty.notebook("x")
    assert str(err.value) == "unknown notebook 'x'; the pipeline declares: none"
    assert empty.order() == []


# --------------------------------------------------------------------------- the book


@pytest.mark.parametrize(
    ("book", "line", "message"),
    [
        ("book: [a]", 1, "book must be a mapping, got ['a']"),
        ("book: x", 1, "book must be a mapping, got 'x'"),
        ("book:\n  title: [x]", 2, "book title must be text, got ['x']"),
        ("book:\n  author: {a: b}", 2, "book author must be text, got {'a': 'b'}"),
        ("book:\n  copyright: 1.5", 2, "book copyright must be text, got 1.5"),
        (
            "book:\n  title: T\n  front: index",
            3,
            "book front must be a list of page names, got 'index'",
        ),
        ("book:\n  back: [a b]", 2, "book back must be a list of page names, got ['a b']"),
        ("book:\n  back: [-a]", 2, "book back must be a list of page names, got ['-a']"),
        ("book:\n  back: [a, 3]", 2, "book back must be a list of page names, got ['a', 3]"),
        ("book:\n  back: [a.md]", 2, "book back must be a list of page names, got ['a.md']"),
        ("book:\n  front: []", 2, "book front must name at least the root page"),
    ],
)
def test_a_bad_book_section_is_named_with_its_line(tmp_path, book, line, message):
    _fails(tmp_path, book + "\n" + ONE, line, message)


def test_a_good_book_section_is_kept_as_declared(tmp_path):
    book = "book:\n  title: T\n  copyright: 2026\n  front: [index, _a-b_1]\n  back: [Z9]\n"
    pipeline = _load(tmp_path, book + ONE)
    assert pipeline.book == {
        "title": "T",
        "copyright": 2026,
        "front": ["index", "_a-b_1"],
        "back": ["Z9"],
    }
    assert type(pipeline.book) is dict
    assert _load(tmp_path, "book:\n" + ONE).book == {}


# --------------------------------------------------------------------------- reading


def test_every_mapping_remembers_the_lines_of_its_keys(tmp_path):
    raw = pl.read_raw(_write(tmp_path, "x: 1\n" + ONE))
    assert raw.lines == {"x": 1, "notebooks": 2}
    assert raw.line == 1
    a = raw["notebooks"]["a"]
    assert a.lines == {"title": 4, "source": 5, "outputs": 6}
    assert a.line == 4
    assert raw["notebooks"].line == 3
    assert pl._line(a, "source") == 5
    assert pl._line(a, "missing") == 4
    assert pl._line(a) == 4
    assert pl._line({"source": 1}, "source") == 0
    assert pl._line(["x"]) == 0
    # a line not known (0) is left out of the message rather than shown as line 0
    assert str(pl._fail(Path("p.yml"), 0, "m")) == "p.yml: m"
    assert str(pl._fail(Path("p.yml"), 3, "m")) == "p.yml:3: m"


def test_a_repeated_key_is_refused_with_both_lines(tmp_path):
    text = _with("timeout: 5", "timeout: 6")
    _fails(tmp_path, text, 7, "malformed YAML: key 'timeout' appears twice (lines 6 and 7)")


def test_a_key_yaml_cannot_hash_is_an_unsupported_structure(tmp_path):
    _fails(
        tmp_path,
        "? [a, b]\n: 1\n",
        1,
        "unsupported YAML structure (unhashable type: 'list')",
    )


def test_the_reader_bounds_come_from_the_reader(tmp_path):
    deep = "notebooks: " + "[" * 13 + "]" * 13 + "\n"
    _fails(tmp_path, deep, 1, "nested deeper than 12 levels")
    path = _write(tmp_path, "x: &a 1\ny: *a\n")
    with pytest.raises(pl.PipelineError) as err:
        pl.read_raw(path)
    assert str(err.value) == f"{path}:2: YAML aliases (*name) are not allowed here"
    big = "#" * (1 << 20) + "\n"
    _fails(tmp_path, big, None, f"{(1 << 20) + 1} bytes, above the {1 << 20} expected of this file")


# --------------------------------------------------------------------------- parameters


def test_an_assignment_needs_an_equals_sign():
    with pytest.raises(pl.PipelineError) as err:
        pl.parse_assignment("n3")
    assert str(err.value) == "parameter 'n3': expected NAME=VALUE"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (" x =*a", "parameter x:1: YAML aliases (*name) are not allowed here"),
        ("x=" + "[" * 13 + "]" * 13, "parameter x:1: nested deeper than 12 levels"),
        ("x=a\x00", "parameter x: contains a NUL character"),
    ],
)
def test_a_hostile_assignment_is_refused_not_taken_as_text(text, message):
    with pytest.raises(pl.PipelineError) as err:
        pl.parse_assignment(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("x=~", ("x", "~")), ("x=", ("x", "")), ("x=0.5", ("x", 0.5)), ("x='a: b'", ("x", "a: b"))],
)
def test_assignment_values_are_yaml_or_the_text_itself(text, expected):
    assert pl.parse_assignment(text) == expected


@pytest.fixture
def three():
    params = {
        "scale": pl.Parameter("scale", "float", 1.0),
        "n": pl.Parameter("n", "int", 3, min=1),
        "label": pl.Parameter("label", "str", "x"),
    }
    return pl.Notebook("t", "T", Path("t.ipynb"), 10, params, (), ())


def test_every_bad_parameter_is_listed_at_once(three):
    with pytest.raises(pl.PipelineError) as err:
        pl.resolve_parameters(three, {"scal": 2.0, "n": 0, "label": "y", "zzz": 1})
    assert str(err.value) == (
        "3 parameter problem(s):\n"
        "  notebook 't': unknown parameter 'scal' (did you mean 'scale'?); "
        "it takes: scale, n, label\n"
        "  notebook 't', parameter 'n' (int): 0 is below the minimum 1\n"
        "  notebook 't': unknown parameter 'zzz'; it takes: scale, n, label"
    )


def test_two_bad_parameters_are_two_lines(three):
    with pytest.raises(pl.PipelineError) as err:
        pl.resolve_parameters(three, {"n": 0, "label": 5})
    assert str(err.value) == (
        "2 parameter problem(s):\n"
        "  notebook 't', parameter 'n' (int): 0 is below the minimum 1\n"
        "  notebook 't', parameter 'label' (str): expected a string, got 5"
    )


def test_one_bad_parameter_is_one_line(three):
    with pytest.raises(pl.PipelineError) as err:
        pl.resolve_parameters(three, {"lable": "y"})
    assert str(err.value) == (
        "notebook 't': unknown parameter 'lable' (did you mean 'label'?); it takes: scale, n, label"
    )


def test_overrides_replace_only_their_defaults(three):
    resolved = pl.resolve_parameters(three, {"n": 5})
    assert resolved == {"scale": 1.0, "n": 5, "label": "x"}
    assert three.defaults == {"scale": 1.0, "n": 3, "label": "x"}
    assert pl.paramset_name(three, three.defaults) == "default"
    assert pl.paramset_name(three, resolved).startswith("p-")


# --------------------------------------------------------------------------- input paths


def test_each_kind_of_input_has_its_place(tmp_path, monkeypatch):
    root, build = tmp_path / "root", tmp_path / "build"
    monkeypatch.setenv("COMPENDIUM_ROOT", str(root))
    monkeypatch.setenv("COMPENDIUM_BUILD", str(build))
    assert pl.input_path("data/x.csv") == root / "data" / "x.csv"
    assert pl.input_path("data/q/q_*.yml") == root / "data" / "q"
    assert pl.input_path("sweep:s1") == build / "sweeps" / "s1" / "results.csv"
    assert pl.input_path("a:t/x.csv") == build / "runs" / "a" / "default" / "t" / "x.csv"
    assert pl.input_path("a:t/b:c.csv") == build / "runs" / "a" / "default" / "t" / "b:c.csv"


def test_a_book_section_after_the_notebooks_is_named_at_its_own_line(tmp_path):
    _fails(tmp_path, ONE + "book: [a]\n", 6, "book must be a mapping, got ['a']")
    _fails(
        tmp_path,
        ONE + "x: 1\nbook:\n  front: 3\n",
        8,
        "book front must be a list of page names, got 3",
    )


@pytest.mark.parametrize(
    "value, complaint",
    [
        ("!!int abc", "invalid literal for int() with base 10: 'abc'"),
        ("!!float abc", "could not convert string to float: 'abc'"),
        ("!!bool maybe", "'maybe'"),
        ("!!timestamp abc", "'NoneType' object has no attribute 'groupdict'"),
    ],
)
def test_a_tagged_value_yaml_cannot_build_is_one_line_in_every_reader(tmp_path, value, complaint):
    from analysis import safeyaml

    # the line is the value's own, wherever it sits
    _fails(tmp_path, f"title: {value}\n", 1, f"unsupported YAML structure ({complaint})")
    path = tmp_path / "other.yml"
    path.write_text(f"x: 1\ny:\n  - 2\n  - {value}\n", encoding="utf-8")
    with pytest.raises(safeyaml.YamlError) as raised:
        safeyaml.load_yaml(path)
    assert str(raised.value) == f"{path}:4: unsupported YAML structure ({complaint})"
    with pytest.raises(safeyaml.YamlError) as raised:
        safeyaml.load_text(f"x: {value}\n", "--parameter x")
    assert str(raised.value) == f"--parameter x:1: unsupported YAML structure ({complaint})"
