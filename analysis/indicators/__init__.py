"""Strand 1, quality indicators (Rosen et al. 2016): organisations against England.

Panel: ``contract`` (schemas and checks), ``panel`` (loading, membership by year),
``synthetic`` (the seeded synthetic panel with planted truth), ``fingertips`` (OHID exports).
Real data (issue 13): ``qof`` (NHS Digital QOF practice summaries by layout mapping),
``membership`` (organisations from a parent-code column such as the PCN), ``listsizes`` (the
2013 list sizes), ``mixed`` (random-intercept REML), ``networks`` (PCNs against England),
``network_funnel`` (the networks' funnel with the between-network variance and the shuffled
reference), ``network_findings`` (its results in words), ``network_run`` and
``network_figures`` (the REAL primary-care-network chapter).
Analyses: ``selection``, ``comparison`` (1, 3), ``trends`` (2), ``variation`` (4),
``associations`` (5), ``summary`` (6), ``truth`` (truth against estimate), ``results`` (a run
and its tables). Chapter: ``statements`` (published findings judged), ``figures``.
Benchmark: ``scaling`` (the analysis on growing synthetic panels, run as a command).
Simulation study (issue 14): ``simulation`` (replications, run as a command by the sweep) and
``simulation_report`` (method choices and the calibration figure).

Submodules are imported on demand, never here. Uses ``analysis.core``; never another strand
or the engine.
"""

__all__ = [
    "associations",
    "comparison",
    "contract",
    "fingertips",
    "figures",
    "listsizes",
    "membership",
    "mixed",
    "network_figures",
    "network_findings",
    "network_funnel",
    "network_run",
    "networks",
    "panel",
    "qof",
    "results",
    "scaling",
    "selection",
    "simulation",
    "simulation_report",
    "statements",
    "summary",
    "synthetic",
    "trends",
    "truth",
    "variation",
]
