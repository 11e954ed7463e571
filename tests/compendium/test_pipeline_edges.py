"""Validation edges of the pipeline file and of parameters.

Each bad input must give one error naming the file and line (or notebook and parameter) and
what was expected. Line numbers refer to the mini project's pipeline.yml (tests/miniproject.py).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from analysis.compendium import pipeline as pl
from analysis.paths import build_dir


def _edit(mini, old: str, new: str) -> None:
    path = mini / "pipeline.yml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _fails(message: str) -> None:
    with pytest.raises(pl.PipelineError, match=message):
        pl.load()


# --------------------------------------------------------------------------- notebooks


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5", "null"])
def test_timeout_must_be_whole_seconds_above_zero(mini, value):
    _edit(
        mini,
        "    timeout: 60\n    parameters:\n      n:",
        f"    timeout: {value}\n    parameters:\n      n:",
    )
    _fails(r"pipeline.yml:9: notebook 'alpha': timeout must be whole seconds > 0, got ")


def test_timeout_defaults_to_ten_minutes_and_one_second_is_allowed(mini):
    _edit(
        mini,
        "    timeout: 60\n    parameters:\n      n:",
        "    timeout: 1\n    parameters:\n      n:",
    )
    pipeline = pl.load()
    assert pipeline.notebook("alpha").timeout == 1
    assert pipeline.notebook("beta").timeout == 600


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("n: {type: int, default: 3, min: 1, max: 100}", "n: {default: 3}", "at least 'type'"),
        ("n: {type: int, default: 3, min: 1, max: 100}", "n: {type: int}", "and 'default'"),
        ("n: {type: int, default: 3, min: 1, max: 100}", "n: 3", "expected a mapping"),
    ],
)
def test_a_parameter_without_type_or_default_is_named(mini, old, new, message):
    _edit(mini, old, new)
    _fails(rf"pipeline.yml:11: notebook 'alpha', parameter 'n': .*{message}")


def test_unknown_parameter_keys_and_types_are_listed(mini):
    _edit(mini, "default: 3, min: 1", "default: 3, mni: 1")
    _fails(
        r"pipeline.yml:11: notebook 'alpha', parameter 'n': unknown key\(s\) \['mni'\]; "
        r"expected \['choices', 'default', 'help', 'max', 'min', 'type'\]$"
    )


def test_an_unknown_type_lists_the_known_ones(mini):
    _edit(mini, "label: {type: str, default: x}", 'label: {type: "list[bool]", default: [x]}')
    _fails(
        r"pipeline.yml:12: .*'label': unknown type 'list\[bool\]'; expected one of "
        r"\['bool', 'float', 'int', 'list\[float\]', 'list\[int\]', 'list\[str\]', 'path', 'str'\]$"
    )


def test_an_invalid_default_is_named_with_the_reason(mini):
    _edit(mini, "mode: {type: str, default: a,", "mode: {type: str, default: c,")
    _fails(
        r"pipeline.yml:14: notebook 'alpha', parameter 'mode': "
        r"default 'c' is invalid: 'c' is not one of"
    )


def test_a_path_default_need_not_exist_when_the_file_is_read(mini):
    _edit(mini, "label: {type: str, default: x}", "label: {type: path, default: data/later.csv}")
    param = pl.load().notebook("alpha").parameters["label"]
    assert param == pl.Parameter("label", "path", "data/later.csv")
    with pytest.raises(pl.PipelineError, match="path 'data/later.csv' does not exist"):
        pl.resolve_parameters(pl.load().notebook("alpha"), {"label": "data/later.csv"})


def test_parameters_keep_help_choices_and_bounds(mini):
    _edit(mini, "label: {type: str, default: x}", "label: {type: str, default: x, help: The label}")
    params = pl.load().notebook("alpha").parameters
    assert params["label"].help == "The label"
    assert params["mode"].choices == ("a", "b")
    assert (params["n"].min, params["n"].max) == (1, 100)
    assert params["scale"] == pl.Parameter("scale", "float", 1.0)


def test_parameters_must_be_a_mapping(mini):
    _edit(
        mini,
        "    parameters:\n      fail: {type: bool, default: false}\n"
        "      sleep: {type: float, default: 0.0, min: 0}\n",
        "    parameters: [fail]\n",
    )
    _fails(r"pipeline.yml:26: notebook 'gamma': parameters must be a map$")


@pytest.mark.parametrize(
    ("old", "new", "line", "key"),
    [
        ("inputs: [data/input.csv]", "inputs: data/input.csv", 15, "inputs"),
        ("outputs: [tables/out.csv]", "outputs: tables/out.csv", 16, "outputs"),
        ("outputs: [tables/out.csv]", "outputs: [1]", 16, "outputs"),
        ("inputs: [data/input.csv]", "inputs: {a: b}", 15, "inputs"),
    ],
)
def test_a_scalar_where_a_list_of_paths_is_expected(mini, old, new, line, key):
    _edit(mini, old, new)
    _fails(rf"pipeline.yml:{line}: notebook 'alpha': {key} must be a list of paths$")


@pytest.mark.parametrize("key", ["title", "source", "outputs"])
def test_missing_required_keys_are_named(mini, key):
    text = (mini / "pipeline.yml").read_text()
    beta = text.index("  beta:")
    end = text.index("  gamma:")
    block = "".join(
        line
        for line in text[beta:end].splitlines(keepends=True)
        if not line.startswith(f"    {key}:")
    )
    (mini / "pipeline.yml").write_text(text[:beta] + block + text[end:])
    _fails(rf"pipeline.yml:17: notebook 'beta': missing required key '{key}'$")


def test_a_notebook_that_is_not_a_mapping(mini):
    text = (mini / "pipeline.yml").read_text()
    head = text[: text.index("  beta:")]
    (mini / "pipeline.yml").write_text(head + "  beta: notebooks/beta.ipynb\n")
    _fails(r"pipeline.yml:17: notebook 'beta': expected a mapping$")


def test_inputs_and_outputs_may_be_left_out_or_empty(mini):
    _edit(mini, "    outputs: [tables/gamma.csv]\n", "    outputs: []\n    inputs:\n")
    gamma = pl.load().notebook("gamma")
    assert gamma.inputs == () and gamma.outputs == ()


@pytest.mark.parametrize(
    "text",
    ["", "notebooks: {}\n", "notebooks: [a]\n", "book: {title: x}\n", "- a\n- b\n"],
)
def test_a_pipeline_without_notebooks(mini, text):
    (mini / "pipeline.yml").write_text(text)
    _fails(r"pipeline.yml:1: expected a mapping with a non-empty 'notebooks' mapping$")


def test_the_book_section_is_optional(mini):
    text = (mini / "pipeline.yml").read_text()
    (mini / "pipeline.yml").write_text(text[text.index("notebooks:") :])
    pipeline = pl.load()
    assert pipeline.book == {}
    assert list(pipeline.notebooks) == ["alpha", "beta", "gamma"]
    assert pl.load(str(mini / "pipeline.yml")).path == mini / "pipeline.yml"


def test_a_repeated_key_names_both_lines(mini):
    _edit(mini, "      label: {type: str, default: x}\n", "      n: {type: str, default: x}\n")
    _fails(r"pipeline.yml:12: malformed YAML: .*key 'n' appears twice \(lines 11 and 12\)")


def test_malformed_yaml_names_the_exact_line(mini):
    _edit(mini, "title: Beta", "title: [Beta")
    _fails(r"pipeline.yml:19: malformed YAML: expected ',' or '\]', but got ':'$")


def test_an_unreadable_pipeline_says_why(mini):
    with pytest.raises(pl.PipelineError, match=r"nope.yml: cannot be read \(No such file"):
        pl.load(mini / "nope.yml")


# --------------------------------------------------------------------------- references


def test_every_reference_is_checked_even_after_a_plain_file(mini):
    _edit(
        mini,
        '    inputs: ["alpha:tables/out.csv"]',
        '    inputs: [data/input.csv, "alpha:tables/no.csv"]',
    )
    _fails(
        r"pipeline.yml:20: notebook 'beta': input 'alpha:tables/no.csv': 'alpha' declares no output"
    )


def test_a_reference_to_an_unknown_notebook_after_a_good_one(mini):
    _edit(
        mini,
        '    inputs: ["alpha:tables/out.csv"]',
        '    inputs: ["alpha:tables/out.csv", "zeta:x.csv"]',
    )
    _fails(r"pipeline.yml:20: notebook 'beta': input 'zeta:x.csv' names unknown notebook 'zeta'$")


def test_unknown_notebook_lists_the_declared_ones(mini):
    pipeline = pl.load()
    with pytest.raises(
        pl.PipelineError,
        match=r"^unknown notebook 'delta'; the pipeline declares: alpha, beta, gamma$",
    ):
        pipeline.notebook("delta")
    assert pipeline.upstream("alpha") == [] and pipeline.upstream("gamma") == []
    assert pipeline.order(["gamma", "alpha"]) == ["alpha", "gamma"]
    assert pipeline.order([]) == pipeline.order()
    assert len(pipeline.order()) == 3


def test_input_paths_are_run_outputs_or_project_files(mini):
    assert (
        pl.input_path("alpha:tables/out.csv")
        == build_dir() / "runs" / "alpha" / "default" / "tables" / "out.csv"
    )
    assert pl.input_path("data/input.csv") == mini / "data" / "input.csv"


# --------------------------------------------------------------------------- parameter values


@pytest.fixture
def typed(mini):
    params = {
        "ids": pl.Parameter("ids", "list[int]", [1], min=1, max=9),
        "weights": pl.Parameter("weights", "list[float]", [0.5]),
        "flag": pl.Parameter("flag", "bool", False),
        "scale": pl.Parameter("scale", "float", 1.0, min=0.0, max=2.0),
        "n": pl.Parameter("n", "int", 3, min=1, max=100),
        "src": pl.Parameter("src", "path", ""),
    }
    return pl.Notebook("t", "t", Path("notebooks/alpha.ipynb"), 10, params, (), ())


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"scale": math.nan}, r"\(float\): expected a finite number, got nan$"),
        ({"scale": math.inf}, r"\(float\): expected a finite number, got inf$"),
        ({"scale": True}, r"\(float\): expected a number, got True$"),
        ({"scale": 2.5}, r"\(float\): 2.5 is above the maximum 2.0$"),
        ({"flag": "yes"}, r"\(bool\): expected true or false, got 'yes'$"),
        ({"flag": 1}, r"\(bool\): expected true or false, got 1$"),
        ({"ids": [1, "2"]}, r"\(list\[int\]\): expected an integer, got '2'$"),
        ({"ids": [1, 0]}, r"\(list\[int\]\): 0 is below the minimum 1$"),
        ({"ids": [10]}, r"\(list\[int\]\): 10 is above the maximum 9$"),
        ({"ids": 3}, r"\(list\[int\]\): expected a list \(list\[int\]\), got 3$"),
        ({"src": 5}, r"\(path\): expected a string, got 5$"),
    ],
)
def test_bad_values_name_notebook_parameter_and_type(typed, override, message):
    name = next(iter(override))
    with pytest.raises(pl.PipelineError, match=rf"^notebook 't', parameter '{name}' {message}"):
        pl.resolve_parameters(typed, override)


def test_good_values_are_typed_and_bounds_are_inclusive(mini, typed):
    (mini / "data" / "dir").mkdir()
    resolved = pl.resolve_parameters(
        typed,
        {"ids": [1, 9], "weights": [1, 2.5], "flag": True, "scale": 2, "n": 100, "src": "data/dir"},
    )
    assert resolved == {
        "ids": [1, 9],
        "weights": [1.0, 2.5],
        "flag": True,
        "scale": 2.0,
        "n": 100,
        "src": "data/dir",
    }
    assert all(isinstance(w, float) for w in resolved["weights"]) and isinstance(
        resolved["scale"], float
    )
    assert pl.resolve_parameters(typed, {"scale": 0, "n": 1})["n"] == 1
    # an empty path means "none given" and is not looked up
    assert pl.resolve_parameters(typed, {"src": ""})["src"] == ""
    absolute = str(mini / "data" / "input.csv")
    assert pl.resolve_parameters(typed, {"src": absolute})["src"] == absolute
    assert pl.resolve_path(absolute) == Path(absolute)
    assert pl.resolve_path("data/input.csv") == mini / "data" / "input.csv"
    assert pl.resolve_path("~/x") == Path.home() / "x"


def test_unknown_parameters_without_a_close_match_get_no_hint(typed, mini):
    with pytest.raises(pl.PipelineError, match=r"unknown parameter 'zzz'; it takes: ids, weights"):
        pl.resolve_parameters(typed, {"zzz": 1})
    beta = pl.load().notebook("beta")
    with pytest.raises(
        pl.PipelineError, match=r"^notebook 'beta': unknown parameter 'n'; it takes: none$"
    ):
        pl.resolve_parameters(beta, {"n": 1})
    assert pl.resolve_parameters(beta, {}) == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" n = 3", ("n", 3)),
        ("x=null", ("x", "null")),
        ("x=[1,", ("x", "[1,")),
        ("x=a=b", ("x", "a=b")),
        ("x=   ", ("x", "")),
        ("x=[a, b]", ("x", ["a", "b"])),
        ("flag=true", ("flag", True)),
    ],
)
def test_command_line_assignments(text, expected):
    assert pl.parse_assignment(text) == expected


def test_parameter_set_names_are_a_hash_of_the_sorted_values(mini):
    alpha = pl.load().notebook("alpha")
    assert pl.paramset_name(alpha, dict(alpha.defaults)) == "default"
    changed = alpha.defaults | {"n": 4}
    text = json.dumps(changed, sort_keys=True, separators=(",", ":"))
    assert pl.paramset_name(alpha, changed) == "p-" + hashlib.sha256(text.encode()).hexdigest()[:10]
    assert pl.canonical_json({"p": Path("a/b"), "a": [1, 2.5]}) == '{"a":[1,2.5],"p":"a/b"}'


def test_an_output_whose_name_holds_a_colon_can_be_an_input(mini):
    _edit(mini, "outputs: [tables/out.csv]", 'outputs: [tables/out.csv, "tables/a:b.csv"]')
    _edit(mini, '    inputs: ["alpha:tables/out.csv"]', '    inputs: ["alpha:tables/a:b.csv"]')
    pipeline = pl.load()
    assert pipeline.upstream("beta") == ["alpha"]
    assert (
        pl.input_path("alpha:tables/a:b.csv") == build_dir() / "runs/alpha/default/tables/a:b.csv"
    )


def test_a_reserved_parameter_name_is_named_with_its_line(mini):
    _edit(mini, "fail: {type: bool", "output_dir: {type: str")
    _fails(
        r"pipeline.yml:27: notebook 'gamma', parameter 'output_dir': "
        r"'output_dir' is reserved \(the runner injects it\)$"
    )


def test_an_unknown_notebook_key_is_named_with_file_and_line(mini):
    _edit(mini, "    title: Gamma\n", "    titel: Gamma\n")
    _fails(r"pipeline.yml:23: notebook 'gamma': unknown key\(s\) \['titel'\]; expected \[")


def test_titles_and_sources_are_read_as_declared(mini):
    pipeline = pl.load()
    assert [nb.title for nb in pipeline.notebooks.values()] == ["Alpha", "Beta", "Gamma"]
    assert pipeline.notebook("beta").source == Path("notebooks/beta.ipynb")
    assert pipeline.notebook("alpha").outputs == ("tables/out.csv",)
    assert pipeline.notebook("beta").inputs == ("alpha:tables/out.csv",)
    assert pipeline.book == {"title": "Mini", "front": ["intro"], "back": []}


def test_a_character_yaml_cannot_read_is_named(mini):
    (mini / "pipeline.yml").write_text("notebooks:\n  a\x07: {}\n")
    _fails(r"pipeline.yml: malformed YAML: unacceptable character #x0007")
