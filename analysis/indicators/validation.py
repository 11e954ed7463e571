"""Every input problem of a run, found in one pass before the run starts: the strand's check.

Each chapter of the strand has one input check (:data:`CHECKS`, by notebook): a function
that reads every file the run would read and checks the run's parameters against the data,
collecting every problem (and every notice: what is set aside) in one
:class:`~analysis.indicators.sources.contract.Findings` rather than stopping at the first.
``compendium run`` calls ``python -m analysis.indicators.validation --notebook NAME
--parameters JSON`` before the notebook's kernel starts (``validate:`` in ``pipeline.yml``),
so a user reads every problem of a run in one message; the notebooks call the same checks in
their first cells (:func:`prepare_run`,
:func:`analysis.indicators.networks.real_inputs.read_inputs`), so a run by hand stops with the same
message.

:func:`check_run` is the quality-indicator chapter's: the data source (catalogue,
observations, membership, organisations, ``panel.yml``, ``england.csv``) and the selection.

``python -m analysis.indicators.validation --parameters '{"data_source": "mydata/smoking"}'``
prints the notices and exits 0, or prints every problem and exits 2.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from analysis.commandline import CommandParser
from analysis.core.datasets import DataError
from analysis.indicators.methods.selection import METHOD_CHOICES, Selection, select, with_methods
from analysis.indicators.sources.contract import Findings
from analysis.indicators.sources.panel import Panel, load_panel
from analysis.parameters import resolve_path

SELECTION_PARAMETERS = (
    "organisations",
    "indicators",
    "years",
    "baseline_year",
    "alpha",
    "overdispersion",
    "membership_year",
)


def source_path(parameters: Mapping[str, Any]) -> Path | None:
    """The run's ``data_source`` as a path (``None``: the stored synthetic panel)."""
    source = str(parameters.get("data_source") or "").strip()
    return resolve_path(source) if source else None


def check_run(parameters: Mapping[str, Any]) -> tuple[Panel | None, Selection | None, Findings]:
    """The panel and selection of a run, and every problem and notice found on the way.

    Parameters
    ----------
    parameters
        The notebook's parameters (``data_source`` and those of
        :func:`analysis.indicators.methods.selection.select` and the method options); missing ones
        take their defaults. An empty ``organisations`` list means the panel's own default
        (``panel.yml``), else every organisation.

    Returns
    -------
    panel, selection, findings
        ``panel`` and ``selection`` are ``None`` when problems prevent building them.
    """
    findings = Findings()
    panel = load_panel(source_path(parameters), findings=findings)
    if panel is None:
        return None, None, findings
    chosen = {k: parameters[k] for k in SELECTION_PARAMETERS if k in parameters}
    chosen["organisations"] = list(chosen.get("organisations") or panel.default_organisations)
    selection = findings.attempt(
        select,
        panel.observations,
        panel.catalogue,
        panel.organisations,
        membership=panel.membership,
        **chosen,
    )
    methods = {k: parameters[k] for k in METHOD_CHOICES if k in parameters}
    if selection is not None and methods:
        findings.attempt(with_methods, selection, **methods)
    return panel, selection, findings


def prepare_run(**parameters: Any) -> tuple[Panel, Selection]:
    """:func:`check_run`, raising one :class:`~analysis.core.datasets.DataError` that lists
    every problem (one line each: file, line, column or parameter, and what was expected)."""
    panel, selection, findings = check_run(parameters)
    where = source_path(parameters) or "the stored synthetic panel"
    findings.raise_errors(f"data source {where}")
    return panel, selection


def check_quality_indicators(parameters: Mapping[str, Any]) -> tuple[Findings, str]:
    """The quality-indicator chapter's check: findings, and what the data source is."""
    where = source_path(parameters) or "the stored synthetic panel"
    return check_run(parameters)[2], f"data source {where}"


CHECKS = {
    "quality_indicators": ("analysis.indicators.validation", "check_quality_indicators"),
    "networks_real": ("analysis.indicators.networks.real_inputs", "check"),
    "primary_care_networks": ("analysis.indicators.networks.network_run", "check"),
}
"""Each notebook's input check (module and function, imported when that notebook is checked):
``parameters -> (Findings, what the inputs are)``."""


def checker(notebook: str) -> Callable[[Mapping[str, Any]], tuple[Findings, str]]:
    """The input check of ``notebook`` (:data:`CHECKS`); a one-line error naming the known."""
    if notebook not in CHECKS:
        raise DataError(f"--notebook {notebook!r}: no input check; known: {sorted(CHECKS)}")
    module, name = CHECKS[notebook]
    return getattr(importlib.import_module(module), name)


def main(argv: list[str] | None = None) -> int:
    """Check a run's inputs: notices on stdout and exit 0, or every problem and exit 2."""
    parser = CommandParser("analysis.indicators.validation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", default="quality_indicators", help="whose check to run")
    parser.add_argument("--parameters", default="{}", help="the run's parameters as JSON")
    args = parser.parse_args(argv)
    try:
        parameters = json.loads(args.parameters)
    except json.JSONDecodeError as err:
        print(f"error: --parameters: not JSON ({err})", file=sys.stderr)
        return 2
    findings, what = checker(args.notebook)(parameters)
    findings.raise_errors(f"notebook {args.notebook!r}, {what}")
    for notice in findings.notices:
        print(f"note: {notice}")
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
