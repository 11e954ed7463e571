"""The pipeline file, parameter validation, ordering and cache keys (no kernels started)."""

from __future__ import annotations

import json

import pytest

from analysis.compendium import cache
from analysis.compendium import pipeline as pl


def test_real_pipeline_loads_and_orders():
    pipeline = pl.load()
    order = pipeline.order()
    assert set(order) == set(pipeline.notebooks)
    for name in order:
        for upstream in pipeline.upstream(name):
            assert order.index(upstream) < order.index(name)


def test_mini_pipeline_orders_by_declared_inputs(mini):
    pipeline = pl.load()
    order = pipeline.order()
    assert order.index("alpha") < order.index("beta")
    assert pipeline.upstream("beta") == ["alpha"]
    assert pipeline.order(["beta"]) == ["beta"]


def _write(mini, text):
    (mini / "pipeline.yml").write_text(text)
    return mini / "pipeline.yml"


def test_cycle_is_an_error_naming_it(mini):
    text = (mini / "pipeline.yml").read_text()
    text = text.replace(
        "    inputs: [data/input.csv]", '    inputs: [data/input.csv, "beta:tables/sum.csv"]'
    )
    _write(mini, text)
    with pytest.raises(pl.PipelineError, match=r"cycle: .*(alpha -> beta|beta -> alpha)"):
        pl.load()


def test_malformed_yaml_names_the_line(mini):
    text = (mini / "pipeline.yml").read_text().replace("title: Beta", "title: [Beta")
    _write(mini, text)
    with pytest.raises(pl.PipelineError, match=r"pipeline.yml:\d+: malformed YAML"):
        pl.load()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "type: int, default: 3",
            "type: integer, default: 3",
            r":11: .*'n'.*unknown type 'integer'",
        ),
        ("type: int, default: 3", "type: int, default: three", r":11: .*'n'.*default 'three'"),
        (
            "    title: Gamma\n",
            "    titel: Gamma\n",
            r":23: notebook 'gamma': unknown key\(s\) \['titel'\]",
        ),
        ("alpha:tables/out.csv", "alpha:tables/nope.csv", r"declares no output 'tables/nope.csv'"),
        ("alpha:tables/out.csv", "omega:tables/out.csv", r"unknown notebook 'omega'"),
        ("fail: {type: bool", "output_dir: {type: str", r"'output_dir' is reserved"),
    ],
)
def test_semantic_errors_name_file_line_and_item(mini, old, new, message):
    text = (mini / "pipeline.yml").read_text()
    assert old in text
    _write(mini, text.replace(old, new, 1))
    with pytest.raises(pl.PipelineError, match=message):
        pl.load()


def test_missing_pipeline_file(mini):
    (mini / "pipeline.yml").unlink()
    with pytest.raises(pl.PipelineError, match="pipeline.yml: cannot be read"):
        pl.load()


# --------------------------------------------------------------------------- parameters


@pytest.fixture
def alpha(mini):
    return pl.load().notebook("alpha")


def test_defaults_and_typed_overrides(alpha):
    assert alpha.defaults == {"n": 3, "label": "x", "scale": 1.0, "mode": "a"}
    assigned = dict(pl.parse_assignment(a) for a in ["n=7", "scale=2", "mode=b", "label=7"])
    resolved = pl.resolve_parameters(alpha, assigned | {"label": "seven"})
    assert resolved == {"n": 7, "label": "seven", "scale": 2.0, "mode": "b"}
    assert isinstance(resolved["scale"], float)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"nn": 3}, r"notebook 'alpha': unknown parameter 'nn' \(did you mean 'n'\?\)"),
        ({"mdoe": "a"}, r"unknown parameter 'mdoe' \(did you mean 'mode'\?\)"),
        ({"n": 2.5}, r"notebook 'alpha', parameter 'n' \(int\): expected an integer, got 2.5"),
        ({"n": True}, r"parameter 'n' \(int\): expected an integer"),
        ({"n": 0}, r"parameter 'n' \(int\): 0 is below the minimum 1"),
        ({"n": 101}, r"above the maximum 100"),
        ({"scale": "big"}, r"parameter 'scale' \(float\): expected a number, got 'big'"),
        ({"mode": "c"}, r"parameter 'mode' \(str\): 'c' is not one of \['a', 'b'\]"),
        ({"label": 5}, r"parameter 'label' \(str\): expected a string, got 5"),
    ],
)
def test_bad_parameters_are_named(alpha, override, message):
    with pytest.raises(pl.PipelineError, match=message):
        pl.resolve_parameters(alpha, override)


def test_list_and_path_parameters(mini):
    nb = pl.Notebook(
        name="t",
        title="t",
        source=mini / "notebooks" / "alpha.ipynb",
        timeout=10,
        parameters={
            "orgs": pl.Parameter("orgs", "list[str]", ["A"], choices=("A", "B")),
            "src": pl.Parameter("src", "path", "data/input.csv"),
        },
        inputs=(),
        outputs=(),
    )
    name, value = pl.parse_assignment('orgs=["A","B"]')
    assert pl.resolve_parameters(nb, {name: value})["orgs"] == ["A", "B"]
    with pytest.raises(pl.PipelineError, match=r"'C' is not one of \['A', 'B'\]"):
        pl.resolve_parameters(nb, {"orgs": ["A", "C"]})
    with pytest.raises(pl.PipelineError, match=r"expected a list"):
        pl.resolve_parameters(nb, {"orgs": "A"})
    with pytest.raises(
        pl.PipelineError, match=r"parameter 'src' \(path\): path 'nope.csv' does not"
    ):
        pl.resolve_parameters(nb, {"src": "nope.csv"})


