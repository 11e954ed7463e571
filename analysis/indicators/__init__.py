"""Strand 1, quality indicators (Rosen et al. 2016): organisations against England.

Rooms, each importing only the rooms below it:

* ``report``, ``networks``, ``synthetic`` (independent of each other): the quality-indicator
  chapter (findings in words, the published statements judged, figures, the methods report);
  the primary-care-network and REAL networks chapters on published data; the SYNTHETIC panel
  with planted truth, the simulation study and the scaling runs.
* ``methods``: the statistics (selection, comparison with England, trends, variation,
  associations, summary, truth against estimate, a run's results).
* ``sources``: the data contract and every reader (panel files, Fingertips, QOF, PCN mappings,
  wide tables, list sizes, membership).

``validation`` (every chapter's input check, run before a notebook's kernel starts) sits on
top. Submodules are imported on demand, never here. Uses ``analysis.core``; never another
strand or the engine (contracts in ``pyproject.toml``).
"""

__all__ = ["methods", "networks", "report", "sources", "synthetic", "validation"]
