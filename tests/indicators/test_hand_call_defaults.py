"""The defaults a hand call of a REAL chapter's entry point takes are the notebook's defaults in
``pipeline.yml``: the pipeline passes every parameter, so a drift between the two would show
only to a user calling the function from Python, who would get another chapter than the book's."""

from __future__ import annotations

import inspect

import pytest

from analysis.compendium import pipeline
from analysis.indicators.networks import network_run, real_chapter, real_inputs


def _defaults_of(function) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _listed(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize(
    ("notebook", "defaults"),
    [
        ("networks_real", real_inputs.DEFAULTS),
        ("networks_real", _defaults_of(real_chapter.run_real_chapter)),
        ("primary_care_networks", network_run.RUN_DEFAULTS),
    ],
    ids=["real_inputs.DEFAULTS", "run_real_chapter", "run_networks"],
)
def test_a_hand_calls_defaults_are_the_notebooks_in_the_pipeline(notebook, defaults):
    declared = {k: p.default for k, p in pipeline.load().notebooks[notebook].parameters.items()}
    assert defaults, notebook
    assert set(defaults) <= set(declared), set(defaults) - set(declared)
    assert {k: _listed(v) for k, v in defaults.items()} == {k: declared[k] for k in defaults}
