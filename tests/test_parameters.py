"""Notebook parameters: declarations, values, their canonical form and the parameter set's
name, which are part of every run's cache key; and the check each notebook runs first.

Expectations are written from the rules in the docstrings; the hashes are recomputed here
with hashlib from the canonical JSON, whose form is spelled out.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analysis import parameters as pm


def _param(kind="int", default=1, **extra):
    return pm.parse_parameter("n", {"type": kind, "default": default, **extra})


# --------------------------------------------------------------------------- declarations


@pytest.mark.parametrize("name", ["1st", "two words", "class", 7, ""])
def test_a_name_must_be_a_python_identifier(name):
    with pytest.raises(ValueError) as err:
        pm.parse_parameter(name, {"type": "int", "default": 1})
    assert str(err.value) == f"parameter name {name!r}: expected a Python identifier"


def test_output_dir_is_reserved():
    with pytest.raises(ValueError) as err:
        pm.parse_parameter("output_dir", {"type": "str", "default": ""})
    assert str(err.value) == "'output_dir' is reserved (the runner injects it)"


@pytest.mark.parametrize("raw", [["int", 1], {"type": "int"}, {"default": 1}, None])
def test_a_declaration_is_a_mapping_with_type_and_default(raw):
    with pytest.raises(ValueError) as err:
        pm.parse_parameter("n", raw)
    assert str(err.value) == "expected a mapping with at least 'type' and 'default'"


def test_unknown_keys_and_types_are_named_with_what_is_expected():
    with pytest.raises(ValueError) as err:
        pm.parse_parameter("n", {"type": "int", "default": 1, "maximum": 3, "min": 0})
    assert str(err.value) == (
        "unknown key(s) ['maximum']; expected ['choices', 'default', 'help', 'max', 'min', 'type']"
    )
    for kind in ("integer", 3, None):
        with pytest.raises(ValueError) as err:
            pm.parse_parameter("n", {"type": kind, "default": 1})
        assert str(err.value) == (
            f"unknown type {kind!r}; expected one of ['bool', 'float', 'int', 'list[float]', "
            "'list[int]', 'list[str]', 'path', 'str']"
        )


def test_choices_are_a_non_empty_list_of_the_items_type():
    assert _param("str", "a", choices=["a", "b"]).choices == ("a", "b")
    assert _param("list[int]", [2], choices=[1, 2]).choices == (1, 2)
    # A scalar type's choices are checked as that type, not as text.
    assert _param("int", 2, choices=[1, 2]).choices == (1, 2)
    assert _param("float", 0.5, choices=[0.5, 1]).choices == (0.5, 1)
    with pytest.raises(ValueError, match=r"^expected an integer, got 'x'$"):
        _param("int", 1, choices=[1, "x"])
    for bad in ([], "a", {"a": 1}):
        with pytest.raises(ValueError) as err:
            _param("str", "a", choices=bad)
        assert str(err.value) == f"choices must be a non-empty list, got {bad!r}"
    with pytest.raises(ValueError, match="expected an integer, got 'x'"):
        _param("list[int]", [], choices=[1, "x"])
    with pytest.raises(ValueError, match="expected a string, got 1"):
        _param("str", "a", choices=["a", 1])


@pytest.mark.parametrize("bound", ["min", "max"])
@pytest.mark.parametrize("value", [math.inf, math.nan, "3", True])
def test_bounds_are_finite_numbers(bound, value):
    with pytest.raises(ValueError) as err:
        _param(**{bound: value})
    assert str(err.value) == f"{bound} must be a finite number, got {value!r}"


def test_help_is_text_and_fields_are_kept():
    with pytest.raises(ValueError) as err:
        _param(help=3)
    assert str(err.value) == "help must be text, got 3"
    param = _param("float", 2, help="how many", min=0, max=10)
    assert param == pm.Parameter("n", "float", 2.0, "how many", None, 0, 10)
    assert isinstance(param.default, float)  # the default is stored as its type
    assert _param().help == "" and _param().min is None and _param().max is None


def test_a_bad_default_is_named_with_the_reason():
    with pytest.raises(ValueError) as err:
        _param("int", 12, max=10)
    assert str(err.value) == "default 12 is invalid: 12 is above the maximum 10"
    # A path default is not required to exist when the pipeline is read.
    assert _param("path", "no/such/file.csv").default == "no/such/file.csv"


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("bool", 1, "expected true or false, got 1"),
        ("bool", "true", "expected true or false, got 'true'"),
        ("int", True, "expected an integer, got True"),
        ("int", 2.0, "expected an integer, got 2.0"),
        ("float", False, "expected a number, got False"),
        ("float", "2", "expected a number, got '2'"),
        ("float", math.inf, "expected a finite number, got inf"),
        ("float", math.nan, "expected a finite number, got nan"),
        ("str", 3, "expected a string, got 3"),
        ("path", None, "expected a string, got None"),
        ("str", "a\x00b", "expected text without NUL characters, got 'a\\x00b'"),
        ("list[int]", 3, "expected a list (list[int]), got 3"),
        ("list[str]", "ab", "expected a list (list[str]), got 'ab'"),
        ("list[float]", [1, True], "expected a number, got True"),
    ],
)
def test_a_value_of_the_wrong_type_is_named(kind, value, message):
    param = pm.Parameter("n", kind, None)
    with pytest.raises(ValueError) as err:
        pm.coerce_value(param, value, check_path=False)
    assert str(err.value) == message


def test_values_come_back_typed():
    assert pm.coerce_value(pm.Parameter("n", "bool", False), True) is True
    assert pm.coerce_value(pm.Parameter("n", "bool", True), False) is False
    assert pm.coerce_value(pm.Parameter("n", "int", 0), 3) == 3
    value = pm.coerce_value(pm.Parameter("n", "float", 0.0), 3)
    assert value == 3.0 and isinstance(value, float)
    assert pm.coerce_value(pm.Parameter("n", "str", ""), "x") == "x"
    items = pm.coerce_value(pm.Parameter("n", "list[float]", []), [1, 2.5])
    assert items == [1.0, 2.5] and all(isinstance(i, float) for i in items)
    assert pm.coerce_value(pm.Parameter("n", "list[str]", []), []) == []


def test_bounds_and_choices_apply_to_each_item_and_are_inclusive():
    param = pm.Parameter("n", "list[int]", [], min=1, max=3)
    assert pm.coerce_value(param, [1, 3]) == [1, 3]
    with pytest.raises(ValueError) as err:
        pm.coerce_value(param, [2, 0])
    assert str(err.value) == "0 is below the minimum 1"
    with pytest.raises(ValueError) as err:
        pm.coerce_value(param, [4])
    assert str(err.value) == "4 is above the maximum 3"
    scalar = pm.Parameter("n", "float", 0.0, min=0.5, max=0.5)
    assert pm.coerce_value(scalar, 0.5) == 0.5
    chosen = pm.Parameter("n", "list[str]", [], choices=("a", "b"))
    with pytest.raises(ValueError) as err:
        pm.coerce_value(chosen, ["a", "c"])
    assert str(err.value) == "'c' is not one of ['a', 'b']"


def test_a_path_value_must_exist_as_a_file_or_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("a\n")
    param = pm.Parameter("p", "path", "")
    assert pm.coerce_value(param, "data/x.csv") == "data/x.csv"
    assert pm.coerce_value(param, "data") == "data"
    assert pm.coerce_value(param, "") == ""  # empty: the notebook's own default applies
    with pytest.raises(ValueError) as err:
        pm.coerce_value(param, "data/y.csv")
    assert str(err.value) == (
        f"path 'data/y.csv' does not exist (looked for {tmp_path / 'data' / 'y.csv'})"
    )
    assert pm.coerce_value(param, "data/y.csv", check_path=False) == "data/y.csv"
    os.mkfifo(tmp_path / "data" / "pipe")
    with pytest.raises(ValueError) as err:
        pm.existing_path("data/pipe")
    assert str(err.value) == (
        "path 'data/pipe' is not a regular file or folder (a device, pipe or socket)"
    )


def test_an_unreadable_path_is_named_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError) as err:
        pm.existing_path("file/below")
    assert str(err.value) == "path 'file/below' cannot be read (Not a directory)"


def test_paths_resolve_against_the_root_unless_absolute(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert pm.resolve_path("data/x.csv") == tmp_path / "data" / "x.csv"
    assert pm.resolve_path("/elsewhere/x.csv") == Path("/elsewhere/x.csv")
    assert pm.resolve_path("~/x.csv") == tmp_path / "home" / "x.csv"


# --------------------------------------------------------------------------- cache key parts


def test_canonical_json_is_sorted_compact_and_total():
    value = {"b": [1, 2.5], "a": {"z": True, "y": None}, "p": Path("d/x.csv")}
    assert pm.canonical_json(value) == ('{"a":{"y":null,"z":true},"b":[1,2.5],"p":"d/x.csv"}')
    assert pm.canonical_json({"é": "ü"}) == '{"\\u00e9":"\\u00fc"}'


def test_the_parameter_set_is_named_default_or_by_the_hash_of_its_values():
    defaults = {"a": 1, "b": ["x"]}
    assert pm.paramset_name(defaults, {"b": ["x"], "a": 1}) == "default"
    chosen = {"a": 2, "b": ["x"]}
    expected = hashlib.sha256(b'{"a":2,"b":["x"]}').hexdigest()[:10]
    assert pm.paramset_name(defaults, chosen) == f"p-{expected}"
    assert pm.paramset_name(defaults, {"b": ["x"], "a": 2}) == f"p-{expected}"
    assert pm.paramset_name(defaults, {"a": 2, "b": ["y"]}) != f"p-{expected}"


# --------------------------------------------------------------------------- the notebook check

PIPELINE = """\
notebooks:
  nb:
    source: notebooks/nb.ipynb
    parameters:
      n:
        type: int
        default: 2
        min: 1
      names:
        type: list[str]
        default: []
  bare:
    source: notebooks/bare.ipynb
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pipeline.yml").write_text(PIPELINE)
    monkeypatch.setenv("COMPENDIUM_ROOT", str(tmp_path))
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "build"))
    monkeypatch.delenv(pm.PIPELINE_ENV, raising=False)
    return tmp_path


