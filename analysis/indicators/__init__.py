"""Strand 1, quality indicators (Rosen et al. 2016): organisations against England.

- ``panel``: the practice panel's contract (schemas, validation, loading, membership).
- ``synthetic``: the seeded synthetic national panel with planted truth.
- ``fingertips``: real OHID Fingertips exports into the panel's tidy layout.
- ``selection``, ``comparison``, ``trends``, ``variation``, ``associations``, ``summary``,
  ``truth``, ``results``: the six analyses, truth against estimate, and the tables they write.
- ``statements``: the published statements evaluated on a run.
- ``figures``: the chapter's figures.

Uses ``analysis.core``; never another strand or the engine.
"""
