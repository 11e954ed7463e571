"""Synthetic: SYNTHETIC data and what the methods recover from it (never a study finding).

``panel`` (the seeded national practice panel with its planted truth, stored in
``data/indicators/synthetic/``), the simulation study (``simulation_design`` for the scenarios,
``simulation_fits`` for the methods across many replications, ``simulation`` for the
replications run as a command by the ``simulation`` sweep, ``simulation_report`` for the
chapter's tables, rule and figure) and ``scaling`` (the analysis on growing synthetic panels,
run as commands by ``make bench``).

Imports ``sources`` and ``methods``; no chapter imports this room.
"""