def test_declared_parameters_are_read_from_the_pipeline(project, tmp_path):
    declared = pm.declared_parameters("nb")
    assert list(declared) == ["n", "names"]
    assert declared["n"] == pm.Parameter("n", "int", 2, "", None, 1, None)
    assert pm.declared_parameters("bare") == {}
    other = tmp_path / "other.yml"
    other.write_text(PIPELINE.replace("default: 2", "default: 5"))
    assert pm.declared_parameters("nb", other)["n"].default == 5
    os.environ[pm.PIPELINE_ENV] = str(other)
    try:
        assert pm.declared_parameters("nb")["n"].default == 5
    finally:
        del os.environ[pm.PIPELINE_ENV]


def test_an_unknown_notebook_or_bad_declaration_names_the_file(project):
    path = project / "pipeline.yml"
    with pytest.raises(pm.ParameterError) as err:
        pm.declared_parameters("missing")
    assert str(err.value) == (
        f"{path}: cannot read the parameters of notebook 'missing' ('missing'); "
        "run `compendium list` to see what is wrong"
    )
    path.write_text(PIPELINE.replace("min: 1", "min: one"))
    with pytest.raises(pm.ParameterError) as err:
        pm.declared_parameters("nb")
    assert (
        str(err.value)
        == f"{path}: notebook 'nb', parameter 'n': min must be a finite number, got 'one'"
    )


