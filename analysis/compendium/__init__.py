"""The engine: runs the notebooks and builds the book; holds no science.

- ``pipeline``: ``pipeline.yml`` read and checked; parameters coerced and validated.
- ``cache``: what a run depends on, digested (code cells, parameters, inputs, imported code).
- ``runner``: executes notebooks with papermill, in parallel, under a lock, with manifests.
- ``cli``: the ``compendium`` command.
- ``book``, ``bookpages``: the Jupyter Book assembled from executed notebooks, and the
  pages generated from runs, the data catalogue and the benchmarks.
- ``notebooks``: stripping stored notebooks.
- ``lockfile``: which lock the environment was installed from (the Reproducibility page).
- ``sweep``: declared parameter sweeps run as Dask tasks, each cached under its own key
  (``compendium sweep``).

May import ``analysis.paths``, ``analysis.files``, ``analysis.errors`` and the data catalogue
(``analysis.core.catalogue``); never a strand or core's science: strand code such as the
indicator scaling benchmark is run as a command, not imported (tests/test_architecture.py).
The benchmarks that measure the engine live apart, in ``analysis.bench``, which imports the
engine; the engine never imports them.
"""
