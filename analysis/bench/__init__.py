"""The benchmarks: what the engine costs, measured as ratios by ``make bench``.

Measures the engine (``analysis.compendium``) and the strands' workers from outside: it runs
``compendium``, papermill, nbconvert and jupyter-book as commands in a private copy of the
project, imports only the engine's pipeline and sweep API, and is never imported by the
engine, core or a strand (an import contract in ``pyproject.toml`` says so).

- ``command``: the ``make bench`` command (``python -m analysis.bench``), its settings and
  the results file; ``measure``: every measurement, section by section; ``steps``: the
  commands each section times (floors, our pipeline, peers, book rebuilds, the REAL chapter,
  England scale); ``tools``: project copies, timed subprocesses, pipeline facts; ``load``:
  how busy the machine was, and the spread of the repeats.
- ``derive``: medians, floors, ratios, growth rates and the pipeline's targets; ``tables``:
  the pipeline's tables and the summary; ``targets``: the further targets (reruns and
  rebuilds, one analysis and the sweeps, the REAL chapter, England scale); ``results``: the
  whole results document with the load marks.
- ``sweeps``: the Dask sweep engine's throughput and overhead
  (``python -m analysis.bench.sweeps``).
"""
