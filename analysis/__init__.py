"""Shared, tested code for the large-scale general practice compendium.

The tree is the architecture; dependencies point one way (checked by
``tests/test_architecture.py`` with the contracts in ``pyproject.toml``):

- ``compendium``: the engine, no science: the pipeline file and its parameters, cache keys,
  the papermill runner and its locks, the ``compendium`` command, the book and benchmarks.
- ``core``: shared by every strand: reading data against schemas, the data catalogue,
  interval estimates and multiple testing, figures, provenance, published-against-reproduced
  checks, disclosure control.
- ``indicators``, ``survey``, ``casestudy``: one subpackage per strand of published work.
- ``paths``, ``files``, ``errors``: where things are, hashing and atomic writes, and the one
  error base the command line reports without a traceback; used by everything.

Strands import ``core``; ``core`` imports only ``paths``/``files``/``errors``; the engine
imports neither a strand nor core's science, and runs the notebooks that call them.
"""

__version__ = "0.1.0"
