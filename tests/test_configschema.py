"""Configuration files against their schemas: one line naming the file, line and key."""

import pytest

from analysis.configschema import ConfigError, check_config, distinct_values, load_config

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["max_points", "columns"],
    "properties": {
        "max_points": {"type": "number", "exclusiveMinimum": 0},
        "columns": {
            "type": "object",
            "additionalProperties": {"type": "string"},
        },
        "mode": {"enum": ["error", "drop"]},
    },
}


def write(tmp_path, text):
    path = tmp_path / "m.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_loads(tmp_path):
    data = load_config(write(tmp_path, "max_points: 635\ncolumns: {a: A}\n"), SCHEMA)
    assert data == {"max_points": 635, "columns": {"a": "A"}}


@pytest.mark.parametrize(
    "text, message",
    [
        ("max_points: .inf\ncolumns: {}\n", ":1: max_points: expected a finite number, got inf"),
        ("max_points: true\ncolumns: {}\n", ":1: max_points: expected number, got true"),
        ("max_points: 5\ncolumns:\n  a: [x]\n", ":3: columns.a: expected string, got ['x']"),
        ("max_points: 5\ncolumns: {}\nmode: value\n", ":3: mode: expected one of error, drop"),
        ("max_points: 5\ncolumns: {}\nextra: 1\n", ":3: (top level): unknown key(s) extra"),
        ("columns: {}\n", ":1: (top level): 'max_points' is required"),
    ],
)
def test_each_problem_is_one_line_naming_line_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, SCHEMA)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_data_not_from_a_file_names_its_source():
    with pytest.raises(ConfigError, match=r"^slurm settings: cores: expected"):
        check_config(
            {"cores": "two"}, {"properties": {"cores": {"type": "integer"}}}, "slurm settings"
        )


def test_one_column_in_two_roles_is_refused():
    with pytest.raises(ConfigError, match="points_available and columns.points_achieved"):
        distinct_values(
            {"points_achieved": "Score", "points_available": "Score"}, "m.yml", "columns"
        )
