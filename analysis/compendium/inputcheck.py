"""A notebook's input check, run by the engine before the notebook's kernel starts.

A notebook may name a ``validate`` command in ``pipeline.yml`` (a strand's own module, run as
``python -m ...``: the engine imports no strand). :func:`input_problems` runs it on the run's
parameters so that every problem of the run's inputs is reported at once, and nothing starts.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from analysis.compendium import pipeline as pl
from analysis.paths import repo_root


def input_problems(notebook: pl.Notebook, parameters: dict[str, Any]) -> str:
    """Run the notebook's ``validate`` command (if any) on its parameters: ``""`` when the
    inputs pass, else the command's message listing every problem it found.

    The command is the strand's own (the engine imports no strand): it gets
    ``--notebook NAME --parameters JSON`` and exits 0, or 2 with one line per problem.
    """
    if not notebook.validate:
        return ""
    command = [sys.executable if c == "python" else c for c in notebook.validate]
    command += ["--notebook", notebook.name, "--parameters", pl.canonical_json(parameters)]
    try:
        done = subprocess.run(  # noqa: S603 - the command is the pipeline's own declaration
            command,
            cwd=repo_root(),
            capture_output=True,
            text=True,
            timeout=notebook.timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"notebook {notebook.name!r}: its input check could not run ({err})"
    if done.returncode == 0:
        return ""
    text = done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}"
    return (
        f"notebook {notebook.name!r}: not started: its input check "
        f"({' '.join(notebook.validate)}) found: {text.removeprefix('error: ')}"
    )