def test_check_parameters_names_a_missing_or_wrong_value(project):
    with pytest.raises(pm.ParameterError) as err:
        pm.check_parameters("nb", {"n": 2})
    assert str(err.value) == "notebook 'nb': parameter 'names' is not set"
    with pytest.raises(pm.ParameterError) as err:
        pm.check_parameters("nb", {"n": 0, "names": []})
    assert str(err.value) == "notebook 'nb', parameter 'n' (int): 0 is below the minimum 1"


def test_a_hand_run_writes_to_its_own_parameter_set_folder_and_records_it(project):
    namespace = {"n": 2, "names": [], "output_dir": ""}
    assert pm.check_parameters("nb", namespace) == {"n": 2, "names": []}
    folder = project / "build" / "manual" / "nb" / "default"
    assert namespace["output_dir"] == str(folder)
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    assert record["notebook"] == "nb" and record["paramset"] == "default"
    assert record["parameters"] == {"n": 2, "names": []}
    assert record["runner"] == "hand (JupyterLab or plain papermill), not the pipeline"
    assert not list(folder.glob(".*"))  # the temporary file is gone
    other = {"n": 3, "names": ["a"]}
    pm.check_parameters("nb", other)
    expected = pm.paramset_name({"n": 2, "names": []}, {"n": 3, "names": ["a"]})
    assert other["output_dir"] == str(project / "build" / "manual" / "nb" / expected)


def test_a_hand_run_record_is_sorted_indented_json_with_when_and_why_no_outputs(project):
    before = datetime.now(UTC).replace(microsecond=0)
    for _ in range(2):  # a second hand run with the same values reuses its folder
        namespace = {"n": 2, "names": [], "output_dir": ""}
        pm.check_parameters("nb", namespace)
    after = datetime.now(UTC)
    text = (Path(namespace["output_dir"]) / "run.json").read_text(encoding="utf-8")
    record = json.loads(text)
    assert sorted(record) == ["notebook", "outputs", "parameters", "paramset", "runner", "started"]
    started = datetime.fromisoformat(record["started"])
    assert started.utcoffset() == timedelta(0) and started.microsecond == 0
    assert before <= started <= after
    assert record["outputs"] == "not recorded: a hand run is not checked by `compendium status`"
    # Readable and stable between runs: keys sorted, two-space indents, one final newline.
    lines = text.splitlines()
    top = [line.split('"')[1] for line in lines if line.startswith('  "')]
    assert top == sorted(record) and text.endswith("}\n") and lines[0] == "{"


def test_under_the_pipeline_output_dir_is_only_checked(project):
    inside = project / "build" / "runs" / "nb" / "default"
    namespace = {"n": 2, "names": [], "output_dir": str(inside)}
    assert pm.check_parameters("nb", namespace) == {"n": 2, "names": []}
    assert namespace["output_dir"] == str(inside)
    assert not inside.exists()  # nothing written: the runner records the run
    namespace["output_dir"] = str(project / "elsewhere")
    with pytest.raises(pm.ParameterError, match="output_dir"):
        pm.check_parameters("nb", namespace)
