"""The engine: runs the notebooks and builds the book; holds no science.

- ``pipeline``: ``pipeline.yml`` read and checked; parameters coerced and validated.
- ``cache``: what a run depends on, digested (code cells, parameters, inputs, imported code).
- ``execute``: one notebook executed with papermill in a fresh kernel, with its manifest;
  its plan (parameters, folder) and whether its last run is fresh.
- ``runner``: schedules the steps of a run: notebooks in dependency order, in parallel, under
  the build folder's lock, and the sweeps they read (``sweepsteps``) beside them.
- ``cli``: the ``compendium`` command.
- ``book/``: the Jupyter Book built from the executed notebooks (a room of its own: collect,
  derive pages, assemble, build, record).
- ``notebooks``: stripping stored notebooks.
- ``lockfile``: which lock the environment was installed from (the Reproducibility page).
- ``sweep``: declared parameter sweeps run as Dask tasks, each cached under its own key
  (``compendium sweep``); ``sweeptask``: one task (a command or a notebook run);
  ``sweepsteps``: sweeps as steps of a run; ``clusters``: the Dask clusters they run on.

May import ``analysis.paths``, ``analysis.files``, ``analysis.errors`` and the data catalogue
(``analysis.core.catalogue``); never a strand or core's science: strand code such as the
indicator scaling benchmark is run as a command, not imported (tests/test_architecture.py).
The benchmarks that measure the engine live apart, in ``analysis.bench``, which imports the
engine; the engine never imports them.
"""