def test_assignment_syntax():
    assert pl.parse_assignment("alpha=0.01") == ("alpha", 0.01)
    assert pl.parse_assignment("x=") == ("x", "")
    with pytest.raises(pl.PipelineError, match="expected NAME=VALUE"):
        pl.parse_assignment("alpha")


def test_paramset_names(alpha):
    assert pl.paramset_name(alpha, alpha.defaults) == "default"
    one = pl.paramset_name(alpha, alpha.defaults | {"n": 4})
    two = pl.paramset_name(alpha, alpha.defaults | {"n": 5})
    assert one.startswith("p-") and two.startswith("p-") and one != two
    assert pl.paramset_name(alpha, alpha.defaults | {"n": 4}) == one


# --------------------------------------------------------------------------- cache keys


def test_cache_key_changes_exactly_when_it_should(mini, alpha):
    base = cache.cache_components(alpha, alpha.defaults)
    key = cache.cache_key(base)
    assert cache.cache_key(cache.cache_components(alpha, alpha.defaults)) == key

    # Markdown edits and stored outputs do not change the key; code edits do.
    path = mini / "notebooks" / "alpha.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = "# A new title"
    nb["cells"][3]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    path.write_text(json.dumps(nb))
    cache._file_digest.cache_clear()
    assert cache.cache_key(cache.cache_components(alpha, alpha.defaults)) == key
    nb["cells"][3]["source"] += "\nprint(1)"
    path.write_text(json.dumps(nb))
    changed = cache.cache_components(alpha, alpha.defaults)
    assert cache.stale_reasons(alpha, changed, {"cache": base}) == ["source changed"]

    # A parameter change, an input change.
    params = cache.cache_components(alpha, alpha.defaults | {"n": 9})
    assert "parameter changed" in cache.stale_reasons(alpha, params, {"cache": changed})
    (mini / "data" / "input.csv").write_text("value\n1\n2\n4\n")
    inputs = cache.cache_components(alpha, alpha.defaults)
    assert cache.stale_reasons(alpha, inputs, {"cache": changed}) == [
        "input file changed: data/input.csv"
    ]


def test_package_change_is_a_reason(alpha):
    components = cache.cache_components(alpha, alpha.defaults)
    recorded = dict(components, package="0" * 64)  # a manifest from before per-module digests
    assert cache.stale_reasons(alpha, components, {"cache": recorded}) == ["package code changed"]
    assert set(components["package"]) == {"__init__.py", "paths.py"}  # alpha imports paths
    module = "paths.py"
    edited = dict(components, package=dict(components["package"], **{module: "0" * 64}))
    assert cache.stale_reasons(alpha, components, {"cache": edited}) == [
        f"package code changed: {module}"
    ]
    assert cache.stale_reasons(alpha, components, None) == ["never run"]


def _touch_module(path, extra="\n# edited\n"):
    original = path.read_text()
    path.write_text(original + extra)
    return original


@pytest.mark.parametrize(
    ("module", "affected"),
    [
        (
            "indicators/sources/panel.py",
            {"quality_indicators", "primary_care_networks", "networks_real"},
        ),
        ("survey/microdata.py", {"surveys"}),
        ("casestudy/qca.py", {"case_studies"}),
        ("core/reproduction.py", {"quality_indicators", "surveys", "case_studies", "reproduction"}),
        ("compendium/runner.py", set()),
        ("compendium/book/build.py", set()),
    ],
)
def test_editing_a_module_invalidates_exactly_the_notebooks_that_import_it(module, affected):
    pipeline = pl.load()
    before = {n: cache.package_digest(nb.source) for n, nb in pipeline.notebooks.items()}
    path = cache.package_folder() / module
    original = _touch_module(path)
    try:
        after = {n: cache.package_digest(nb.source) for n, nb in pipeline.notebooks.items()}
    finally:
        path.write_text(original)
    assert {n for n in before if before[n] != after[n]} == affected
    assert {n: cache.package_digest(nb.source) for n, nb in pipeline.notebooks.items()} == before


def test_import_closure_follows_imports_inside_the_package():
    closure = {
        str(p.relative_to(cache.package_folder()))
        for p in cache.module_closure({"analysis.indicators.report.statements"})
    }
    assert {"__init__.py", "indicators/__init__.py", "indicators/report/statements.py"} <= closure
    assert "core/reproduction.py" in closure  # imported by statements
    assert not any(name.startswith(("compendium/", "survey/", "casestudy/")) for name in closure)
    assert cache.imported_modules("from analysis.core import stats\nimport numpy") == {
        "analysis.core",
        "analysis.core.stats",
    }
