"""The engine: runs the notebooks and builds the book; holds no science.

- ``pipeline``: ``pipeline.yml`` read and checked; parameters coerced and validated.
- ``cache``: what a run depends on, digested (code cells, parameters, inputs, imported code).
- ``runner``: executes notebooks with papermill, in parallel, under a lock, with manifests.
- ``cli``: the ``compendium`` command.
- ``book``, ``bookpages``: the Jupyter Book assembled from executed notebooks, and the
  pages generated from runs, the data catalogue and the benchmarks.
- ``notebooks``: stripping stored notebooks.
- ``lockfile``: which lock the environment was installed from (the Reproducibility page).
- ``bench`` (the ``make bench`` command), ``benchsteps`` (what it measures), ``benchtools``
  (project copies, timed subprocesses), ``benchreport`` (derived numbers and targets),
  ``benchtables`` (the tables and summary of the results).
- ``sweep``: declared parameter sweeps run as Dask tasks, each cached under its own key
  (``compendium sweep``); ``sweepbench``: its throughput and overhead.

May import ``analysis.paths``, ``analysis.files``, ``analysis.errors`` and the data catalogue
(``analysis.core.catalogue``); never a strand or core's science: strand code such as the
indicator scaling benchmark is run as a command, not imported (tests/test_architecture.py).
"""
